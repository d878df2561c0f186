-- A card gateway's notification names its order; the order is in the result of the payment
-- effect that created it (connectors/redsys), found by this index.
CREATE INDEX outbox_payment_order ON outbox ((result->>'order')) WHERE kind = 'payment';
