-- Subvencions a associacions (PAR-004): grants to associations in competitive concurrence.
-- Catalogue row 90. Shape: subsidy with a signature circuit (head of service; comptroller or
-- secretary; mayor) and a payment ordered to the treasury once the resolution is signed.
-- Subsanación as the grants law has it (LGS art. 23.5): ten business days, not extendable,
-- or the application is deemed withdrawn.
local function t(ca, es) return { ca = ca, es = es } end

tramit "PAR-004" {
	version = "1",
	title = t("Subvencions a associacions", "Subvenciones a asociaciones"),
	summary = t("Demaneu una subvenció per a un projecte de la vostra associació.",
		"Solicite una subvención para un proyecto de su asociación."),
	family = "participacio",
	unit = "participacio",
	applicant = { "company", "representative" },
	electronic_only = true, -- legal persons must use electronic means (art. 14.2)
	legal = {
		basis = "Llei 38/2003 (LGS), arts. 22-25; RD 887/2006",
		resolve_within = months(6),
		silence = "negative", -- LGS art. 25.5
		on_silence = "dismissed",
	},

	form = {
		section "entitat" {
			label = t("Entitat", "Entidad"),
			company_nif "nif_entitat" { label = t("NIF de l'entitat", "NIF de la entidad"), required = true },
			text "nom_entitat" { label = t("Nom de l'entitat", "Nombre de la entidad"), required = true },
			iban "compte" { label = t("Compte bancari (IBAN)", "Cuenta bancaria (IBAN)"), required = true },
		},
		section "projecte" {
			label = t("Projecte", "Proyecto"),
			longtext "descripcio" { label = t("Descripció del projecte", "Descripción del proyecto"), required = true, max = 4000 },
			money "pressupost" { label = t("Pressupost total", "Presupuesto total"), required = true, min = 1 },
			money "import" {
				label = t("Import sol·licitat", "Importe solicitado"), required = true, min = 1,
				check = function(v, f)
					if f.pressupost and v > f.pressupost then
						return false, t("no pot superar el pressupost.", "no puede superar el presupuesto.")
					end
					return true
				end,
			},
			number "percentatge" {
				label = t("Percentatge subvencionat", "Porcentaje subvencionado"),
				computed = function(f) return f.import * 100 // f.pressupost end,
			},
			group "activitats" {
				label = t("Activitats", "Actividades"), min = 1, max = 5,
				text "activitat" { label = t("Activitat", "Actividad"), required = true },
				date "data" { label = t("Data prevista", "Fecha prevista"), required = true },
			},
			file "memoria" { label = t("Memòria del projecte", "Memoria del proyecto"), accept = { "pdf" }, max = 1 },
		},
	},

	-- The documents this tràmit issues, filled from the expedient when an action names them.
	documents = {
		requeriment = template {
			kind = "requirement",
			title = t("Requeriment d'esmena de la sol·licitud de subvenció",
				"Requerimiento de subsanación de la solicitud de subvención"),
			body = t("Revisada la sol·licitud de l'entitat {data.nom_entitat} ({data.nif_entitat}), presentada "
				.. "amb el número de registre {registry.number} el {registry.date} (expedient {expedient.number}),\n"
				.. "es REQUEREIX l'entitat perquè, en el termini improrrogable de deu dies hàbils, esmene la "
				.. "sol·licitud en el sentit que s'indica en la notificació, amb l'advertiment que, si no ho fa, "
				.. "se la tindrà per desistida de la seua petició (article 23.5 de la Llei 38/2003, general de "
				.. "subvencions, i article 68.1 de la Llei 39/2015).",
				"Revisada la solicitud de la entidad {data.nom_entitat} ({data.nif_entitat}), presentada "
				.. "con el número de registro {registry.number} el {registry.date} (expediente {expedient.number}),\n"
				.. "se REQUIERE a la entidad para que, en el plazo improrrogable de diez días hábiles, subsane la "
				.. "solicitud en el sentido que se indica en la notificación, con la advertencia de que, si no lo "
				.. "hace, se la tendrá por desistida de su petición (artículo 23.5 de la Ley 38/2003, general de "
				.. "subvenciones, y artículo 68.1 de la Ley 39/2015)."),
		},
		proposta = template {
			kind = "proposal",
			title = t("Proposta de resolució de concessió de subvenció", "Propuesta de resolución de concesión de subvención"),
			body = t("Vista la sol·licitud de l'entitat {data.nom_entitat} ({data.nif_entitat}), presentada "
				.. "amb el número de registre {registry.number} el {registry.date} (expedient {expedient.number}), "
				.. "per al projecte descrit en la sol·licitud, amb un pressupost de {data.pressupost}, i les "
				.. "activitats següents:\n{data.activitats}\n"
				.. "es PROPOSA concedir-li una subvenció de {data.import}, que s'abonarà en el compte {data.compte}.",
				"Vista la solicitud de la entidad {data.nom_entitat} ({data.nif_entitat}), presentada "
				.. "con el número de registro {registry.number} el {registry.date} (expediente {expedient.number}), "
				.. "para el proyecto descrito en la solicitud, con un presupuesto de {data.pressupost}, y las "
				.. "actividades siguientes:\n{data.activitats}\n"
				.. "se PROPONE concederle una subvención de {data.import}, que se abonará en la cuenta {data.compte}."),
		},
		resolucio = template {
			kind = "resolution",
			title = t("Resolució de concessió de subvenció", "Resolución de concesión de subvención"),
			body = t("Vista la proposta de resolució de l'expedient {expedient.number} i la sol·licitud de "
				.. "l'entitat {data.nom_entitat} ({data.nif_entitat}) amb registre {registry.number} del {registry.date},\n"
				.. "RESOLC: concedir a l'entitat {data.nom_entitat} una subvenció de {data.import} "
				.. "({data.percentatge} % del pressupost de {data.pressupost}) per a les activitats "
				.. "{data.activitats.activitat}, d'acord amb la Llei 38/2003, general de subvencions.\n"
				.. "Contra aquesta resolució podeu interposar recurs potestatiu de reposició en el termini d'un mes.",
				"Vista la propuesta de resolución del expediente {expedient.number} y la solicitud de "
				.. "la entidad {data.nom_entitat} ({data.nif_entitat}) con registro {registry.number} del {registry.date},\n"
				.. "RESUELVO: conceder a la entidad {data.nom_entitat} una subvención de {data.import} "
				.. "({data.percentatge} % del presupuesto de {data.pressupost}) para las actividades "
				.. "{data.activitats.activitat}, de acuerdo con la Ley 38/2003, general de subvenciones.\n"
				.. "Contra esta resolución puede interponer recurso potestativo de reposición en el plazo de un mes."),
		},
		resolucio_desestimacio = template {
			kind = "resolution",
			title = t("Resolució de desestimació de subvenció", "Resolución de desestimación de subvención"),
			body = t("Vista la sol·licitud de l'entitat {data.nom_entitat} ({data.nif_entitat}), presentada "
				.. "amb el número de registre {registry.number} el {registry.date} (expedient {expedient.number}),\n"
				.. "RESOLC: desestimar la sol·licitud de subvenció per import de {data.import}.\n"
				.. "Contra aquesta resolució podeu interposar recurs potestatiu de reposició en el termini d'un mes.",
				"Vista la solicitud de la entidad {data.nom_entitat} ({data.nif_entitat}), presentada "
				.. "con el número de registro {registry.number} el {registry.date} (expediente {expedient.number}),\n"
				.. "RESUELVO: desestimar la solicitud de subvención por importe de {data.import}.\n"
				.. "Contra esta resolución puede interponer recurso potestativo de reposición en el plazo de un mes."),
		},
	},

	states = {
		state "draft" {
			initial = true, applicant_must_act = true,
			label = t("Esborrany", "Borrador"),
			action "submit" {
				label = t("Presentar", "Presentar"), by = applicant, to = "submitted",
				form = true, register = "in", receipt = true,
			},
		},
		state "submitted" {
			label = t("En avaluació", "En evaluación"),
			action "propose" {
				label = t("Proposar la concessió", "Proponer la concesión"), by = role "tecnic",
				to = "proposed", document = "proposta",
				-- The call's budget caps each grant at 3,000 euros.
				guard = function(f)
					if f.import > 300000 then
						return false, t("L'import supera el màxim de la convocatòria.",
							"El importe supera el máximo de la convocatoria.")
					end
					return true
				end,
			},
			action "request_fix" {
				label = t("Requerir esmena", "Requerir subsanación"), by = role "tecnic",
				to = "fixing", document = "requeriment", notify = binding "requeriment",
			},
			action "reject" {
				label = t("Desestimar", "Desestimar"), by = role "tecnic", to = "rejected",
				document = "resolucio_desestimacio", register = "out", notify = binding "resolucio_desestimacio",
			},
		},
		state "fixing" {
			label = t("Pendent d'esmena", "Pendiente de subsanación"), applicant_must_act = true,
			-- LGS art. 23.5: ten business days, improrrogable (no extension), else withdrawn.
			-- The resolution clock stops meanwhile (art. 22.1.a Llei 39/2015).
			deadline = { business_days(10), on_expiry = "withdrawn", alert = business_days(7) },
			suspends_resolution = true,
			action "fix" {
				label = t("Esmenar", "Subsanar"), by = applicant, to = "submitted",
				form = true, register = "in", receipt = true,
			},
		},
		state "proposed" {
			label = t("Proposta de resolució", "Propuesta de resolución"),
			action "send_to_sign" {
				label = t("Enviar a signar", "Enviar a firmar"), by = role "tecnic", to = "signing",
				document = "resolucio",
				-- Decree signing: the head of service, then the comptroller or the secretary (any
				-- one), then the mayor, whose signature gives it its number in the decree book.
				sign = { document = "resolucio", lines = {
					{ role "cap_servei" },
					{ role "intervencio", role "secretaria", need = "any" },
					{ role "alcaldia" },
				} },
			},
		},
		state "signing" {
			label = t("Pendent de signatura", "Pendiente de firma"),
			on = { signed = "notify_grant", rejected = "back_to_proposal" },
			action "notify_grant" {
				label = t("Notificar la concessió", "Notificar la concesión"), by = system, to = "granted",
				register = "out", notify = { binding "resolucio", informative "avis_resolucio" },
			},
			action "back_to_proposal" {
				label = t("Tornar a la proposta", "Volver a la propuesta"), by = system, to = "proposed",
			},
		},
		state "granted" {
			label = t("Concedida", "Concedida"),
			action "order_payment" {
				label = t("Ordenar el pagament", "Ordenar el pago"), by = role "tresoreria", to = "paying",
				requires = { signed = "resolucio" }, backoffice = "tresoreria",
			},
		},
		state "paying" {
			label = t("Pagament en curs", "Pago en curso"),
			on = { done = "paid" },
			action "paid" { label = t("Pagada", "Pagada"), by = system, to = "closed" },
		},
		state "closed" { final = true, label = t("Pagada", "Pagada") },
		state "rejected" { final = true, label = t("Desestimada", "Desestimada") },
		state "withdrawn" { final = true, label = t("Desistida", "Desistida") },
		state "dismissed" { final = true, label = t("Desestimada per silenci", "Desestimada por silencio") },
	},
}
