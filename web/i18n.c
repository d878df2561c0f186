/* Interface strings in Valencian and Spanish, and locale-aware dates. Every key exists in
 * both languages (the table has one row per key with both texts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
	const char *key, *ca, *es;
} strings[] = {
	{"site.name", "Seu electrònica", "Sede electrónica"},
	{"nav.catalogue", "Catàleg de tràmits", "Catálogo de trámites"},
	{"nav.carpeta", "Carpeta ciutadana", "Carpeta ciudadana"},
	{"nav.backoffice", "Gestor d'expedients", "Gestor de expedientes"},
	{"nav.verify", "Verificar documents", "Verificar documentos"},
	{"nav.signin", "Identificar-se", "Identificarse"},
	{"nav.signout", "Eixir", "Salir"},
	{"nav.signed_as", "Identificat com a", "Identificado como"},
	{"nav.skip", "Anar al contingut", "Ir al contenido"},
	{"nav.label", "Menú principal", "Menú principal"},
	{"lang.other", "Castellano", "Valencià"},
	{"lang.other.code", "es", "ca"},
	{"demo.banner", "DEMOSTRACIÓ: servidor de proves amb persones i dades fictícies, sense validesa legal.",
	 "DEMOSTRACIÓN: servidor de pruebas con personas y datos ficticios, sin validez legal."},
	{"home.title", "Tràmits en línia", "Trámites en línea"},
	{"home.intro", "Trieu el tràmit que voleu fer. Podeu presentar sol·licituds les 24 hores del dia, tots els dies de l'any.",
	 "Elija el trámite que quiere realizar. Puede presentar solicitudes las 24 horas del día, todos los días del año."},
	{"home.empty", "Encara no hi ha cap tràmit publicat.", "Todavía no hay ningún trámite publicado."},
	{"family.general", "Tràmits generals", "Trámites generales"},
	{"tramit.start", "Començar el tràmit", "Iniciar el trámite"},
	{"tramit.code", "Codi del procediment", "Código del procedimiento"},
	{"tramit.legal", "Base legal", "Base legal"},
	{"tramit.resolve", "Termini màxim per a resoldre", "Plazo máximo para resolver"},
	{"tramit.months", "mesos", "meses"},
	{"tramit.month", "mes", "mes"},
	{"tramit.silence", "Si l'Ajuntament no resol a temps (silenci administratiu)",
	 "Si el Ayuntamiento no resuelve a tiempo (silencio administrativo)"},
	{"silence.positive", "La sol·licitud s'entén estimada", "La solicitud se entiende estimada"},
	{"silence.negative", "La sol·licitud s'entén desestimada", "La solicitud se entiende desestimada"},
	{"silence.lapse", "El procediment caduca", "El procedimiento caduca"},
	{"silence.none", "No s'aplica", "No se aplica"},
	{"tramit.applicants", "Qui el pot sol·licitar", "Quién puede solicitarlo"},
	{"applicant.person", "Persones físiques", "Personas físicas"},
	{"applicant.company", "Persones jurídiques (empreses i entitats)", "Personas jurídicas (empresas y entidades)"},
	{"tramit.unit", "Unitat responsable", "Unidad responsable"},
	{"tramit.fields", "Dades que us demanarem", "Datos que le pediremos"},
	{"tramit.notfound", "Aquest tràmit no existeix o ja no està disponible.", "Este trámite no existe o ya no está disponible."},
	{"form.required", "obligatori", "obligatorio"},
	{"form.optional", "opcional", "opcional"},
	{"form.submit", "Presentar la sol·licitud", "Presentar la solicitud"},
	{"form.error_title", "Error", "Error"},
	{"form.errors", "Hi ha errors en el formulari. Reviseu aquests camps:", "Hay errores en el formulario. Revise estos campos:"},
	{"form.applicant", "Persona sol·licitant", "Persona solicitante"},
	{"form.choose", "Trieu una opció", "Elija una opción"},
	{"form.yes", "Sí", "Sí"},
	{"form.no", "No", "No"},
	{"form.notice", "En presentar-la, la sol·licitud quedarà inscrita en el registre electrònic d'entrada i rebreu un justificant amb un codi segur de verificació (CSV).",
	 "Al presentarla, la solicitud quedará inscrita en el registro electrónico de entrada y recibirá un justificante con un código seguro de verificación (CSV)."},
	{"signin.title", "Identificació", "Identificación"},
	{"signin.demo", "Aquest servidor funciona en mode de demostració. Trieu amb quina persona fictícia voleu entrar.",
	 "Este servidor funciona en modo de demostración. Elija con qué persona ficticia quiere entrar."},
	{"signin.citizen", "Entrar com a ciutadana: Maria Demo Ciutadana (12345678Z)", "Entrar como ciudadana: Maria Demo Ciutadana (12345678Z)"},
	{"signin.employee", "Entrar com a empleat: Pere Demo Empleat (tots els rols de la demostració)", "Entrar como empleado: Pere Demo Empleat (todos los roles de la demostración)"},
	{"signin.unavailable", "La identificació amb certificat electrònic encara no està disponible en aquest servidor.",
	 "La identificación con certificado electrónico todavía no está disponible en este servidor."},
	{"signin.staff", "Personal de l'Ajuntament", "Personal del Ayuntamiento"},
	{"signin.username", "Nom d'usuari", "Nombre de usuario"},
	{"signin.password", "Contrasenya", "Contraseña"},
	{"signin.submit", "Entrar", "Entrar"},
	{"signin.wrong", "El nom d'usuari o la contrasenya no són correctes. Reviseu-los i torneu-ho a provar.",
	 "El nombre de usuario o la contraseña no son correctos. Revíselos y vuelva a intentarlo."},
	/* Followed by the time ("18:52."). */
	{"signin.limited", "Massa intents d'identificació fallits. Per seguretat, torneu-ho a provar a partir de les",
	 "Demasiados intentos de identificación fallidos. Por seguridad, vuelva a intentarlo a partir de las"},
	{"carpeta.title", "La meua carpeta", "Mi carpeta"},
	{"carpeta.intro", "Ací teniu els vostres expedients i el punt en què es troben.", "Aquí tiene sus expedientes y el punto en que se encuentran."},
	{"carpeta.empty", "Encara no teniu cap expedient.", "Todavía no tiene ningún expediente."},
	{"carpeta.must_act", "Heu d'actuar", "Debe actuar"},
	{"col.number", "Expedient", "Expediente"},
	{"col.tramit", "Tràmit", "Trámite"},
	{"col.state", "Estat", "Estado"},
	{"col.date", "Data", "Fecha"},
	{"col.applicant", "Sol·licitant", "Solicitante"},
	{"col.registry", "Registre d'entrada", "Registro de entrada"},
	{"receipt.title", "Justificant de presentació", "Justificante de presentación"},
	{"receipt.ok", "La vostra sol·licitud s'ha presentat correctament.", "Su solicitud se ha presentado correctamente."},
	{"receipt.registry", "Número de registre d'entrada", "Número de registro de entrada"},
	{"receipt.presented", "Data i hora de presentació", "Fecha y hora de presentación"},
	{"receipt.expedient", "Número d'expedient", "Número de expediente"},
	{"receipt.csv", "Codi segur de verificació (CSV)", "Código seguro de verificación (CSV)"},
	{"receipt.verify", "Podeu comprovar aquest justificant en la pàgina de verificació:", "Puede comprobar este justificante en la página de verificación:"},
	{"expedient.title", "Expedient", "Expediente"},
	{"expedient.data", "Dades de la sol·licitud", "Datos de la solicitud"},
	{"expedient.history", "Historial", "Historial"},
	{"expedient.actions", "Accions", "Acciones"},
	{"expedient.no_actions", "No hi ha cap acció que pugueu fer en aquest estat.", "No hay ninguna acción que pueda realizar en este estado."},
	{"expedient.done", "Acció registrada.", "Acción registrada."},
	{"history.created", "Presentació", "Presentación"},
	{"backoffice.title", "Expedients", "Expedientes"},
	{"backoffice.intro", "Expedients de l'entitat, del més recent al més antic.", "Expedientes de la entidad, del más reciente al más antiguo."},
	{"backoffice.empty", "No hi ha cap expedient.", "No hay ningún expediente."},
	{"backoffice.pending", "Pendent", "Pendiente"},
	{"verify.title", "Verificació de documents", "Verificación de documentos"},
	{"verify.intro", "Escriviu el codi segur de verificació (CSV) que figura en el document per a obtindre'n l'original.",
	 "Escriba el código seguro de verificación (CSV) que figura en el documento para obtener el original."},
	{"verify.label", "Codi segur de verificació (CSV)", "Código seguro de verificación (CSV)"},
	{"verify.hint", "24 caràcters; podeu escriure'ls amb guions o sense.", "24 caracteres; puede escribirlos con guiones o sin ellos."},
	{"verify.button", "Verificar", "Verificar"},
	{"verify.notfound.title", "Document no trobat", "Documento no encontrado"},
	{"verify.notfound", "No hi ha cap document vigent amb aquest codi. Comproveu que l'heu escrit correctament.",
	 "No hay ningún documento vigente con este código. Compruebe que lo ha escrito correctamente."},
	{"verify.found", "Document verificat: és una còpia autèntica de l'original que guarda l'Ajuntament.",
	 "Documento verificado: es una copia auténtica del original que guarda el Ayuntamiento."},
	{"verify.kind", "Tipus de document", "Tipo de documento"},
	{"verify.kind.receipt", "Justificant de registre d'entrada", "Justificante de registro de entrada"},
	{"verify.issued", "Data d'emissió", "Fecha de emisión"},
	{"verify.sha256", "Empremta digital (SHA-256)", "Huella digital (SHA-256)"},
	{"search.title", "Cerca de tràmits", "Búsqueda de trámites"},
	{"search.label", "Cerca un tràmit", "Busque un trámite"},
	{"search.button", "Cerca", "Buscar"},
	{"search.one", "tràmit per a", "trámite para"},
	{"search.many", "tràmits per a", "trámites para"},
	{"search.none", "Cap tràmit no coincideix. Proveu amb menys paraules o amb altres de semblants, o mireu el catàleg sencer.",
	 "Ningún trámite coincide. Pruebe con menos palabras o con otras parecidas, o consulte el catálogo completo."},
	{"search.long.title", "Cerca massa llarga", "Búsqueda demasiado larga"},
	{"search.long", "La cerca pot tindre com a màxim 200 caràcters.", "La búsqueda puede tener como máximo 200 caracteres."},
	{"verify.limit.title", "Massa consultes", "Demasiadas consultas"},
	{"verify.limit", "Heu fet massa consultes en poc temps. Espereu un minut i torneu-ho a provar.",
	 "Ha hecho demasiadas consultas en poco tiempo. Espere un minuto y vuelva a intentarlo."},
	{"verify.download.pdf", "Descarregar el document (PDF)", "Descargar el documento (PDF)"},
	{"verify.download.data", "Descarregar les dades (JSON)", "Descargar los datos (JSON)"},
	{"verify.download", "Descarregar el document original", "Descargar el documento original"},
	{"err.notfound.title", "Pàgina no trobada", "Página no encontrada"},
	{"err.notfound", "La pàgina que busqueu no existeix, o no hi teniu accés.", "La página que busca no existe, o no tiene acceso a ella."},
	{"err.badrequest.title", "Petició no vàlida", "Petición no válida"},
	{"err.badrequest", "No hem pogut entendre les dades enviades. Torneu a la pàgina anterior i proveu-ho de nou.",
	 "No hemos podido entender los datos enviados. Vuelva a la página anterior e inténtelo de nuevo."},
	{"err.csrf.title", "El formulari ha caducat", "El formulario ha caducado"},
	{"err.csrf", "Per seguretat, torneu a carregar la pàgina i envieu el formulari de nou.",
	 "Por seguridad, vuelva a cargar la página y envíe el formulario de nuevo."},
	{"err.conflict.title", "L'expedient ha canviat", "El expediente ha cambiado"},
	{"err.conflict", "Una altra persona ha actuat sobre aquest expedient mentre el consultàveu. Reviseu-ne l'estat actual.",
	 "Otra persona ha actuado sobre este expediente mientras lo consultaba. Revise su estado actual."},
	{"err.denied.title", "Acció no permesa", "Acción no permitida"},
	{"err.denied", "No podeu fer aquesta acció en aquest expedient.", "No puede realizar esta acción en este expediente."},
	{"err.unavailable.title", "Servei no disponible", "Servicio no disponible"},
	{"err.unavailable", "El servei no està disponible ara mateix. Torneu-ho a provar d'ací a uns minuts.",
	 "El servicio no está disponible en este momento. Vuelva a intentarlo dentro de unos minutos."},
	{"err.internal.title", "Error del servidor", "Error del servidor"},
	{"err.internal", "S'ha produït un error inesperat. No s'ha desat cap canvi.", "Se ha producido un error inesperado. No se ha guardado ningún cambio."},
	{"err.toolarge.title", "Dades massa grans", "Datos demasiado grandes"},
	{"err.toolarge", "Les dades enviades superen la mida permesa.", "Los datos enviados superan el tamaño permitido."},
};

