-- Time-stamped digests of every hash chain (issue 4): each digest lists the chain heads
-- (expedient, seq, hash) that changed since the one before, chains to it by its digest, and
-- carries an RFC 3161 token over its own digest. Rewriting history consistently (every hash
-- recomputed by someone with write access) is then found: the anchored head no longer
-- matches, and the anchor cannot be re-stamped for a past date.
CREATE TABLE audit_digest (
    id           bigserial PRIMARY KEY,
    made_at      timestamptz NOT NULL DEFAULT now(),
    prev_digest  text NOT NULL UNIQUE,     -- one successor per digest: the chain never forks
    digest       text NOT NULL UNIQUE CHECK (digest ~ '^[0-9a-f]{64}$'),
    heads        text NOT NULL,            -- "expedient_id seq hash\n" lines, sorted
    n_heads      integer NOT NULL CHECK (n_heads >= 0),
    token        bytea NOT NULL,           -- TimeStampToken (DER) over the digest's hex text
    stamped_at   text NOT NULL,            -- the token's genTime
    tsa          text NOT NULL             -- the TSA certificate's subject
);

-- The newest anchored head of each chain: what the next digest compares against.
CREATE TABLE audit_head (
    expedient_id  uuid PRIMARY KEY REFERENCES expedient,
    seq           integer NOT NULL,
    hash          text NOT NULL,
    digest_id     bigint NOT NULL REFERENCES audit_digest
);
