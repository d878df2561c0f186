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
env.group = named("group")
env.fee = named("fee")
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

-- Who may act: the applicant of the expedient (or whoever the tràmit lets act for them), only
-- a representative, an employee holding a role (optionally in one org unit), or the engine.
env.applicant = prim.node("applicant", nil, 0, nil)
env.representative = prim.node("representative", nil, 0, nil)
env.system = prim.node("system", nil, 0, nil)

function env.role(name, unit)
	if type(name) ~= "string" or name == "" then
		prim.fail('role needs a name in quotes, as in role "tramitador"')
	end
	if unit ~= nil and (type(unit) ~= "string" or unit == "") then
		prim.fail('role "' .. name .. '": the unit must be a name in quotes, as in role("tecnic", "urbanisme")')
	end
	return prim.node("role", name, prim.line(), { unit = unit })
end

-- Durations: the unit is the function's name; the amount a whole number within limits.
local function duration(unit, max)
	return function(n)
		local whole = type(n) == "number" and math.tointeger(n) or nil
		if whole == nil or whole < 1 or whole > max then
			local got = type(n) == "number" and tostring(n) or type(n)
			prim.fail(string.format("%s needs a whole number from 1 to %d, got %s", unit, max, got))
		end
		return prim.node("duration", unit, prim.line(), nil, whole)
	end
end
env.months = duration("months", 120)
env.business_days = duration("business_days", 3650)
env.natural_days = duration("natural_days", 3650)
env.years = duration("years", 100)
env.hours = duration("hours", 24)

-- Notifications: binding ones (made available at the e-office; they count legally) and
-- informative notices by e-mail or SMS.
local function notification(kind)
	return function(template)
		if type(template) ~= "string" or template == "" then
			prim.fail(kind .. ' needs a template name in quotes, as in ' .. kind .. ' "resolucio"')
		end
		return prim.node("notify", template, prim.line(), { kind = kind })
	end
end
env.binding = notification("binding")
env.informative = notification("informative")

-- tariff { by = "field", per = "number_field", rates = { key = cents, ... } }
function env.tariff(attrs)
	if type(attrs) ~= "table" then
		prim.fail('tariff needs its attributes in braces: tariff { by = "field", rates = { ... } }')
	end
	return prim.node("tariff", nil, prim.line(), attrs)
end

-- template { kind = "resolution", title = { ca = ..., es = ... }, body = { ca = ..., es = ... } }:
-- a document the tràmit issues, named by its key in documents = { ... } (dsl/compile_documents.c).
function env.template(attrs)
	if type(attrs) ~= "table" then
		prim.fail('template needs its attributes in braces: template { kind = "resolution", title = ..., body = ... }')
	end
	return prim.node("template", nil, prim.line(), attrs)
end

-- Sizes of files, in bytes.
function env.kib(n) return math.tointeger(n * 1024) end
function env.mib(n) return math.tointeger(n * 1024 * 1024) end

-- Scenario tests (name_test.lua beside the tràmit; dsl/scenario.c runs them). A scenario lists
-- steps: act "action" { ... }, timer "name" { ... }, result "effect-id" { ... }.
function env.scenario(name)
	local finish = named("scenario")(name)
	return function(attrs)
		local node = finish(attrs)
		tramits[#tramits + 1] = node
		return node
	end
end
for _, kind in ipairs({ "act", "timer", "result" }) do
	env[kind] = function(name)
		local line = prim.line()
		if type(name) ~= "string" or name == "" then
			prim.fail(string.format('%s needs a name in quotes, as in %s "name" { ... }', kind, kind))
		end
		return function(attrs)
			if type(attrs) ~= "table" then
				prim.fail(string.format('%s "%s" needs its attributes in braces', kind, name))
			end
			attrs.name = name
			return prim.node("step", kind, line, attrs)
		end
	end
end
