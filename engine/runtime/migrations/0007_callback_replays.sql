-- Delivery ids of back-office callbacks already received, so a replayed callback is refused.
-- Ids are kept ten minutes: callbacks older than five are refused by their timestamp anyway.
CREATE TABLE callback_seen (
    entity_id    text NOT NULL REFERENCES entity (id),
    subscriber   text NOT NULL,
    delivery     text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_id, subscriber, delivery)
);
CREATE INDEX callback_seen_age ON callback_seen (received_at);
