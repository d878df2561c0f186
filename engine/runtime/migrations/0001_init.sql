-- The walking skeleton's schema. Every row belongs to an entity (a municipality), so one
-- database can host one municipality on-site or hundreds in a provincial service.

CREATE TABLE entity (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name_ca     text NOT NULL,
    name_es     text NOT NULL,
    dir3        text,
    demo        boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_unit (
    entity_id   text NOT NULL REFERENCES entity,
    code        text NOT NULL,
    name_ca     text NOT NULL,
    name_es     text NOT NULL,
    PRIMARY KEY (entity_id, code)
);

-- Citizens and companies known to the entity (identified by NIF).
CREATE TABLE person (
    entity_id   text NOT NULL REFERENCES entity,
    nif         text NOT NULL,
    name        text NOT NULL,
    email       text,
    phone       text,
    lang        text NOT NULL DEFAULT 'ca' CHECK (lang IN ('ca', 'es')),
    demo        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (entity_id, nif)
);

CREATE TABLE employee (
    entity_id   text NOT NULL REFERENCES entity,
    username    text NOT NULL,
    name        text NOT NULL,
    demo        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (entity_id, username)
);

CREATE TABLE role_grant (
    entity_id   text NOT NULL,
    username    text NOT NULL,
    role        text NOT NULL,
    unit        text NOT NULL,
    PRIMARY KEY (entity_id, username, role, unit),
    FOREIGN KEY (entity_id, username) REFERENCES employee,
    FOREIGN KEY (entity_id, unit) REFERENCES org_unit
);

-- Compiled tràmit definitions, named by the SHA-256 of their canonical form. Immutable.
CREATE TABLE tramit_version (
    hash        text PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
    code        text NOT NULL,
    version     text NOT NULL,
    source_path text NOT NULL,
    source      text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tramit_version_code ON tramit_version (code);

-- One running case. Updated on every transition, hence the fillfactor (HOT updates).
CREATE TABLE expedient (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id       text NOT NULL REFERENCES entity,
    number          text NOT NULL,
    tramit_code     text NOT NULL,
    definition_hash text NOT NULL REFERENCES tramit_version,
    state           text NOT NULL,
    version         bigint NOT NULL CHECK (version > 0),
    applicant_nif   text NOT NULL,
    applicant_name  text NOT NULL,
    lang            text NOT NULL CHECK (lang IN ('ca', 'es')),
    data            jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (entity_id, number)
) WITH (fillfactor = 80);
CREATE INDEX expedient_applicant ON expedient (entity_id, applicant_nif, created_at DESC);
CREATE INDEX expedient_state ON expedient (entity_id, state, updated_at);

-- Per-entity, per-year expedient numbering (2026/000123); gap-free like the registry.
CREATE TABLE expedient_counter (
    entity_id   text NOT NULL REFERENCES entity,
    year        integer NOT NULL,
    last        bigint NOT NULL,
    PRIMARY KEY (entity_id, year)
) WITH (fillfactor = 50);

-- Append-only history; each event carries the hash of the previous one (hash chain).
CREATE TABLE event (
    id            bigserial PRIMARY KEY,
    expedient_id  uuid NOT NULL REFERENCES expedient,
    seq           integer NOT NULL CHECK (seq > 0),
    kind          text NOT NULL,
    action        text,
    actor_kind    text NOT NULL CHECK (actor_kind IN ('citizen', 'employee', 'system')),
    actor_id      text NOT NULL,
    from_state    text,
    to_state      text NOT NULL,
    at            timestamptz NOT NULL,
    payload       json NOT NULL,  -- json, not jsonb: the exact text is what the hash covers
    prev_hash     text NOT NULL,
    hash          text NOT NULL,
    UNIQUE (expedient_id, seq)
);

-- Registry numbering: one counter row per entity, book and year, locked by the transition
-- that takes a number, so numbers are gap-free and duplicate-free; the UNIQUE constraint on
-- registry_entry backs the invariant.
CREATE TABLE registry_counter (
    entity_id   text NOT NULL REFERENCES entity,
    book        char(1) NOT NULL CHECK (book IN ('E', 'S')),
    year        integer NOT NULL,
    last        bigint NOT NULL,
    PRIMARY KEY (entity_id, book, year)
) WITH (fillfactor = 50);

CREATE TABLE registry_entry (
    id            bigserial PRIMARY KEY,
    entity_id     text NOT NULL REFERENCES entity,
    book          char(1) NOT NULL,
    year          integer NOT NULL,
    seq           bigint NOT NULL CHECK (seq > 0),
    number        text NOT NULL,
    presented_at  timestamptz NOT NULL,
    expedient_id  uuid REFERENCES expedient,
    party_nif     text NOT NULL,
    party_name    text NOT NULL,
    addressee     text NOT NULL,
    summary       text NOT NULL,
    annulled_at   timestamptz,
    UNIQUE (entity_id, book, year, seq),
    UNIQUE (entity_id, number)
);

-- Documents issued or received; receipts are stored here with their CSV.
CREATE TABLE document (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id     text NOT NULL REFERENCES entity,
    expedient_id  uuid REFERENCES expedient,
    kind          text NOT NULL,
    csv           text NOT NULL UNIQUE,
    sha256        text NOT NULL,
    media_type    text NOT NULL,
    content       bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    withdrawn_at  timestamptz
);
CREATE INDEX document_expedient ON document (expedient_id);

-- Every CSV lookup is logged (who asked, when, and whether it matched).
CREATE TABLE csv_lookup (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    client      text NOT NULL,
    found       boolean NOT NULL
);

-- Web sessions; only a hash of the token is stored.
CREATE TABLE web_session (
    token_hash     text PRIMARY KEY,
    entity_id      text NOT NULL REFERENCES entity,
    principal_kind text NOT NULL CHECK (principal_kind IN ('citizen', 'employee')),
    principal_id   text NOT NULL,
    csrf           text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
