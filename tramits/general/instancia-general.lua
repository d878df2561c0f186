-- Instància general (GEN-001): a written application to the municipality about anything that
-- has no tràmit of its own. Catalogue row 1; Llei 39/2015, arts. 16 (registry) and 66 (content
-- of an application: facts, request, contact).
tramit "GEN-001" {
	version = "1",
	title = { ca = "Instància general", es = "Instancia general" },
	summary = {
		ca = "Presenta a l'Ajuntament un escrit o una sol·licitud que no tinga un tràmit propi.",
		es = "Presenta al Ayuntamiento un escrito o una solicitud que no tenga un trámite propio.",
	},
	description = {
		ca = "Fes servir aquest tràmit quan vulgues demanar alguna cosa a l'Ajuntament o fer-li "
			.. "saber una situació i no trobes un tràmit específic en el catàleg. Explica què passa "
			.. "i què sol·licites. L'escrit queda registrat i reps un justificant amb la data i el "
			.. "número de registre. L'Ajuntament té tres mesos per a respondre't.",
		es = "Usa este trámite cuando quieras pedir algo al Ayuntamiento o comunicarle una "
			.. "situación y no encuentres un trámite específico en el catálogo. Explica qué ocurre "
			.. "y qué solicitas. El escrito queda registrado y recibes un justificante con la fecha "
			.. "y el número de registro. El Ayuntamiento tiene tres meses para responderte.",
	},
	family = "general",
	unit = "registre",
	applicant = { "person", "company" },
	legal = {
		basis = "Llei 39/2015, d'1 d'octubre, arts. 16 i 66",
		-- No specific rule sets a time, so the general one applies (art. 21.3).
		resolve_within = months(3),
		-- The real effect depends on what is asked (art. 24.1): positive by default, negative for
		-- petitions under art. 29 of the Constitution, for the public domain, and more. An
		-- application that can ask for anything must not promise more than the law gives, so we
		-- publish the safe reading; a negative silence still lets the applicant appeal (art. 24.2).
		silence = "negative",
	},

	form = {
		section "sollicitud" {
			label = { ca = "Sol·licitud", es = "Solicitud" },
			text "assumpte" {
				label = { ca = "Assumpte", es = "Asunto" },
				help = {
					ca = "Resumeix en una frase de què tracta el teu escrit.",
					es = "Resume en una frase de qué trata tu escrito.",
				},
				required = true, max = 150,
			},
			longtext "exposa" {
				label = { ca = "Exposa", es = "Expone" },
				help = {
					ca = "Explica els fets i els motius de la teua sol·licitud.",
					es = "Explica los hechos y los motivos de tu solicitud.",
				},
				required = true, max = 4000,
			},
			longtext "solicita" {
				label = { ca = "Sol·licita", es = "Solicita" },
				help = {
					ca = "Indica amb claredat què demanes a l'Ajuntament.",
					es = "Indica con claridad qué pides al Ayuntamiento.",
				},
				required = true, max = 4000,
			},
		},
		section "contacte" {
			label = { ca = "Dades de contacte", es = "Datos de contacto" },
			email "correu" {
				label = { ca = "Correu electrònic", es = "Correo electrónico" },
				help = {
					ca = "Si l'indiques, t'avisarem quan tingues una resposta o una notificació.",
					es = "Si lo indicas, te avisaremos cuando tengas una respuesta o una notificación.",
				},
			},
			phone "telefon" {
				label = { ca = "Telèfon", es = "Teléfono" },
				help = {
					ca = "Per si hem de parlar amb tu sobre el teu escrit.",
					es = "Por si tenemos que hablar contigo sobre tu escrito.",
				},
			},
			choice "idioma" {
				label = { ca = "Idioma de les comunicacions", es = "Idioma de las comunicaciones" },
				required = true,
				options = {
					option "ca" { ca = "Valencià", es = "Valenciano" },
					option "es" { ca = "Castellà", es = "Castellano" },
				},
			},
		},
	},

	states = {
		state "draft" {
			initial = true, applicant_must_act = true,
			label = { ca = "Esborrany", es = "Borrador" },
			action "submit" {
				label = { ca = "Presentar", es = "Presentar" },
				by = applicant, to = "submitted",
				form = true, register = "in", receipt = true,
			},
		},
		state "submitted" {
			label = { ca = "En tramitació", es = "En tramitación" },
			action "resolve" {
				label = { ca = "Resoldre", es = "Resolver" },
				by = role "tramitador", to = "resolved",
			},
			action "reject" {
				label = { ca = "Desestimar", es = "Desestimar" },
				by = role "tramitador", to = "rejected",
			},
		},
		state "resolved" { final = true, label = { ca = "Resolta", es = "Resuelta" } },
		state "rejected" { final = true, label = { ca = "Desestimada", es = "Desestimada" } },
	},
}
