-- Binding notifications by appearance at the e-office (Llei 39/2015, arts. 40-43). A row is
-- written in the transaction of the act that makes the notification available, with the hash
-- of the exact content shown; it is settled once, by the first of the recipient's access or
-- the deemed rejection after 10 natural days (whichever commits first: the update requires
-- state = 'made_available'), and never changes afterwards.
CREATE TABLE notification (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id          text NOT NULL REFERENCES entity,
    expedient_id       uuid NOT NULL REFERENCES expedient DEFERRABLE INITIALLY DEFERRED,
    event_seq          integer NOT NULL,         -- the event of the act being notified
    recipient_nif      text NOT NULL,
    recipient_obliged  boolean NOT NULL,         -- art. 14.2: a legal person or entity
    template           text NOT NULL,
    effect_id          text NOT NULL,            -- "notify:TEMPLATE": how results reach the engine
    content            text NOT NULL,            -- exactly what the recipient is shown
    content_sha256     text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    made_available_at  timestamptz NOT NULL,
    reject_at          timestamptz NOT NULL,     -- 00:00 Europe/Madrid after the 10th natural day
    last_day           date NOT NULL,            -- the last day on which access is possible
    state              text NOT NULL DEFAULT 'made_available'
                       CHECK (state IN ('made_available', 'accessed', 'rejected')),
    accessed_at        timestamptz,
    accessed_by        text,                     -- NIF of whoever opened it
    auth_method        text,                     -- how they were identified
    rejected_at        timestamptz,
    evidence           text,                     -- the evidence record (JSON), once settled
    evidence_sha256    text,
    -- The evidence issued as a document with a CSV (by the web layer, which makes CSVs).
    evidence_document_id uuid REFERENCES document DEFERRABLE INITIALLY DEFERRED,
    CHECK ((state = 'accessed') = (accessed_at IS NOT NULL)),
    CHECK ((state = 'rejected') = (rejected_at IS NOT NULL)),
    CHECK ((state = 'made_available') = (evidence IS NULL))
) WITH (fillfactor = 80);
CREATE INDEX notification_recipient ON notification (entity_id, recipient_nif, made_available_at DESC);
CREATE INDEX notification_expedient ON notification (expedient_id, made_available_at);

-- Where informative notices (avisos) about notifications go: e-mail or SMS (art. 41.6).
ALTER TABLE person ADD COLUMN notice_channel text NOT NULL DEFAULT 'email'
    CHECK (notice_channel IN ('email', 'sms'));
