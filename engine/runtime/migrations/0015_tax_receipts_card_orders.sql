-- Tax receipts (liquidacions) the municipality issues outside any tràmit, paid in the standalone
-- payment manager by reference and NIF, and the card orders tried for them and for expedient
-- fees. A receipt is only ever paid from a signed gateway notification or query answer (or a
-- bank collection file); each card order is settled at most once.
CREATE TABLE tax_receipt (
    entity_id       text NOT NULL REFERENCES entity,
    reference       text NOT NULL CHECK (reference ~ '^[0-9]{12}$'),
    emisora         text NOT NULL CHECK (emisora ~ '^[0-9]{6}$'),
    identification  text NOT NULL CHECK (identification ~ '^[0-9]{10}$'),
    concept_ca      text NOT NULL,
    concept_es      text NOT NULL,
    debtor_nif      text NOT NULL,
    debtor_name     text NOT NULL,
    amount_cents    bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 99999999),
    deadline        date NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'paid', 'cancelled')),
    paid_at         timestamptz,
    paid_via        text CHECK (paid_via IN ('card', 'bank')),
    paid_order      text,
    imported_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_id, reference),
    CHECK ((state = 'paid') = (paid_at IS NOT NULL AND paid_via IS NOT NULL))
);
CREATE INDEX tax_receipt_state ON tax_receipt (entity_id, state, deadline);

-- Card orders: every attempt to pay a tax receipt by card gets its own row (and order number),
-- and the reconciliation job copies in the fee orders the redsys connector issued (outbox),
-- so one table says which orders are still waiting for the gateway.
CREATE TABLE card_order (
    order_no        text PRIMARY KEY CHECK (order_no ~ '^[0-9]{4}[0-9A-Za-z]{0,8}$'),
    entity_id       text NOT NULL REFERENCES entity,
    purpose         text NOT NULL CHECK (purpose IN ('tax', 'fee')),
    tax_reference   text,
    expedient_id    uuid,
    effect_id       text,
    amount_cents    bigint NOT NULL CHECK (amount_cents > 0),
    state           text NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'paid', 'refused', 'abandoned')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz,
    settled_by      text CHECK (settled_by IN ('notification', 'query')),
    response        text,
    authorisation   text,
    -- Reconciliation: when the order may next be asked about, and how it went last time.
    next_check_at   timestamptz NOT NULL DEFAULT now(),
    checks          integer NOT NULL DEFAULT 0,
    last_error      text,
    CHECK ((purpose = 'tax') = (tax_reference IS NOT NULL)),
    FOREIGN KEY (entity_id, tax_reference) REFERENCES tax_receipt (entity_id, reference)
);
CREATE INDEX card_order_open ON card_order (next_check_at) WHERE state = 'open';
CREATE INDEX card_order_receipt ON card_order (entity_id, tax_reference) WHERE purpose = 'tax';

-- Tax receipts' card orders take their numbers from the top of the order space (the fee
-- orders of the redsys connector number from the outbox's ids, which start at 1), so the two
-- never meet: 9,000,000,000 outbox rows would be needed first.
CREATE SEQUENCE card_order_tax_seq START 9000000001 MINVALUE 9000000001 MAXVALUE 9999999999;

-- Payment manager lookups are limited per client address per minute across every server, as
-- CSV lookups are.
CREATE TABLE tax_lookup (
    client          text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tax_lookup_client_at ON tax_lookup (client, at);
