-- Assisted filing at the counter (Llei 39/2015, art. 12.2-12.3): an authorised official
-- (funcionari habilitat) files electronically for a person not obliged to use electronic
-- means, who identifies themselves and consents expressly. The consent is recorded once per
-- filing, in the filing's own transaction, and never changes afterwards.

-- The registry entry says how it came in: NULL for the e-office's own channel, 'assistit' for
-- a filing at the counter, with the official who made it (username and name at the time).
ALTER TABLE registry_entry ADD COLUMN channel text CHECK (channel IS NULL OR channel = 'assistit'),
    ADD COLUMN filed_by text, ADD COLUMN filed_by_name text,
    ADD CHECK ((channel IS NULL) = (filed_by IS NULL));

CREATE TABLE counter_consent (
    id               uuid PRIMARY KEY,
    entity_id        text NOT NULL REFERENCES entity,
    official         text NOT NULL,             -- the employee's username
    official_name    text NOT NULL,
    person_nif       text NOT NULL,
    person_name      text NOT NULL,
    -- How the consent was given: in person, showing an identity document, or on a signed
    -- paper form, whose scan is kept here (its bytes and their SHA-256).
    method           text NOT NULL CHECK (method IN ('in_person', 'signed_form')),
    id_document_type text NOT NULL CHECK (id_document_type IN ('dni', 'nie', 'passport')),
    id_document      text NOT NULL CHECK (length(id_document) BETWEEN 3 AND 20),
    scan             bytea,
    scan_media_type  text,
    scan_sha256      text CHECK (scan_sha256 ~ '^[0-9a-f]{64}$'),
    expedient_id     uuid NOT NULL UNIQUE REFERENCES expedient DEFERRABLE INITIALLY DEFERRED,
    registry_number  text NOT NULL,
    given_at         timestamptz NOT NULL,
    FOREIGN KEY (entity_id, official) REFERENCES employee,
    FOREIGN KEY (entity_id, registry_number) REFERENCES registry_entry (entity_id, number)
        DEFERRABLE INITIALLY DEFERRED,
    CHECK ((method = 'signed_form') = (scan IS NOT NULL)),
    CHECK ((scan IS NULL) = (scan_sha256 IS NULL) AND (scan IS NULL) = (scan_media_type IS NULL))
);
CREATE INDEX counter_consent_official ON counter_consent (entity_id, official, given_at DESC);
CREATE INDEX counter_consent_person ON counter_consent (entity_id, person_nif, given_at DESC);
CREATE FUNCTION counter_consent_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent % (expedient %) is a record of what the person agreed to and never changes',
        OLD.id, OLD.expedient_id;
END $$;
CREATE TRIGGER counter_consent_immutable BEFORE UPDATE OR DELETE ON counter_consent
    FOR EACH ROW EXECUTE FUNCTION counter_consent_immutable();
