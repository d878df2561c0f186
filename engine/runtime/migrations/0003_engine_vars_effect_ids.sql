-- The engine's bookkeeping, stored beside the form data and handed back unchanged: fees
-- computed, deadlines armed, payments and signatures done, the resolution clock.
ALTER TABLE expedient ADD COLUMN vars jsonb NOT NULL DEFAULT '{}';

-- The engine's name for an outbox row's effect (KIND:TARGET, unique within its event); the
-- connector's result comes back to the expedient under this name.
ALTER TABLE outbox ADD COLUMN effect_id text;
