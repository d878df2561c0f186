-- Scenarios of the instància general (GEN-001): every state, and the refusals that matter.
local form = {
	assumpte = "Gual permanent", exposa = "Tinc un garatge al carrer Major.",
	solicita = "Que em concedisquen un gual.", correu = "maria@example.org", idioma = "ca",
}

scenario "filed and resolved" {
	start = "2026-03-12 10:00",
	act "submit" { form = form, expect = {
		state = "submitted", effects = { "register_in:submit", "receipt:submit" } } },
	act "resolve" { by = role "tramitador", expect = { state = "resolved" } },
}

scenario "filed and rejected" {
	act "submit" { form = form, expect = { state = "submitted" } },
	act "reject" { by = role "tramitador", expect = { state = "rejected" } },
}

scenario "an incomplete form changes nothing" {
	act "submit" { form = { assumpte = "Sense exposició", idioma = "ca" },
		expect = { refused = "invalid_form", errors = { "exposa", "solicita" }, state = "draft" } },
}

scenario "only the tramitador decides" {
	act "submit" { form = form, expect = { state = "submitted" } },
	act "resolve" { by = role "inspector", expect = { refused = "not_allowed", state = "submitted" } },
	act "resolve" { expect = { refused = "not_allowed" } },
}
