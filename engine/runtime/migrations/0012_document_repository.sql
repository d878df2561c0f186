-- The document repository (issues 5-7): the files citizens attach to their applications.
-- Bytes are kept once per content (blob, named by SHA-256; in the database in chunks, so that
-- a large file is written and read a piece at a time, or in a folder) and never change; each
-- attachment is an ENI document (DOMAIN 10.1) pointing at its blob. Issued documents
-- (receipts) stay in `document`.

CREATE TABLE blob (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size        bigint NOT NULL CHECK (size >= 0),
    chunks      integer NOT NULL CHECK (chunks >= 0),
    -- Where the bytes are: blob_chunk rows, or a file named by the hash in the documents
    -- folder (TRAMIT_DOCUMENTS_DIR) of the servers that wrote it.
    backend     text NOT NULL DEFAULT 'database' CHECK (backend IN ('database', 'folder')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blob_chunk (
    sha256  text NOT NULL REFERENCES blob,
    seq     integer NOT NULL CHECK (seq >= 0),
    data    bytea NOT NULL,
    PRIMARY KEY (sha256, seq)
);
-- Uploads are mostly PDFs and images, already compressed: do not spend CPU trying again.
ALTER TABLE blob_chunk ALTER COLUMN data SET STORAGE EXTERNAL;

-- One uploaded file of one application. It is written before the submission, with its blob,
-- as a pending row named by the form's submission key; the transaction that files the
-- application links it (attachment_link below). A pending row whose submission never
-- committed is an orphan: nobody can see it, and its blob is only bytes already scanned.
CREATE TABLE attachment (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id       text NOT NULL REFERENCES entity,
    expedient_id    uuid REFERENCES expedient,         -- NULL while pending
    field           text NOT NULL,                     -- the form field it was attached to
    ord             integer NOT NULL CHECK (ord >= 0), -- its place in the post
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    sha256          text NOT NULL REFERENCES blob,
    size            bigint NOT NULL CHECK (size >= 0),
    -- ENI metadata (NTI de documento electrónico). The identifier, organ, CSV and signature
    -- type are set when the attachment is linked to its expedient.
    eni_id          text UNIQUE,                       -- Identificador ES_<DIR3>_<YYYY>_<id>
    organ           text,                              -- Organo (DIR3, or the entity's id)
    captured_at     timestamptz NOT NULL DEFAULT now(), -- FechaCaptura
    origin          smallint NOT NULL DEFAULT 0 CHECK (origin IN (0, 1)), -- 0 citizen, 1 administration
    state           text NOT NULL DEFAULT 'EE01' CHECK (state IN ('EE01', 'EE02', 'EE03', 'EE04', 'EE99')),
    media_type      text NOT NULL,                     -- NombreFormato, as a media type
    signature_type  text CHECK (signature_type IN ('TF01', 'TF02', 'TF03', 'TF04', 'TF05', 'TF06')),
    csv             text,                              -- ValorCSV: the receipt that lists its hash
    uploaded_by     text NOT NULL,                     -- 'citizen:NIF', as command.principal
    submission_key  text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    linked_at       timestamptz
);
CREATE INDEX attachment_expedient ON attachment (expedient_id, ord) WHERE expedient_id IS NOT NULL;
CREATE INDEX attachment_pending ON attachment (entity_id, uploaded_by, submission_key)
    WHERE expedient_id IS NULL;
CREATE INDEX attachment_sha256 ON attachment (sha256);

-- Immutable means the database refuses, not that the code promises.
CREATE FUNCTION repository_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable (content-addressed repository)', TG_TABLE_NAME;
END $$;
CREATE TRIGGER blob_immutable BEFORE UPDATE OR DELETE ON blob
    FOR EACH ROW EXECUTE FUNCTION repository_immutable();
CREATE TRIGGER blob_chunk_immutable BEFORE UPDATE OR DELETE ON blob_chunk
    FOR EACH ROW EXECUTE FUNCTION repository_immutable();

-- A pending attachment may be replaced (a form posted again) and is linked once; after that
-- it is part of the expedient and never changes.
CREATE FUNCTION attachment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.expedient_id IS NOT NULL THEN
        RAISE EXCEPTION 'attachment % belongs to expedient % and is immutable', OLD.id, OLD.expedient_id;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER attachment_guard BEFORE UPDATE OR DELETE ON attachment
    FOR EACH ROW EXECUTE FUNCTION attachment_guard();

-- The link, in the transaction that files the application: when a command's outcome is
-- recorded (the last write of a transition with an idempotency key), the pending attachments
-- of that key and principal become the expedient's, if the expedient's data names their hash
-- in their field. The web layer always files forms with files under a key.
CREATE FUNCTION attachment_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    xid text := NEW.outcome->>'expedient_id';
BEGIN
    IF xid IS NULL OR xid !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RETURN NULL;
    END IF;
    UPDATE attachment a
       SET expedient_id = x.id, linked_at = now(), organ = coalesce(e.dir3, e.id),
           eni_id = format('ES_%s_%s_%s', coalesce(e.dir3, e.id),
                           to_char(a.captured_at AT TIME ZONE 'Europe/Madrid', 'YYYY'),
                           replace(a.id::text, '-', '')),
           csv = x.receipt_csv,
           signature_type = CASE WHEN x.receipt_csv IS NULL THEN NULL ELSE 'TF01' END
      FROM expedient x JOIN entity e ON e.id = x.entity_id
     WHERE x.id = xid::uuid AND a.expedient_id IS NULL AND a.entity_id = NEW.entity_id
       AND a.uploaded_by = NEW.principal AND a.submission_key = NEW.idempotency_key
       AND x.entity_id = NEW.entity_id
       AND strpos(coalesce(x.data->>a.field, ''), '|' || a.sha256) > 0;
    RETURN NULL;
END $$;
CREATE TRIGGER attachment_link AFTER UPDATE OF outcome ON command
    FOR EACH ROW WHEN (OLD.outcome IS NULL AND NEW.outcome IS NOT NULL)
    EXECUTE FUNCTION attachment_link();
