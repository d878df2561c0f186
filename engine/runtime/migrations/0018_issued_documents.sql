-- Issued documents (issue 6): what a tràmit's templates produce when an action names them
-- (document = "resolucio"), issued as PDF in the transition's transaction (engine/runtime/
-- issue.c) under a CSV, with their ENI metadata (DOMAIN 10.1). kind is the template's name;
-- template_kind what sort of document it is. content is the original PDF, stored once: the
-- portasignatures and the CSV verifier serve and sign these very bytes.
ALTER TABLE document
    ADD COLUMN template_kind text CHECK (template_kind IN ('requirement', 'resolution',
        'certificate', 'silence_certificate', 'proposal', 'other')),
    ADD COLUMN eni_id text UNIQUE,                 -- Identificador ES_<DIR3>_<YYYY>_<id>
    ADD COLUMN eni_organ text,                     -- Organo (DIR3, or the entity's id)
    ADD COLUMN eni_state text CHECK (eni_state IN ('EE01', 'EE02', 'EE03', 'EE04', 'EE99')),
    ADD COLUMN eni_type text CHECK (eni_type ~ '^TD[0-9]{2}$'),   -- TipoDocumental
    -- TipoFirma: TF04 when sealed (CAdES detached, below), TF01 (CSV only) otherwise.
    ADD COLUMN eni_signature_type text CHECK (eni_signature_type IN ('TF01', 'TF02', 'TF03',
        'TF04', 'TF05', 'TF06')),
    ADD COLUMN lang text CHECK (lang IN ('ca', 'es', 'ca+es')),
    -- The municipality's electronic seal over content: CAdES-BES detached, DER. NULL when the
    -- server had no seal (TRAMIT_SEAL_KEY, TRAMIT_SEAL_CERT); seal_note then says so.
    ADD COLUMN seal bytea,
    ADD COLUMN seal_format text CHECK (seal_format IN ('cades-detached')),
    ADD COLUMN seal_note text,
    -- The filled template the PDF was rendered from (canonical JSON), for audit and ENI export.
    ADD COLUMN record json,
    -- The seal's RFC 3161 time stamp (CAdES-T: over the seal's signature value), asked of the
    -- TSA (TRAMIT_TSA_URL) after the transition commits, never inside it: 'pending' rows are
    -- a queue that servers claim (claimed_until) and settle. 'none': no seal or no TSA.
    ADD COLUMN timestamp_state text CHECK (timestamp_state IN ('none', 'pending', 'done', 'failed')),
    ADD COLUMN timestamp_token bytea,               -- TimeStampToken, DER
    ADD COLUMN timestamped_at timestamptz,          -- its genTime
    ADD COLUMN timestamp_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN timestamp_claimed_until timestamptz,
    ADD COLUMN timestamp_error text,
    ADD CONSTRAINT document_sealed CHECK ((seal IS NULL) = (seal_format IS NULL)),
    ADD CONSTRAINT document_timestamped CHECK ((timestamp_state = 'done') = (timestamp_token IS NOT NULL)
        OR timestamp_state IS NULL);

-- The expedient's documents of one kind, newest first (the portasignatures binds the latest).
CREATE INDEX document_expedient_kind ON document (expedient_id, kind, created_at DESC);
-- The time-stamp queue, claimed by index rather than by scanning every document.
CREATE INDEX document_timestamp_pending ON document (entity_id, created_at)
    WHERE timestamp_state = 'pending';
