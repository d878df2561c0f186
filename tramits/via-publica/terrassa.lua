-- Autorització de terrassa (VIA-001): a licence to occupy the public way with tables and chairs.
-- Catalogue row 35. Shape: licence with a technical report, a fee from the tariff of the fiscal
-- ordinance (per m² and season), subsanación (art. 68) and negative silence (art. 24.1: the
-- public domain).
local function t(ca, es) return { ca = ca, es = es } end

tramit "VIA-001" {
	version = "1",
	title = t("Autorització de terrassa", "Autorización de terraza"),
	summary = t("Demaneu permís per a posar taules i cadires a la via pública.",
		"Solicite permiso para poner mesas y sillas en la vía pública."),
	description = t("Necessiteu aquesta autorització per a ocupar la via pública amb una **terrassa**. "
		.. "Paguereu la taxa en presentar la sol·licitud.",
		"Necesita esta autorización para ocupar la vía pública con una **terraza**. "
		.. "Pagará la tasa al presentar la solicitud."),
	family = "via-publica",
	unit = "via-publica",
	applicant = { "person", "company", "representative" },
	identification = "substantial",
	legal = {
		basis = "RD 1372/1986, arts. 75-77; TRLRHL, art. 20.3; ordenança de terrasses",
		resolve_within = months(3),
		silence = "negative",
		on_silence = "dismissed",
	},

	form = {
		section "terrassa" {
			label = t("Terrassa", "Terraza"),
			text "establiment" {
				label = t("Nom de l'establiment", "Nombre del establecimiento"), required = true, max = 120,
			},
			address "adreca" { label = t("Adreça de l'establiment", "Dirección del establecimiento"), required = true },
			cadastral "referencia" { label = t("Referència cadastral del local", "Referencia catastral del local") },
			number "m2" { label = t("Superfície (m²)", "Superficie (m²)"), required = true, min = 1, max = 200 },
			choice "temporada" {
				label = t("Temporada", "Temporada"), required = true,
				options = {
					option "anual" { ca = "Tot l'any", es = "Todo el año" },
					option "estiu" { ca = "Només l'estiu", es = "Solo el verano" },
				},
			},
			file "plano" {
				label = t("Plànol de l'ocupació", "Plano de la ocupación"),
				accept = { "pdf" }, max_size = mib(10), max = 1,
				-- Small terraces can be described on the form; larger ones need a plan.
				required = function(f) return f.m2 ~= nil and f.m2 > 20 end,
			},
		},
	},

	fees = {
		fee "taxa" {
			label = t("Taxa d'ocupació de la via pública", "Tasa de ocupación de la vía pública"),
			-- Cents per m² and season, from the fiscal ordinance in force.
			amount = tariff { by = "temporada", per = "m2", rates = { anual = 1500, estiu = 900 } },
		},
	},

	-- The documents this tràmit issues, filled from the expedient when an action names them.
	documents = {
		informe_tecnic = template {
			kind = "other",
			title = t("Informe tècnic sobre l'ocupació de la via pública", "Informe técnico sobre la ocupación de la vía pública"),
			body = t("Expedient {expedient.number}, sol·licitud de {applicant.name} ({applicant.nif}) "
				.. "amb registre d'entrada {registry.number} del {registry.date}.\n"
				.. "Establiment: {data.establiment}. Adreça: {data.adreca}.\n"
				.. "Superfície sol·licitada: {data.m2} m². Temporada: {data.temporada}.\n"
				.. "S'ha comprovat l'emplaçament i la superfície d'ocupació proposada.",
				"Expediente {expedient.number}, solicitud de {applicant.name} ({applicant.nif}) "
				.. "con registro de entrada {registry.number} del {registry.date}.\n"
				.. "Establecimiento: {data.establiment}. Dirección: {data.adreca}.\n"
				.. "Superficie solicitada: {data.m2} m². Temporada: {data.temporada}.\n"
				.. "Se ha comprobado el emplazamiento y la superficie de ocupación propuesta."),
		},
		resolucio = template {
			kind = "resolution",
			title = t("Resolució sobre l'autorització de terrassa", "Resolución sobre la autorización de terraza"),
			body = t("Vista la sol·licitud de {applicant.name} ({applicant.nif}) per a ocupar la via pública "
				.. "amb una terrassa de {data.m2} m² (temporada: {data.temporada}) davant de l'establiment "
				.. "{data.establiment}, {data.adreca}, presentada amb el número de registre {registry.number} "
				.. "el {registry.date} (expedient {expedient.number}), i l'informe tècnic emés,\n"
				.. "RESOLC la sol·licitud en el sentit que consta en l'expedient, amb efectes des del {document.date}.\n"
				.. "Contra aquesta resolució podeu interposar recurs potestatiu de reposició en el termini "
				.. "d'un mes (articles 123 i 124 de la Llei 39/2015).",
				"Vista la solicitud de {applicant.name} ({applicant.nif}) para ocupar la vía pública "
				.. "con una terraza de {data.m2} m² (temporada: {data.temporada}) delante del establecimiento "
				.. "{data.establiment}, {data.adreca}, presentada con el número de registro {registry.number} "
				.. "el {registry.date} (expediente {expedient.number}), y el informe técnico emitido,\n"
				.. "RESUELVO la solicitud en el sentido que consta en el expediente, con efectos desde el {document.date}.\n"
				.. "Contra esta resolución puede interponer recurso potestativo de reposición en el plazo "
				.. "de un mes (artículos 123 y 124 de la Ley 39/2015)."),
		},
	},

	states = {
		state "draft" {
			initial = true, applicant_must_act = true,
			label = t("Esborrany", "Borrador"),
			action "submit" {
				label = t("Presentar", "Presentar"), by = applicant, to = "submitted",
				form = true, register = "in", receipt = true, fee = "taxa", pay = "taxa",
			},
		},
		state "submitted" {
			label = t("En estudi", "En estudio"),
			action "request_fix" {
				label = t("Requerir esmena", "Requerir subsanación"), by = role "tecnic",
				to = "fixing", notify = binding "requeriment",
			},
			action "report" {
				label = t("Emetre informe tècnic", "Emitir informe técnico"), by = role "tecnic",
				to = "reported", document = "informe_tecnic", requires = { paid = "taxa" },
			},
		},
		state "fixing" {
			label = t("Pendent d'esmena", "Pendiente de subsanación"), applicant_must_act = true,
			-- Art. 68: 10 business days, or the application is deemed withdrawn. The resolution
			-- clock stops meanwhile (art. 22.1.a).
			deadline = { business_days(10), on_expiry = "withdrawn", alert = business_days(7) },
			suspends_resolution = true,
			action "fix" {
				label = t("Esmenar", "Subsanar"), by = applicant, to = "submitted",
				form = true, register = "in",
			},
			action "extend_fix" {
				label = t("Ampliar el termini", "Ampliar el plazo"), by = role "tecnic",
				to = "fixing", extend = true,
			},
		},
		state "reported" {
			label = t("Informe emés", "Informe emitido"),
			action "grant" {
				label = t("Autoritzar", "Autorizar"), by = role("cap", "via-publica"), to = "granted",
				document = "resolucio", register = "out", notify = binding "resolucio",
			},
			action "deny" {
				label = t("Denegar", "Denegar"), by = role("cap", "via-publica"), to = "denied",
				document = "resolucio", register = "out", notify = binding "resolucio",
			},
		},
		state "granted" { final = true, label = t("Autoritzada", "Autorizada") },
		state "denied" { final = true, label = t("Denegada", "Denegada") },
		state "withdrawn" { final = true, label = t("Desistida", "Desistida") },
		state "dismissed" { final = true, label = t("Desestimada per silenci", "Desestimada por silencio") },
	},
}
