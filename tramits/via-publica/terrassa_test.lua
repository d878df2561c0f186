-- Scenarios of the terrace licence (VIA-001): fee, report, subsanación with its deadline,
-- extension, withdrawal, silence and the decision; every state is reached.
local form = {
	establiment = "Bar Central", adreca = "Plaça Major 3, 46001 València", m2 = 12,
	temporada = "anual",
}
local big = {
	establiment = "Bar Central", adreca = "Plaça Major 3, 46001 València", m2 = 40,
	temporada = "estiu", plano = "plano.pdf|120000|" .. string.rep("a", 64),
}

scenario "paid, reported and granted" {
	start = "2026-03-12 10:00",
	act "submit" { form = form, expect = {
		state = "submitted", fees = { taxa = 18000 }, resolution = "2026-06-12",
		effects = { "register_in:submit", "receipt:submit", "payment:taxa" } } },
	act "report" { by = role "tecnic", expect = { refused = "requirement" } },
	result "payment:taxa" { outcome = "paid", expect = { state = "submitted" } },
	act "report" { by = role "tecnic", expect = { state = "reported", documents = { "informe_tecnic" } } },
	act "grant" { by = role("cap", "urbanisme"), expect = { refused = "not_allowed" } },
	act "grant" { by = role("cap", "via-publica"), expect = {
		state = "granted", documents = { "resolucio" }, notifications = { "resolucio" },
		effects = { "document:resolucio", "register_out:resolucio", "notify:resolucio" } } },
}

scenario "a large terrace needs a plan" {
	act "submit" { form = { establiment = "Bar", adreca = "Carrer Nou 1, 46002 València", m2 = 40, temporada = "estiu" },
		expect = { refused = "invalid_form", errors = { "plano" } } },
	act "submit" { form = big, expect = { state = "submitted", fees = { taxa = 36000 } } },
}

scenario "subsanación, then denied" {
	start = "2026-03-12 10:00",
	act "submit" { form = form, expect = { state = "submitted" } },
	act "request_fix" { by = role "tecnic", at = "2026-03-13 09:00", expect = {
		state = "fixing", deadline = "2026-03-30", notifications = { "requeriment" },
		timers = { "deadline.fixing", "alert.fixing" } } },
	timer "alert.fixing" { at = "2026-03-25 00:00", expect = {
		state = "fixing", notifications = { "deadline_alert" } } },
	act "fix" { at = "2026-03-20 12:00", form = form, expect = { state = "submitted" } },
	result "payment:taxa" { outcome = "paid" },
	act "report" { by = role "tecnic", expect = { state = "reported" } },
	act "deny" { by = role("cap", "via-publica"), expect = { state = "denied" } },
}

scenario "no fix within the deadline: withdrawn" {
	start = "2026-03-12 10:00",
	act "submit" { form = form },
	act "request_fix" { by = role "tecnic", at = "2026-03-13 09:00", expect = { deadline = "2026-03-30" } },
	act "fix" { at = "2026-03-31 10:00", form = form, expect = { refused = "deadline_passed" } },
	timer "deadline.fixing" { expect = { state = "withdrawn" } },
}

scenario "the deadline is extended by half, once" {
	start = "2026-03-12 10:00",
	act "submit" { form = form },
	act "request_fix" { by = role "tecnic", at = "2026-03-13 09:00" },
	act "extend_fix" { by = role "tecnic", at = "2026-03-20 09:00", expect = {
		state = "fixing", deadline = "2026-04-08" } },
	act "extend_fix" { by = role "tecnic", expect = { refused = "not_available" } },
	act "fix" { at = "2026-04-08 18:00", form = form, expect = { state = "submitted" } },
}

scenario "no decision in three months: negative silence" {
	start = "2026-03-12 10:00",
	act "submit" { form = form, expect = { resolution = "2026-06-12" } },
	timer "resolution" { expect = { state = "dismissed" } },
}
