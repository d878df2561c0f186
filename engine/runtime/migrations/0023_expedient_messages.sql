-- Messages between the applicant and the unit handling the expedient, and the employees'
-- internal notes on it (issue 5). A message is part of the expedient's record: rows are never
-- changed or deleted (repository_immutable, migration 0012). A message an employee sends to
-- the applicant writes an informative notice in the outbox in the same statement, so the
-- notice exists exactly when the message does.
CREATE TABLE expedient_message (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id        text NOT NULL REFERENCES entity,
    expedient_id     uuid NOT NULL REFERENCES expedient,
    author_kind      text NOT NULL CHECK (author_kind IN ('citizen', 'employee')),
    author_id        text NOT NULL,                 -- the NIF or the employee's user name
    author_name      text NOT NULL,
    -- An internal note is only ever shown to employees.
    internal         boolean NOT NULL DEFAULT false CHECK (NOT internal OR author_kind = 'employee'),
    body             text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    -- The form's key: a message posted twice (a double click, a retry after a lost answer)
    -- is stored once.
    idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 16 AND 64),
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (expedient_id, author_id, idempotency_key)
);
CREATE INDEX expedient_message_expedient ON expedient_message (expedient_id, created_at, id);
CREATE TRIGGER expedient_message_immutable BEFORE UPDATE OR DELETE ON expedient_message
    FOR EACH ROW EXECUTE FUNCTION repository_immutable();
