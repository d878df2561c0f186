-- Employee passwords and sign-in rate limiting. The hash is self-describing
-- ("scrypt$N=32768,r=8,p=1$<salt>$<hash>", base64), so parameters can grow without a migration;
-- NULL means the employee cannot sign in with a password.
ALTER TABLE employee ADD COLUMN password_hash text;
ALTER TABLE employee ADD COLUMN last_signin_at timestamptz;

-- Failed sign-ins, kept for the rate-limit window only. In the database, not in memory, so
-- every server in front of it counts the same failures.
CREATE TABLE signin_failure (
    id          bigserial PRIMARY KEY,
    entity_id   text NOT NULL,
    username    text NOT NULL,
    client      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signin_failure_username ON signin_failure (entity_id, username, at);
CREATE INDEX signin_failure_client ON signin_failure (entity_id, client, at);
