-- The expedient view reads an expedient's first registry entry on every answer: without this
-- index that was a scan of the registry book.
CREATE INDEX registry_entry_expedient ON registry_entry (expedient_id, id);
-- updated_at changes on every transition, so an index holding it made every update of an
-- expedient a non-HOT update touching every index. Inboxes filter by state; ordering by time
-- is a sort of the few rows in one state.
DROP INDEX expedient_state;
CREATE INDEX expedient_state ON expedient (entity_id, state);
