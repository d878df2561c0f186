-- A procedure for benchmarks only: after submission, employees "touch" an expedient as often
-- as they like, so every request is one transition (update expedient, append event); an open
-- expedient left alone for 30 days closes by itself (the timer bench/timers fires).
tramit "BENCH-001" {
	version = "1",
	title = { ca = "Tràmit de prova de rendiment", es = "Trámite de prueba de rendimiento" },
	summary = { ca = "Només per a mesurar.", es = "Solo para medir." },
	description = { ca = "Només per a mesurar.", es = "Solo para medir." },
	family = "general",
	unit = "registre",
	applicant = { "person" },
	legal = { basis = "Cap", resolve_within = months(3), silence = "none" },
	form = {
		section "dades" {
			label = { ca = "Dades", es = "Datos" },
			text "assumpte" { label = { ca = "Assumpte", es = "Asunto" }, required = true, max = 100 },
		},
	},
	states = {
		state "draft" {
			initial = true, applicant_must_act = true,
			label = { ca = "Esborrany", es = "Borrador" },
			action "submit" {
				label = { ca = "Presentar", es = "Presentar" },
				by = applicant, to = "open", form = true, register = "in", receipt = true,
			},
		},
		state "open" {
			label = { ca = "Oberta", es = "Abierta" },
			-- bench/timers arms this deadline on expedients it creates in bulk; touching an
			-- open expedient stays in the state and leaves the deadline as it was.
			deadline = { natural_days(30), on_expiry = "closed", clock = "administration" },
			action "touch" { label = { ca = "Tocar", es = "Tocar" }, by = role "tramitador", to = "open" },
			action "ping" { label = { ca = "Avisar", es = "Avisar" }, by = role "tramitador", to = "open", backoffice = "soak" },
			action "close" { label = { ca = "Tancar", es = "Cerrar" }, by = role "tramitador", to = "closed" },
		},
		state "closed" { final = true, label = { ca = "Tancada", es = "Cerrada" } },
	},
}
