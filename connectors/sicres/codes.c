/* The SICRES 3.0 code values and field lengths in one place, and the text helpers the writer
 * and the reader share (characters, base64, SHA-256).
 * The code values are UNVERIFIED (DOMAIN.md 3.3, from memory): they must be checked against
 * the official SICRES 3.0 XSD and its annexes before production; docs/registry.md says so. */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "connectors/sicres/sicres_internal.h"

static const struct {
	const char *field, *value, *meaning;
} codes[] = {
	{"Tipo_Registro", "0", "entrada"},
	{"Tipo_Registro", "1", "salida"},
	{"Tipo_Anotacion", "01", "pendiente"},
	{"Tipo_Anotacion", "02", "envio"},
	{"Tipo_Anotacion", "03", "reenvio"},
	{"Tipo_Anotacion", "04", "rechazo"},
	{"Documentacion_Fisica", "1", "acompana documentacion fisica requerida"},
	{"Documentacion_Fisica", "2", "acompana documentacion fisica complementaria"},
	{"Documentacion_Fisica", "3", "no acompana documentacion fisica"},
	{"Indicador_Prueba", "0", "normal"},
	{"Indicador_Prueba", "1", "prueba"},
	{"Validez_Documento", "01", "copia"},
	{"Validez_Documento", "02", "copia compulsada"},
	{"Validez_Documento", "03", "copia original"},
	{"Validez_Documento", "04", "original"},
	{"Tipo_Documento", "01", "formulario"},
	{"Tipo_Documento", "02", "documento adjunto"},
	{"Tipo_Documento", "03", "fichero tecnico interno"},
	/* Not in DOMAIN.md's list: the identity document types as SIR applications use them. */
	{"Tipo_Documento_Identificacion", "N", "NIF"},
	{"Tipo_Documento_Identificacion", "C", "CIF"},
	{"Tipo_Documento_Identificacion", "E", "NIE"},
	{"Tipo_Documento_Identificacion", "P", "pasaporte"},
	{"Tipo_Documento_Identificacion", "X", "otros de persona fisica"},
	{"Tipo_Documento_Identificacion", "O", "codigo de origen"},
};

/* maxLength of each element we read or write, in characters (SICRES3_INTERCAMBIO_APL.xsd). */
static const struct {
	const char *element;
	int max;
} lengths[] = {
	{"Codigo_Entidad_Registral_Origen", 21}, {"Decodificacion_Entidad_Registral_Origen", 80},
	{"Numero_Registro_Entrada", 20}, {"Fecha_Hora_Entrada", 14},
	{"Codigo_Unidad_Tramitacion_Origen", 21}, {"Decodificacion_Unidad_Tramitacion_Origen", 80},
	{"Codigo_Entidad_Registral_Destino", 21}, {"Decodificacion_Entidad_Registral_Destino", 80},
	{"Codigo_Unidad_Tramitacion_Destino", 21}, {"Decodificacion_Unidad_Tramitacion_Destino", 80},
	{"Tipo_Documento_Identificacion_Interesado", 1}, {"Documento_Identificacion_Interesado", 17},
	{"Razon_Social_Interesado", 80}, {"Nombre_Interesado", 30}, {"Primer_Apellido_Interesado", 30},
	{"Segundo_Apellido_Interesado", 30}, {"Correo_Electronico_Interesado", 160},
	{"Telefono_Contacto_Interesado", 20}, {"Resumen", 240}, {"Numero_Expediente", 80},
	{"Nombre_Fichero_Anexado", 80}, {"Identificador_Fichero", 50}, {"Validez_Documento", 2},
	{"Tipo_Documento", 2}, {"Tipo_MIME", 20}, {"Nombre_Usuario", 80},
	{"Identificador_Intercambio", 33}, {"Tipo_Anotacion", 2}, {"Descripcion_Tipo_Anotacion", 80},
	{"Tipo_Registro", 1}, {"Documentacion_Fisica", 1}, {"Indicador_Prueba", 1},
	{"Codigo_Entidad_Registral_Inicio", 21}, {"Decodificacion_Entidad_Registral_Inicio", 80},
	{"Expone", 4000}, {"Solicita", 4000},
};

const char *sicres__code(const char *field, const char *meaning)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(codes[i].field, field) == 0 && strcmp(codes[i].meaning, meaning) == 0)
			return codes[i].value;
	assert(!"a SICRES code the table does not hold");
	return "";
}

const char *sicres__meaning(const char *field, const char *value)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(codes[i].field, field) == 0 && strcmp(codes[i].value, value) == 0)
			return codes[i].meaning;
	return NULL;
}

int sicres__max_len(const char *element)
{
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
		if (strcmp(lengths[i].element, element) == 0)
			return lengths[i].max;
	return 0;
}

long sicres__utf8_chars(const char *s)
{
	long n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
		int extra = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
		            : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (extra < 0 || (*p & 0xfe) == 0xc0)
			return -1;
		p++;
		for (int k = 0; k < extra; k++, p++)
			if ((*p & 0xc0) != 0x80)
				return -1;
	}
	return n;
}

const char *sicres__fit(struct eng_arena *a, const char *s, int max)
{
	const unsigned char *p = (const unsigned char *)s;
	for (int n = 0; *p; n++) {
		if (n == max)
			return eng_arena_strndup(a, s, (size_t)((const char *)p - s));
		p++;
		while ((*p & 0xc0) == 0x80)
			p++;
	}
	return s;
}

char *sicres__b64(struct eng_arena *a, const unsigned char *data, size_t len)
{
	char *out = eng_arena_alloc(a, 4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int sicres__unb64(unsigned char **out, size_t *len, struct eng_arena *a, const char *text)
{
	size_t n = strlen(text), k = 0, pad = 0;
	char *clean = eng_arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (isspace(ch))
			continue;
		if (!isalnum(ch) && ch != '+' && ch != '/' && ch != '=')
			return -1;
		if (pad && ch != '=')
			return -1; /* data after padding */
		pad += ch == '=';
		clean[k++] = (char)ch;
	}
	if (k % 4 != 0 || pad > 2)
		return -1;
	*out = eng_arena_alloc(a, k / 4 * 3 + 1);
	int got = k ? EVP_DecodeBlock(*out, (const unsigned char *)clean, (int)k) : 0;
	if (got < 0)
		return -1;
	*len = (size_t)got - pad; /* EVP_DecodeBlock counts the padding as zero bytes */
	return 0;
}

static void sha256(unsigned char md[32], const unsigned char *data, size_t len)
{
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
}

void sicres__sha256_b64(char out[48], const unsigned char *data, size_t len)
{
	unsigned char md[32];
	sha256(md, data, len);
	EVP_EncodeBlock((unsigned char *)out, md, 32);
}

void sicres__sha256_hex(char out[65], const unsigned char *data, size_t len)
{
	unsigned char md[32];
	sha256(md, data, len);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int sicres__fail(struct conn_sicres_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}
