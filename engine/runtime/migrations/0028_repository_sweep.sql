-- Housekeeping of the document repository (sweep.c): what a person uploaded and never filed is
-- not kept for ever. Pending attachments whose form was abandoned are deleted (0012's guard
-- already allows deleting a pending row), and so are the blobs nothing refers to any more.
-- Blobs stay immutable: the only change the database now accepts is the deletion of a blob and
-- its chunks by a transaction that says it is the sweep (SET LOCAL tramit.repository_sweep),
-- and the foreign key from attachment still refuses to delete a blob anyone points at.
CREATE FUNCTION repository_sweep_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('tramit.repository_sweep', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% rows are immutable (content-addressed repository)', TG_TABLE_NAME;
END $$;
DROP TRIGGER blob_immutable ON blob;
DROP TRIGGER blob_chunk_immutable ON blob_chunk;
CREATE TRIGGER blob_immutable BEFORE UPDATE OR DELETE ON blob
    FOR EACH ROW EXECUTE FUNCTION repository_sweep_only();
CREATE TRIGGER blob_chunk_immutable BEFORE UPDATE OR DELETE ON blob_chunk
    FOR EACH ROW EXECUTE FUNCTION repository_sweep_only();

-- The sweep's searches: abandoned pending rows by age, and whether a blob is still referred to.
CREATE INDEX attachment_pending_age ON attachment (created_at) WHERE expedient_id IS NULL;
