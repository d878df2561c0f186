-- What an idempotency key was first used for, so that reusing it for another request is an
-- error instead of silently answering with the first request's outcome.
ALTER TABLE command ADD COLUMN fingerprint text;
