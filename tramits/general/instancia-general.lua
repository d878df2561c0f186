-- Instància general (GEN-001): a written application to the municipality about anything that
-- has no tràmit of its own. Catalogue row 1; Llei 39/2015, arts. 16 (registry) and 66 (content
-- of an application: facts, request, contact).
tramit "GEN-001" {
	version = "1",
	title = { ca = "Instància general", es = "Instancia general" },
	summary = {
		ca = "Presenteu a l'Ajuntament un escrit o una sol·licitud que no tinga un tràmit propi.",
		es = "Presente al Ayuntamiento un escrito o una solicitud que no tenga un trámite propio.",
	},
	description = {
		ca = "Feu servir aquest tràmit quan vulgueu demanar alguna cosa a l'Ajuntament o fer-li "
			.. "saber una situació i no trobeu un tràmit específic en el catàleg. Expliqueu què "
			.. "passa i què sol·liciteu. L'escrit queda registrat i rebreu un justificant amb la "
			.. "data i el número de registre. L'Ajuntament té tres mesos per a respondre-vos.",
		es = "Use este trámite cuando quiera pedir algo al Ayuntamiento o comunicarle una "
			.. "situación y no encuentre un trámite específico en el catálogo. Explique qué ocurre "
			.. "y qué solicita. El escrito queda registrado y recibirá un justificante con la fecha "
			.. "y el número de registro. El Ayuntamiento tiene tres meses para responderle.",
	},
	family = "general",
	unit = "registre",
	applicant = { "person", "company", "employee" },
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
					ca = "Resumiu en una frase de què tracta el vostre escrit.",
					es = "Resuma en una frase de qué trata su escrito.",
				},
				required = true, max = 150,
			},
			longtext "exposa" {
				label = { ca = "Exposa", es = "Expone" },
				help = {
					ca = "Expliqueu els fets i els motius de la vostra sol·licitud.",
					es = "Explique los hechos y los motivos de su solicitud.",
				},
				required = true, max = 4000,
			},
			longtext "solicita" {
				label = { ca = "Sol·licita", es = "Solicita" },
				help = {
					ca = "Indiqueu amb claredat què demaneu a l'Ajuntament.",
					es = "Indique con claridad qué pide al Ayuntamiento.",
				},
				required = true, max = 4000,
			},
		},
		section "contacte" {
			label = { ca = "Dades de contacte", es = "Datos de contacto" },
			email "correu" {
				label = { ca = "Correu electrònic", es = "Correo electrónico" },
				help = {
					ca = "Si la indiqueu, us avisarem quan tingueu una resposta o una notificació.",
					es = "Si la indica, le avisaremos cuando tenga una respuesta o una notificación.",
				},
			},
			phone "telefon" {
				label = { ca = "Telèfon", es = "Teléfono" },
				help = {
					ca = "Per si hem de parlar amb vós sobre el vostre escrit.",
					es = "Por si tenemos que hablar con usted sobre su escrito.",
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
