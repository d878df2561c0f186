-- An issued document's seal carries its time stamp once the TSA answered (CAdES-T, ETSI EN 319
-- 122-1): the token is added to the seal as its signature-time-stamp unsigned attribute, so the
-- one .p7s file a person downloads proves both who sealed and when, for any CAdES validator.
-- The signed part is the one issued; timestamp_token keeps the token on its own as well.
ALTER TABLE document DROP CONSTRAINT document_seal_format_check;
ALTER TABLE document ADD CONSTRAINT document_seal_format_check
    CHECK (seal_format IN ('cades-detached', 'cades-t-detached'));
