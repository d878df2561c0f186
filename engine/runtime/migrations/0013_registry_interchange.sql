-- Registry interchange (SICRES 3.0, issue 7) and the documents of registry entries that came
-- from another administration. An exchange is named by its Identificador_Intercambio, unique
-- per entity and direction, so importing the same file twice finds the first row; its state
-- only moves forward from the first one, and every change is an interchange_event row.

-- The registry office that signs our exchanges (a DIR3 office code such as O00001234); NULL:
-- the entity's own DIR3 code is used.
ALTER TABLE entity ADD COLUMN registry_office text
    CHECK (registry_office ~ '^[A-Z][A-Z0-9]{0,20}$');

-- Identificador_Intercambio numbering: <office>_<YY>_<8 digits>, gap-free per office and year
-- like registry_counter (the row is locked by the transaction that records the exchange).
CREATE TABLE interchange_counter (
    entity_id   text NOT NULL REFERENCES entity,
    office      text NOT NULL,
    year        integer NOT NULL,
    last        bigint NOT NULL CHECK (last BETWEEN 1 AND 99999999),
    PRIMARY KEY (entity_id, office, year)
) WITH (fillfactor = 50);

CREATE TABLE interchange (
    id                bigserial PRIMARY KEY,
    entity_id         text NOT NULL REFERENCES entity,
    identifier        text NOT NULL CHECK (identifier ~ '^[A-Z0-9]{1,21}_[0-9]{2}_[0-9]{8}$'),
    direction         text NOT NULL CHECK (direction IN ('in', 'out')),
    state             text NOT NULL,
    reason            text,
    origin_code       text NOT NULL,
    origin_name       text NOT NULL,
    destination_code  text NOT NULL,
    destination_name  text NOT NULL,
    origin_number     text NOT NULL,  -- Numero_Registro_Entrada at the origin
    party_nif         text NOT NULL,
    party_name        text NOT NULL,
    summary           text NOT NULL,
    n_annexes         integer NOT NULL CHECK (n_annexes >= 0),
    -- The file exactly as sent or received (bytes: an incoming file may declare any encoding).
    xml               bytea NOT NULL,
    xml_sha256        text NOT NULL CHECK (xml_sha256 ~ '^[0-9a-f]{64}$'),
    -- Outgoing: the entry it was made from. Incoming: the entry accepting it created.
    registry_entry_id bigint REFERENCES registry_entry,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (entity_id, direction, identifier),
    CHECK ((direction = 'out' AND state IN ('sent', 'accepted', 'rejected', 'returned')) OR
           (direction = 'in' AND state IN ('received', 'accepted', 'rejected', 'returned'))),
    CHECK (state NOT IN ('rejected', 'returned') OR length(btrim(coalesce(reason, ''))) > 0),
    CHECK (direction = 'out' OR state <> 'accepted' OR registry_entry_id IS NOT NULL)
);
CREATE INDEX interchange_list ON interchange (entity_id, direction, created_at DESC);

-- States only move forward: from the first one (sent, received) to a final one, once.
CREATE FUNCTION interchange_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state <> OLD.state AND OLD.state NOT IN ('sent', 'received') THEN
        RAISE EXCEPTION 'interchange %: state % is final, cannot become %', OLD.identifier,
            OLD.state, NEW.state;
    END IF;
    IF NEW.xml <> OLD.xml OR NEW.identifier <> OLD.identifier OR NEW.direction <> OLD.direction THEN
        RAISE EXCEPTION 'interchange %: the file, identifier and direction never change', OLD.identifier;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER interchange_forward_only BEFORE UPDATE ON interchange
    FOR EACH ROW EXECUTE FUNCTION interchange_forward_only();

-- Who changed an exchange, when, and why (append-only).
CREATE TABLE interchange_event (
    id              bigserial PRIMARY KEY,
    interchange_id  bigint NOT NULL REFERENCES interchange,
    from_state      text,
    to_state        text NOT NULL,
    reason          text,
    actor           text NOT NULL,
    at              timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX interchange_event_of ON interchange_event (interchange_id, id);

-- The documents of an entry that has no expedient (an accepted exchange's annexes), in the
-- order of the exchange, with the file name the sender gave them.
CREATE TABLE registry_entry_document (
    entry_id     bigint NOT NULL REFERENCES registry_entry,
    position     integer NOT NULL CHECK (position > 0),
    document_id  uuid NOT NULL REFERENCES document,
    file_name    text NOT NULL,
    PRIMARY KEY (entry_id, position)
);

-- The registry book page lists entries newest first within an entity.
CREATE INDEX registry_entry_book ON registry_entry (entity_id, book, year DESC, seq DESC);
