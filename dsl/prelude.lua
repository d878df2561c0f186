-- The tràmit DSL as designers see it: constructors that check their own arguments, note the
-- line they were called from and return opaque nodes for the compiler (dsl/compile.c).
-- Invariant: nothing here reads the world; every check that needs the whole file is the compiler's.
--
-- Called once per file with (env, prim, tramits): env is the file's fresh environment, prim
-- the C primitives (dsl/node.c), tramits the list that collects each tramit "CODE" { ... }.
local env, prim, tramits = ...

-- Builds a two-step constructor, kind "name" { attributes }. The line is taken at the first
-- step, where the designer wrote the kind and the name.
local function named(kind, extra)
	return function(name)
		local line = prim.line()
		if type(name) ~= "string" or name == "" then
			prim.fail(string.format('%s needs a name in quotes, as in %s "name" { ... }', kind, kind))
		end
		return function(attrs)
			if type(attrs) ~= "table" then
				prim.fail(string.format('%s "%s" needs its attributes in braces: %s "%s" { ... }',
					kind, name, kind, name))
			end
			return prim.node(kind, name, line, attrs, extra)
		end
	end
end

env.section = named("section")
env.state = named("state")
env.action = named("action")

-- option "value" { ca = "...", es = "..." }: the braces hold the label itself, because an option
-- is nothing but a value and what the citizen reads for it. Options keep the order written.
env.option = named("option")

for _, type_name in ipairs(prim.field_types) do
	local make = named("field", type_name)
	env[type_name] = function(name)
		if type(name) ~= "string" or name == "" then
			prim.fail(string.format('%s needs a field name in quotes, as in %s "name" { ... }',
				type_name, type_name))
		end
		return make(name)
	end
end

local make_tramit = named("tramit")
function env.tramit(code)
	local finish = make_tramit(code)
	return function(attrs)
		local node = finish(attrs)
		tramits[#tramits + 1] = node
		return node
	end
end

-- Who may act: the applicant of the expedient, or an employee holding a role.
env.applicant = prim.node("applicant", nil, 0, nil)

function env.role(name)
	if type(name) ~= "string" or name == "" then
		prim.fail('role needs a name in quotes, as in role "tramitador"')
	end
	return prim.node("role", name, prim.line(), nil)
end

function env.months(n)
	local whole = type(n) == "number" and math.tointeger(n) or nil
	if whole == nil or whole < 1 or whole > 120 then
		local got = type(n) == "number" and tostring(n) or type(n)
		prim.fail("months needs a whole number from 1 to 120, got " .. got)
	end
	return prim.node("duration", nil, prim.line(), nil, whole)
end
