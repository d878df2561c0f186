-- Organisation units form a tree (issue 5: the inbox per unit and role). A role granted in a
-- unit covers its sub-units: a grant in an area reaches every service under it. The tree is
-- kept acyclic by a trigger, so walking it down always ends.
ALTER TABLE org_unit ADD COLUMN parent text;
ALTER TABLE org_unit ADD CONSTRAINT org_unit_parent_fk FOREIGN KEY (entity_id, parent)
    REFERENCES org_unit (entity_id, code);
ALTER TABLE org_unit ADD CONSTRAINT org_unit_not_own_parent CHECK (parent <> code);
CREATE INDEX org_unit_parent ON org_unit (entity_id, parent) WHERE parent IS NOT NULL;

CREATE FUNCTION org_unit_acyclic() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent IS NOT NULL AND EXISTS (
        WITH RECURSIVE up(code) AS (
            SELECT NEW.parent
            UNION
            SELECT o.parent FROM org_unit o JOIN up ON o.entity_id = NEW.entity_id AND o.code = up.code
            WHERE o.parent IS NOT NULL)
        SELECT 1 FROM up WHERE code = NEW.code) THEN
        RAISE EXCEPTION 'unit % cannot be under %: % is already under %', NEW.code, NEW.parent,
            NEW.parent, NEW.code USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER org_unit_acyclic BEFORE INSERT OR UPDATE OF parent ON org_unit
    FOR EACH ROW EXECUTE FUNCTION org_unit_acyclic();

-- An employee's grants as they apply: each "role@unit" granted, and the same role in every
-- unit below that one. The session reads them in its one query; authorisation (the engine's
-- role checks, what an employee sees) works on this list only.
CREATE FUNCTION employee_grants(p_entity text, p_username text) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE g(role, unit) AS (
        SELECT role, unit FROM role_grant WHERE entity_id = p_entity AND username = p_username
        UNION
        SELECT g.role, o.code FROM g JOIN org_unit o ON o.entity_id = p_entity AND o.parent = g.unit)
    SELECT role || '@' || unit FROM g
$$;

-- The inbox of an employee scoped to some tràmits reads the entity's expedients of those
-- codes only.
CREATE INDEX expedient_tramit ON expedient (entity_id, tramit_code, created_at DESC);
