-- Every expedient is written with the hash of its newest event (0002 filled in the older
-- ones), so loading an expedient no longer looks it up in the event log.
ALTER TABLE expedient ALTER COLUMN last_hash SET NOT NULL;
