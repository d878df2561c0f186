-- Scenarios of the grants to associations (PAR-004): signature circuit, payment, refusals,
-- subsanación (LGS art. 23.5) in time and out of it.
local form = {
	nif_entitat = "G12345674", nom_entitat = "Associació Veïnal del Carme",
	compte = "ES9121000418450200051332", descripcio = "Festa del barri.",
	pressupost = "5000", import = "2500,50",
	["activitats.1.activitat"] = "Cercavila", ["activitats.1.data"] = "2026-06-20",
}

scenario "granted, signed and paid" {
	applicant = "G12345674",
	act "submit" { form = form, expect = { state = "submitted", effects = { "register_in:submit", "receipt:submit" } } },
	act "propose" { by = role "tecnic", expect = { state = "proposed", documents = { "proposta" } } },
	act "send_to_sign" { by = role "tecnic", expect = {
		state = "signing", effects = { "document:resolucio", "sign_request:resolucio" } } },
	result "sign_request:resolucio" { outcome = "rejected", expect = { state = "proposed" } },
	act "send_to_sign" { by = role "tecnic", expect = { state = "signing" } },
	act "order_payment" { by = role "tresoreria", expect = { refused = "not_available" } },
	result "sign_request:resolucio" { outcome = "signed", expect = {
		state = "granted", notifications = { "resolucio", "avis_resolucio" } } },
	act "order_payment" { by = role "tresoreria", expect = { state = "paying", effects = { "backoffice:tresoreria" } } },
	result "backoffice:tresoreria" { outcome = "done", expect = { state = "closed" } },
}

scenario "a representative files for the association" {
	applicant = "G12345674",
	act "submit" { by = representative, form = form, expect = { state = "submitted" } },
}

scenario "the form is checked, in C and by the tràmit's own rules" {
	act "submit" { form = {
		nif_entitat = "12345678Z", nom_entitat = "X", compte = "ES0000000000000000000000",
		descripcio = "x", pressupost = "100", import = "200",
	}, expect = { refused = "invalid_form", errors = { "nif_entitat", "compte", "import", "activitats" } } },
}

scenario "too much asked: the guard says no; then rejected" {
	act "submit" { form = {
		nif_entitat = "G12345674", nom_entitat = "A", compte = "ES9121000418450200051332",
		descripcio = "x", pressupost = "9000", import = "4000",
		["activitats.1.activitat"] = "A", ["activitats.1.data"] = "2026-06-20",
	} },
	act "propose" { by = role "tecnic", expect = { refused = "guard", message = "supera el màxim" } },
	act "reject" { by = role "tecnic", expect = { state = "rejected" } },
}

scenario "six months without a decision: negative silence" {
	start = "2026-03-02 09:00",
	act "submit" { form = form, expect = { resolution = "2026-09-02" } },
	timer "resolution" { expect = { state = "dismissed" } },
}

scenario "subsanación in time: corrected, then evaluated again" {
	applicant = "G12345674",
	start = "2026-03-12 10:00",
	act "submit" { form = form, expect = { state = "submitted" } },
	act "fix" { form = form, expect = { refused = "not_available" } },
	act "request_fix" { by = role "tecnic", at = "2026-03-13 09:00", expect = {
		state = "fixing", deadline = "2026-03-30", documents = { "requeriment" },
		notifications = { "requeriment" }, timers = { "deadline.fixing", "alert.fixing" } } },
	act "propose" { by = role "tecnic", expect = { refused = "not_available" } },
	act "fix" { by = role "tecnic", form = form, expect = { refused = "not_allowed" } },
	act "fix" { at = "2026-03-20 12:00", form = {
		nif_entitat = "G12345674", nom_entitat = "Associació Veïnal del Carme",
		compte = "ES9121000418450200051332", descripcio = "Festa del barri.",
		pressupost = "5000", import = "9000",
		["activitats.1.activitat"] = "Cercavila", ["activitats.1.data"] = "2026-06-20",
	}, expect = { refused = "invalid_form", errors = { "import" } } },
	act "fix" { at = "2026-03-20 12:00", form = form, expect = {
		state = "submitted", effects = { "register_in:fix", "receipt:fix" } } },
	act "propose" { by = role "tecnic", expect = { state = "proposed" } },
}

scenario "no correction within ten business days: deemed withdrawn" {
	applicant = "G12345674",
	start = "2026-03-12 10:00",
	act "submit" { form = form },
	act "request_fix" { by = role "tecnic", at = "2026-03-13 09:00", expect = { deadline = "2026-03-30" } },
	act "fix" { at = "2026-03-31 10:00", form = form, expect = { refused = "deadline_passed" } },
	timer "deadline.fixing" { expect = { state = "withdrawn" } },
	act "fix" { form = form, expect = { refused = "not_available" } },
}
