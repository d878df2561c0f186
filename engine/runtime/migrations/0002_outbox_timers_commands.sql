-- Durable effects, timers and idempotent commands (issue: durable runtime).

-- The hash of an expedient's newest event, so appending one needs no extra read.
ALTER TABLE expedient ADD COLUMN last_hash text;
UPDATE expedient x SET last_hash = (SELECT hash FROM event e WHERE e.expedient_id = x.id
                                    ORDER BY seq DESC LIMIT 1);

-- Effects waiting for a connector. Written in the transition's transaction; claimed by
-- dispatchers with FOR UPDATE SKIP LOCKED; the idempotency key is what the connector sees.
CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    entity_id        text NOT NULL REFERENCES entity,
    expedient_id     uuid NOT NULL REFERENCES expedient,
    event_seq        integer NOT NULL,
    kind             text NOT NULL,
    target           text,
    args             json NOT NULL,
    idempotency_key  text NOT NULL UNIQUE,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'claimed', 'done', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    run_at           timestamptz NOT NULL DEFAULT now(),
    claimed_by       text,
    claimed_at       timestamptz,
    last_error       text,
    result           json,
    created_at       timestamptz NOT NULL DEFAULT now(),
    done_at          timestamptz
) WITH (fillfactor = 70);
-- Claims read only live rows through these partial indexes, never the done ones.
CREATE INDEX outbox_ready ON outbox (run_at, id) WHERE state = 'pending';
CREATE INDEX outbox_claimed ON outbox (claimed_at) WHERE state = 'claimed';
CREATE INDEX outbox_dead ON outbox (entity_id, created_at) WHERE state = 'dead';

-- Deadlines, pre-alerts and notification windows. A timer fires as an event carrying its
-- due time, not the time it happened to be fired.
CREATE TABLE timer (
    id            bigserial PRIMARY KEY,
    entity_id     text NOT NULL REFERENCES entity,
    expedient_id  uuid NOT NULL REFERENCES expedient,
    name          text NOT NULL,
    due_ms        bigint NOT NULL,
    due_at        timestamptz NOT NULL,
    state         text NOT NULL DEFAULT 'armed'
                  CHECK (state IN ('armed', 'claimed', 'fired', 'cancelled')),
    claimed_by    text,
    claimed_at    timestamptz,
    fired_at      timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
CREATE UNIQUE INDEX timer_one_live ON timer (expedient_id, name) WHERE state IN ('armed', 'claimed');
CREATE INDEX timer_due ON timer (due_at, id) WHERE state = 'armed';
CREATE INDEX timer_claimed ON timer (claimed_at) WHERE state = 'claimed';

-- A client that retries a command after a lost answer names it with the same key and gets
-- the first outcome back instead of a second transition.
CREATE TABLE command (
    entity_id        text NOT NULL REFERENCES entity,
    principal        text NOT NULL,
    idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 8 AND 200),
    outcome          json,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_id, principal, idempotency_key)
);

-- A transition writes its effects (registry entry, receipt, outbox, timers) before the
-- expedient row, so that row is written once with the hash of the event that ends it; the
-- references to the expedient are checked at commit.
ALTER TABLE event ALTER CONSTRAINT event_expedient_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE registry_entry ALTER CONSTRAINT registry_entry_expedient_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE document ALTER CONSTRAINT document_expedient_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE outbox ALTER CONSTRAINT outbox_expedient_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE timer ALTER CONSTRAINT timer_expedient_id_fkey DEFERRABLE INITIALLY DEFERRED;
