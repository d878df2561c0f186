-- Who in the back office handles an expedient (issue 5's inbox assignment), and every change
-- of hands, with who made it and when. Outside the expedient's event log: assigning work is
-- an internal arrangement, not an act of the procedure.
ALTER TABLE expedient ADD COLUMN assigned_to text;
CREATE TABLE expedient_assignment (
    id            bigserial PRIMARY KEY,
    expedient_id  uuid NOT NULL REFERENCES expedient,
    assigned_to   text,                 -- NULL: left unassigned
    assigned_by   text NOT NULL,        -- the employee's username
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX expedient_assignment_expedient ON expedient_assignment (expedient_id, at);
