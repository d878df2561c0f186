-- The portasignatures (issue 6): signature requests over an issued document, with a circuit
-- of lines (run one after another; the signers of a line act in parallel and the line needs
-- all or any of them), approvals without signature, rejection with a reason, delegation
-- ("per delegació"), expiry and reminders, and the decree book (Libro de Resoluciones).
-- A request is created in the transition that asks for it and completed in the transition
-- that feeds the engine its result ("sign_request:DOC", signed or rejected).

CREATE TABLE signature_request (
    id               uuid PRIMARY KEY,
    entity_id        text NOT NULL REFERENCES entity,
    expedient_id     uuid NOT NULL REFERENCES expedient DEFERRABLE INITIALLY DEFERRED,
    event_seq        integer NOT NULL,            -- the event of the action that asked for it
    action           text NOT NULL,
    document         text NOT NULL,               -- the document's kind (its template's name)
    effect_id        text NOT NULL,               -- "sign_request:DOC", as results reach the engine
    -- The document the signers sign: the latest of its kind when the request was made, or when
    -- first viewed or signed if it did not exist yet; never changed once bound.
    document_id      uuid REFERENCES document,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'signed', 'rejected')),
    current_line     integer NOT NULL DEFAULT 1 CHECK (current_line > 0),
    -- Every act bumps it; an act prepared against another version is refused and re-read.
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    remind_at        timestamptz NOT NULL,
    reminded_at      timestamptz,
    completed_at     timestamptz,
    rejected_by      text,                        -- an employee's username, or 'system' on expiry
    rejection_reason text,
    decree_number    text,
    CHECK (state <> 'rejected' OR length(rejection_reason) > 0)
) WITH (fillfactor = 80);
-- At most one open request per document of an expedient.
CREATE UNIQUE INDEX signature_request_open ON signature_request (expedient_id, document)
    WHERE state = 'pending';
CREATE INDEX signature_request_pending ON signature_request (entity_id, expires_at)
    WHERE state = 'pending';
CREATE INDEX signature_request_expedient ON signature_request (expedient_id);

CREATE TABLE signature_line (
    request_id  uuid NOT NULL REFERENCES signature_request,
    seq         integer NOT NULL CHECK (seq > 0),
    need        text NOT NULL CHECK (need IN ('all', 'any')),
    state       text NOT NULL CHECK (state IN ('waiting', 'active', 'done', 'rejected')),
    done_at     timestamptz,
    PRIMARY KEY (request_id, seq)
);

-- One place in a line, for any employee holding `role` (or their delegate).
CREATE TABLE signature_signer (
    request_id        uuid NOT NULL,
    line_seq          integer NOT NULL,
    pos               integer NOT NULL CHECK (pos > 0),
    role              text NOT NULL,
    approve           boolean NOT NULL,           -- a visto bueno, not a signature
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'signed', 'approved', 'rejected', 'skipped')),
    acted_by          text,                       -- the employee who acted
    on_behalf_of      text,                       -- per delegació: the delegator
    signer_nif        text,
    signer_name       text,                       -- the certificate's subject
    acted_at          timestamptz,
    signature         bytea,                      -- CAdES-BES detached (DER) over the document
    signature_sha256  text,
    document_sha256   text,                       -- what it signed or approved
    reason            text,
    PRIMARY KEY (request_id, line_seq, pos),
    FOREIGN KEY (request_id, line_seq) REFERENCES signature_line,
    CHECK (state <> 'signed' OR signature IS NOT NULL)
);

-- "Per delegació": the delegate may act for the delegator, with the delegator's roles,
-- between two Europe/Madrid days inclusive.
CREATE TABLE signature_delegation (
    id           bigserial PRIMARY KEY,
    entity_id    text NOT NULL,
    delegator    text NOT NULL,
    delegate     text NOT NULL,
    valid_from   date NOT NULL,
    valid_until  date NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CHECK (valid_until >= valid_from),
    CHECK (delegator <> delegate),
    FOREIGN KEY (entity_id, delegator) REFERENCES employee,
    FOREIGN KEY (entity_id, delegate) REFERENCES employee
);
CREATE INDEX signature_delegation_delegate ON signature_delegation (entity_id, delegate);

-- Reminders sent to the holders of a pending place (shown in their inbox).
CREATE TABLE signature_reminder (
    request_id  uuid NOT NULL REFERENCES signature_request,
    line_seq    integer NOT NULL,
    role        text NOT NULL,
    sent_at     timestamptz NOT NULL,
    PRIMARY KEY (request_id, line_seq, role)
);

-- The decree book: one gap-free sequence per entity and Europe/Madrid year, taken from a
-- counter row locked by the transition that completes the resolution, as the registry does.
CREATE TABLE decree_counter (
    entity_id  text NOT NULL REFERENCES entity,
    year       integer NOT NULL,
    last       bigint NOT NULL,
    PRIMARY KEY (entity_id, year)
) WITH (fillfactor = 50);

CREATE TABLE decree (
    entity_id     text NOT NULL REFERENCES entity,
    year          integer NOT NULL,
    seq           bigint NOT NULL CHECK (seq > 0),
    number        text NOT NULL,
    request_id    uuid NOT NULL UNIQUE REFERENCES signature_request,
    expedient_id  uuid NOT NULL REFERENCES expedient,
    document_id   uuid REFERENCES document,
    signed_at     timestamptz NOT NULL,
    UNIQUE (entity_id, year, seq),
    UNIQUE (entity_id, number)
);
