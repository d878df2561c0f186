-- Representation (LPAC arts. 5-6) and certificate sign-in (issue 5). A mandate lets a
-- representative act for a person or company on every tràmit or on a list of tràmit codes,
-- between two days inclusive (Europe/Madrid), until revoked. Rows are never deleted: a
-- revocation keeps the mandate for the record of what was done under it.
CREATE TABLE mandate (
    id                 bigserial PRIMARY KEY,
    entity_id          text NOT NULL REFERENCES entity,
    representative_nif text NOT NULL,
    represented_nif    text NOT NULL,
    scope              text[],                -- NULL: every tràmit; else tràmit codes
    valid_from         date NOT NULL,
    valid_to           date NOT NULL,
    registered_by      text NOT NULL,         -- 'employee:USERNAME' or 'import:SOURCE'
    registered_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz,
    revoked_by         text,
    CHECK (valid_from <= valid_to),
    CHECK (representative_nif <> represented_nif),
    CHECK (scope IS NULL OR cardinality(scope) > 0)
);
CREATE INDEX mandate_representative ON mandate (entity_id, representative_nif);

-- The session's "acting as": the party the signed-in citizen acts for (NULL: themselves),
-- the company a representative's certificate names, and how the person signed in.
ALTER TABLE web_session ADD COLUMN acting_as text;
ALTER TABLE web_session ADD COLUMN cert_company text;
ALTER TABLE web_session ADD COLUMN method text;

-- Employees sign in with a certificate by the NIF in its subject (`tramit certificates link`).
ALTER TABLE employee ADD COLUMN nif text;
CREATE UNIQUE INDEX employee_nif ON employee (entity_id, nif) WHERE nif IS NOT NULL;
