-- Bank collection files (Cuaderno 60): the files imported, each record's outcome, and the
-- Cuaderno 60 documents issued for tràmit fees so a record can find its fee. A payment is only
-- ever recorded from a record of an imported file (or a signed gateway answer); a file is
-- imported at most once (its SHA-256) and a record applied at most once (its key).

-- Payment documents for fees a tràmit ordered (payment effects): one per fee of an expedient.
-- Their document numbers come from their own sequence, in a range the tax office's receipts
-- are told not to use (docs/payments.md), so a reference names one debt.
CREATE SEQUENCE fee_document_seq START 8000000001 MINVALUE 8000000001 MAXVALUE 8999999999;
CREATE TABLE fee_document (
    entity_id       text NOT NULL REFERENCES entity,
    expedient_id    uuid NOT NULL REFERENCES expedient,
    effect_id       text NOT NULL CHECK (effect_id LIKE 'payment:%'),
    emisora         text NOT NULL CHECK (emisora ~ '^[0-9]{6}$'),
    reference       text NOT NULL CHECK (reference ~ '^[0-9]{12}$'),
    identification  text NOT NULL CHECK (identification ~ '^[0-9]{10}$'),
    amount_cents    bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 99999999),
    deadline        date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_id, expedient_id, effect_id),
    UNIQUE (entity_id, emisora, reference)
);

CREATE TABLE bank_file (
    entity_id       text NOT NULL REFERENCES entity,
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    name            text NOT NULL,
    bank            text NOT NULL,
    office          text NOT NULL,
    created_on      date NOT NULL,
    file_number     text NOT NULL,
    records         integer NOT NULL,
    total_cents     bigint NOT NULL,
    applied         integer NOT NULL,
    reported        integer NOT NULL,
    imported_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_id, sha256)
);

-- One row per record 02. The key (emisora, reference, identification, amount, date, bank,
-- office) is unique per entity: the same collection sent again in another file is recorded as
-- a duplicate and changes nothing.
CREATE TABLE bank_record (
    entity_id       text NOT NULL,
    file_sha256     text NOT NULL,
    line            integer NOT NULL,
    record_key      text NOT NULL,
    emisora         text NOT NULL,
    modalidad       text NOT NULL,
    reference       text NOT NULL,
    identification  text NOT NULL,
    amount_cents    bigint NOT NULL,
    collected_on    date NOT NULL,
    bank            text NOT NULL,
    office          text NOT NULL,
    channel         text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('applied', 'unknown', 'mismatch',
                    'already_paid', 'not_payable', 'duplicate', 'refused')),
    tax_reference   text,
    expedient_id    uuid,
    effect_id       text,
    detail          text NOT NULL DEFAULT '',
    -- Reported records wait for an operator; resolving one never changes a payment.
    resolved_at     timestamptz,
    resolved_note   text,
    PRIMARY KEY (entity_id, file_sha256, line),
    FOREIGN KEY (entity_id, file_sha256) REFERENCES bank_file (entity_id, sha256)
);
CREATE UNIQUE INDEX bank_record_key ON bank_record (entity_id, record_key)
    WHERE outcome <> 'duplicate';
CREATE INDEX bank_record_open ON bank_record (entity_id, outcome) WHERE outcome <> 'applied'
    AND outcome <> 'duplicate' AND resolved_at IS NULL;
