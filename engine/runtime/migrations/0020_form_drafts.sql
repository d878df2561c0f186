-- Drafts of e-office forms (issue 5, "Dynamic forms"): the answers a person saved and may
-- resume, one per principal and tràmit. Not part of any expedient: a draft is not filed, has no
-- legal effect and expires. Files are not copied here: the draft keeps the form's submission
-- key, under which the files chosen so far stay staged as pending attachments (0012).
CREATE TABLE form_draft (
    entity_id       text NOT NULL REFERENCES entity,
    principal       text NOT NULL,                 -- 'citizen:NIF', as attachment.uploaded_by
    tramit_code     text NOT NULL,
    answers         jsonb NOT NULL CHECK (jsonb_typeof(answers) = 'array'), -- [[name, value], ...]
    submission_key  text NOT NULL CHECK (length(submission_key) BETWEEN 8 AND 200),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (entity_id, principal, tramit_code)
);
-- Expired drafts are swept by the writes that touch the same principal; this finds the rest.
CREATE INDEX form_draft_expiry ON form_draft (expires_at);
