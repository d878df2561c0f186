-- Scenarios of the census certificate (PAD-005): issued by itself, reviewed, denied, expired.
scenario "confirmed by the padró: issued at once" {
	act "request" { form = { tipus = "actual" }, expect = {
		state = "checking",
		effects = { "register_in:request", "receipt:request", "backoffice:padro" } } },
	result "backoffice:padro" { outcome = "done", expect = {
		state = "issued", documents = { "certificat" }, notifications = { "certificat_disponible" } } },
}

scenario "a historic certificate needs its start date" {
	act "request" { form = { tipus = "historic" }, expect = { refused = "invalid_form", errors = { "des_de" } } },
	act "request" { form = { tipus = "actual", des_de = "2020-01-01" }, expect = { state = "checking" } },
	act "request" { expect = { refused = "not_available" } },
}

scenario "not confirmed: reviewed by a clerk" {
	act "request" { form = { tipus = "historic", des_de = "2010-05-01" } },
	result "backoffice:padro" { outcome = "failed", expect = { state = "review" } },
	act "issue_manual" { by = role "padro", expect = { state = "issued" } },
}

scenario "no answer in two days: review, then denied" {
	start = "2026-03-02 09:00",
	act "request" { form = { tipus = "actual" }, expect = { deadline = "2026-03-04" } },
	timer "deadline.checking" { expect = { state = "review" } },
	act "deny" { by = role "padro", expect = { state = "denied", notifications = { "denegacio" } } },
}