const char *web_t(const struct web_ctx *c, const char *key)
{
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (strcmp(strings[i].key, key) == 0)
			return c->lang == ENG_LANG_ES ? strings[i].es : strings[i].ca;
	/* A missing key is a programming error; show the key so tests catch it. */
	return key;
}

const char *web_lang_code(enum eng_lang lang)
{
	return lang == ENG_LANG_ES ? "es" : "ca";
}

static const char *const months_ca[] = {"gener", "febrer", "març", "abril", "maig", "juny",
	"juliol", "agost", "setembre", "octubre", "novembre", "desembre"};
static const char *const months_es[] = {"enero", "febrero", "marzo", "abril", "mayo", "junio",
	"julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"};

const char *web_date(struct web_ctx *c, const char *iso)
{
	int y, mo, d, h = 0, mi = 0, s = 0;
	if (!iso || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) < 3 || mo < 1 ||
	    mo > 12)
		return iso ? iso : "";
	if (c->lang == ENG_LANG_ES)
		return eng_arena_printf(&c->arena, "%d de %s de %d, %02d:%02d:%02d", d, months_es[mo - 1],
		                        y, h, mi, s);
	/* Valencian elides "de" before a vowel: "3 d'abril", "15 d'agost", "9 d'octubre". */
	const char *m = months_ca[mo - 1];
	bool vowel = strchr("aeiou", m[0]) != NULL;
	return eng_arena_printf(&c->arena, "%d %s%s de %d, %02d:%02d:%02d", d, vowel ? "d'" : "de ", m,
	                        y, h, mi, s);
}
