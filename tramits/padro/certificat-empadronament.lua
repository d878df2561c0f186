-- Certificat d'empadronament individual (PAD-005): issued automatically when the register of
-- inhabitants (padró) confirms the person; a clerk reviews the cases it cannot confirm.
-- Catalogue row 11. Shape: certificate issued automatically.
local function t(ca, es) return { ca = ca, es = es } end

tramit "PAD-005" {
	version = "1",
	title = t("Certificat d'empadronament individual", "Certificado de empadronamiento individual"),
	summary = t("Obteniu el certificat que acredita on esteu empadronat.",
		"Obtenga el certificado que acredita dónde está empadronado."),
	family = "padro",
	unit = "padro",
	applicant = { "person", "employee" },
	identification = "substantial",
	legal = { basis = "Llei 7/1985 (LBRL), art. 16.1; RPDT", silence = "none" },

	form = {
		section "certificat" {
			label = t("Certificat", "Certificado"),
			choice "tipus" {
				label = t("Tipus de certificat", "Tipo de certificado"), required = true,
				options = {
					option "actual" { ca = "Empadronament actual", es = "Empadronamiento actual" },
					option "historic" { ca = "Històric de domicilis", es = "Histórico de domicilios" },
				},
			},
			date "des_de" {
				label = t("Des de la data", "Desde la fecha"),
				visible = function(f) return f.tipus == "historic" end,
				required = function(f) return f.tipus == "historic" end,
			},
			text "motiu" { label = t("Per a què el necessiteu", "Para qué lo necesita"), max = 200 },
		},
	},

	-- The documents this tràmit issues, filled from the expedient when an action names them.
	documents = {
		certificat = template {
			kind = "certificate",
			title = t("Certificat d'empadronament", "Certificado de empadronamiento"),
			body = t("{entity.name} CERTIFICA que, segons les dades del Padró municipal d'habitants, "
				.. "{applicant.name}, amb document d'identitat {applicant.nif}, hi figura inscrit o inscrita.\n"
				.. "Tipus de certificat: {data.tipus}.\n"
				.. "Sol·licitud presentada amb el número de registre {registry.number} el {registry.date} "
				.. "(expedient {expedient.number}).\n"
				.. "I perquè conste, s'expedeix aquest certificat el {document.date}.",
				"{entity.name} CERTIFICA que, según los datos del Padrón municipal de habitantes, "
				.. "{applicant.name}, con documento de identidad {applicant.nif}, figura inscrito o inscrita.\n"
				.. "Tipo de certificado: {data.tipus}.\n"
				.. "Solicitud presentada con el número de registro {registry.number} el {registry.date} "
				.. "(expediente {expedient.number}).\n"
				.. "Y para que conste, se expide este certificado el {document.date}."),
		},
		denegacio = template {
			kind = "resolution",
			title = t("Resolució de denegació del certificat d'empadronament",
				"Resolución de denegación del certificado de empadronamiento"),
			body = t("Vista la sol·licitud de {applicant.name} ({applicant.nif}), presentada amb el número "
				.. "de registre {registry.number} el {registry.date} (expedient {expedient.number}), i "
				.. "comprovat el Padró municipal d'habitants, no consta la inscripció que s'hi demana.\n"
				.. "RESOLC: denegar l'expedició del certificat sol·licitat.\n"
				.. "Contra aquesta resolució podeu interposar recurs potestatiu de reposició en el termini "
				.. "d'un mes (articles 123 i 124 de la Llei 39/2015).",
				"Vista la solicitud de {applicant.name} ({applicant.nif}), presentada con el número "
				.. "de registro {registry.number} el {registry.date} (expediente {expedient.number}), y "
				.. "comprobado el Padrón municipal de habitantes, no consta la inscripción que se solicita.\n"
				.. "RESUELVO: denegar la expedición del certificado solicitado.\n"
				.. "Contra esta resolución puede interponer recurso potestativo de reposición en el plazo "
				.. "de un mes (artículos 123 y 124 de la Ley 39/2015)."),
		},
	},

	states = {
		state "draft" {
			initial = true, applicant_must_act = true,
			label = t("Esborrany", "Borrador"),
			action "request" {
				label = t("Sol·licitar", "Solicitar"), by = applicant, to = "checking",
				form = true, register = "in", receipt = true, backoffice = "padro",
			},
		},
		state "checking" {
			label = t("Comprovant el padró", "Comprobando el padrón"),
			-- The back office answers in seconds; if it does not within two days, a person looks.
			deadline = { natural_days(2), on_expiry = "review", clock = "administration" },
			on = { done = "issue", failed = "to_review" },
			action "issue" {
				label = t("Emetre", "Emitir"), by = system, to = "issued",
				document = "certificat", register = "out", notify = informative "certificat_disponible",
			},
			action "to_review" { label = t("Revisar", "Revisar"), by = system, to = "review" },
		},
		state "review" {
			label = t("En revisió", "En revisión"),
			action "issue_manual" {
				label = t("Emetre el certificat", "Emitir el certificado"), by = role "padro", to = "issued",
				document = "certificat", register = "out", notify = informative "certificat_disponible",
			},
			action "deny" {
				label = t("Denegar", "Denegar"), by = role "padro", to = "denied",
				document = "denegacio", notify = binding "denegacio",
			},
		},
		state "issued" { final = true, label = t("Emés", "Emitido") },
		state "denied" { final = true, label = t("Denegat", "Denegado") },
	},
}
