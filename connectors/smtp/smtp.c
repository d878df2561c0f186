/* The SMTP connector: validates the "smtp" section, composes a notice from the effect's args
 * and a bilingual template, and hands it to the SMTP server with libcurl. Invariant: what is
 * wrong with the message itself (an address, an injected header, a missing template, a 5xx
 * answer) is FAILED at once; what is wrong with the way there (refused connection, timeout,
 * TLS, 4xx) is RETRY, so notices queue while an operator fixes the server. */
#include "smtp.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/config.h"
#include "message.h"
#include "templates.h"

struct smtp {
	const char *host, *from, *from_name, *msgid_domain, *sede_url, *ca_file;
	const char *username, *password, *templates_dir;
	long long port, timeout_s;
	bool starttls;
	json_t *config; /* owns the strings above */
	char url[600];
	struct conn__smtp_templates templates;
	pthread_mutex_t lock; /* guards the counters */
	long long sent, retried, failed;
	char last_error[256];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe: open runs at start-up, before the workers. */
static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const char *const keys[] = {
	"host", "port", "starttls", "ca_file", "username", "password", "from", "from_name",
	"message_id_domain", "sede_url", "templates_dir", "timeout_s", NULL,
};

static int read_strings(struct smtp *s, const json_t *c, struct conn_error *err)
{
	int rc = conn__cfg_string(&s->host, c, "host", true, err);
	if (!rc)
		rc = conn__cfg_string(&s->from, c, "from", true, err);
	if (!rc)
		rc = conn__cfg_string(&s->sede_url, c, "sede_url", true, err);
	if (!rc)
		rc = conn__cfg_string(&s->from_name, c, "from_name", false, err);
	if (!rc)
		rc = conn__cfg_string(&s->ca_file, c, "ca_file", false, err);
	if (!rc)
		rc = conn__cfg_string(&s->username, c, "username", false, err);
	if (!rc)
		rc = conn__cfg_string(&s->password, c, "password", false, err);
	if (!rc)
		rc = conn__cfg_string(&s->templates_dir, c, "templates_dir", false, err);
	if (!rc)
		rc = conn__cfg_string(&s->msgid_domain, c, "message_id_domain", false, err);
	return rc;
}

static int read_config(struct smtp *s, const json_t *c, struct conn_error *err)
{
	int rc = conn__cfg_known(c, keys, err);
	if (!rc)
		rc = read_strings(s, c, err);
	if (!rc)
		rc = conn__cfg_int(&s->port, c, "port", 1, 65535, err);
	if (!rc)
		rc = conn__cfg_int(&s->timeout_s, c, "timeout_s", 1, 300, err);
	if (!rc)
		rc = conn__cfg_bool(&s->starttls, c, "starttls", err);
	if (rc)
		return rc;
	if (!conn__smtp_address_valid(s->from))
		return conn__errorf(err, CONN_EINVALID, "from: expected an address like "
		                    "notificacions@example.org, found '%.100s'", s->from);
	if (!s->msgid_domain)
		s->msgid_domain = strrchr(s->from, '@') + 1;
	char probe[300];
	if (conn__smtp_message_id(probe, sizeof(probe), "", s->msgid_domain) != 0)
		return conn__errorf(err, CONN_EINVALID, "message_id_domain: expected a domain name");
	if (!s->username != !s->password)
		return conn__errorf(err, CONN_EINVALID, "%s: expected together with %s",
		                    s->username ? "username" : "password",
		                    s->username ? "password" : "username");
	if (strpbrk(s->host, "/:@?# ") || strlen(s->host) > 255)
		return conn__errorf(err, CONN_EINVALID, "host: expected a host name or IPv4 address");
	snprintf(s->url, sizeof(s->url), "smtp://%s:%lld", s->host, s->port);
	return 0;
}

static void smtp_close(void *state)
{
	struct smtp *s = state;
	if (!s)
		return;
	conn__smtp_templates_free(&s->templates);
	json_decref(s->config);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int smtp_open(void **out, const char *config_json, struct conn_error *err)
{
	*out = NULL;
	if (!config_json)
		return conn__errorf(err, CONN_ENOTCONFIGURED, "not configured");
	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK)
		return conn__errorf(err, CONN_EUNAVAILABLE, "libcurl: %s", curl_easy_strerror(curl_init_rc));
	struct smtp *s = calloc(1, sizeof(*s));
	if (!s)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->port = 25;
	s->timeout_s = 10;
	s->starttls = true;
	int rc = conn__cfg_parse(&s->config, config_json, err);
	if (!rc)
		rc = read_config(s, s->config, err);
	if (!rc && s->templates_dir)
		rc = conn__smtp_templates_load(&s->templates, s->templates_dir, err);
	if (rc) {
		smtp_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void finish(struct smtp *s, struct eng_delivery *out, enum eng_delivery_status status,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records a RETRY or FAILED with its message, for the operator and for health. */
static void finish(struct smtp *s, struct eng_delivery *out, enum eng_delivery_status status,
                   const char *fmt, ...)
{
	va_list ap;
	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->lock);
	if (status == ENG_DELIVERY_RETRY)
		s->retried++;
	else
		s->failed++;
	snprintf(s->last_error, sizeof(s->last_error), "%s", out->error);
	pthread_mutex_unlock(&s->lock);
}

/* The placeholders a template may use: the effect's string args, then ours, which win. */
static json_t *template_vars(const struct smtp *s, const json_t *args,
                             const struct eng_outbox_item *item)
{
	json_t *vars = json_object();
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)args, key, value)
		if (json_is_string(value))
			json_object_set(vars, key, value);
	json_object_set_new(vars, "expedient", json_string(item->expedient_id));
	json_object_set_new(vars, "sede_url", json_string(s->sede_url));
	return vars;
}

/* Subject and body in one language (both malloc'd), or -1 with err and nothing allocated. */
static int fill_one(const struct smtp *s, const struct eng_outbox_item *item, const char *channel,
                    const char *lang, const json_t *vars, char **subject, char **body,
                    char err[256])
{
	const struct conn__smtp_template *t =
		conn__smtp_template_find(&s->templates, item->target, channel, lang);
	if (!t) {
		snprintf(err, 256, "no '%s' template in '%s' (templates_dir) and no built-in one for "
		         "channel '%s'", item->target, lang, channel ? channel : "(none)");
		return -1;
	}
	*subject = *body = NULL;
	if (conn__smtp_template_fill(subject, t->subject, vars, err) != 0)
		return -1;
	if (conn__smtp_template_fill(body, t->body, vars, err) != 0) {
		free(*subject);
		*subject = NULL;
		return -1;
	}
	return 0;
}

static char *join(const char *a, const char *sep, const char *b)
{
	size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s%s", a, sep, b);
	return s;
}

/* The subject and body in the party's language, or in both (Valencian first) when the args
 * do not say which: every communication must reach the party in a language they chose. */
static int fill_texts(const struct smtp *s, const struct eng_outbox_item *item, const json_t *args,
                      char **subject, char **body, const char **language, char err[256])
{
	const char *lang = json_string_value(json_object_get(args, "language"));
	const char *channel = json_string_value(json_object_get(args, "channel"));
	if (lang && strcmp(lang, "ca") != 0 && strcmp(lang, "es") != 0) {
		snprintf(err, 256, "args.language: expected \"ca\" or \"es\", found '%.40s'", lang);
		return -1;
	}
	json_t *vars = template_vars(s, args, item);
	int rc = -1;
	char *sub[2] = {NULL, NULL}, *bod[2] = {NULL, NULL};
	if (lang) {
		rc = fill_one(s, item, channel, lang, vars, subject, body, err);
		*language = strcmp(lang, "ca") == 0 ? "ca" : "es";
		goto done;
	}
	if (fill_one(s, item, channel, "ca", vars, &sub[0], &bod[0], err) != 0 ||
	    fill_one(s, item, channel, "es", vars, &sub[1], &bod[1], err) != 0)
		goto done;
	*subject = join(sub[0], " / ", sub[1]);
	*body = join(bod[0], "\n----------\n\n", bod[1]);
	*language = "ca, es";
	rc = *subject && *body ? 0 : -1;
	if (rc)
		snprintf(err, 256, "out of memory while composing the message");
done:
	for (int i = 0; i < 2; i++) {
		free(sub[i]);
		free(bod[i]);
	}
	json_decref(vars);
	return rc;
}

/* Builds the whole message, or says (err) why the effect can never be sent as asked. */
static int compose(const struct smtp *s, const struct eng_outbox_item *item, const json_t *args,
                   char **text, size_t *len, char msgid[320], char err[256])
{
	const char *medium = json_string_value(json_object_get(args, "medium"));
	const char *to = json_string_value(json_object_get(args, "email"));
	if (medium && strcmp(medium, "email") != 0) {
		snprintf(err, 256, "args.medium is '%.40s'; this connector only sends e-mail", medium);
		return -1;
	}
	if (!to) {
		snprintf(err, 256, "args.email is missing: the notify effect must carry the party's "
		         "e-mail address for notices");
		return -1;
	}
	/* Delivery to the SMTP server is at least once: a worker that dies after the server
	 * accepted the message sends it again. The Message-ID comes from the outbox row's
	 * idempotency key, so the repeat is the same message and can be deduplicated by it. */
	if (conn__smtp_message_id(msgid, 320, item->idempotency_key, s->msgid_domain) != 0) {
		snprintf(err, 256, "cannot derive a Message-ID from the idempotency key");
		return -1;
	}
	char *subject = NULL, *body = NULL;
	const char *language = NULL;
	if (fill_texts(s, item, args, &subject, &body, &language, err) != 0)
		return -1;
	struct conn__smtp_mail mail = {
		.from = s->from, .from_name = s->from_name, .to = to, .subject = subject, .body = body,
		.language = language, .message_id = msgid, .date = time(NULL),
	};
	int rc = conn__smtp_render(text, len, &mail, err);
	free(subject);
	free(body);
	return rc;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t read_message(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct upload *u = userdata;
	size_t n = size * nitems < u->left ? size * nitems : u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static CURL *curl_for(const struct smtp *s, struct curl_slist *rcpt, struct upload *u,
                      char errbuf[CURL_ERROR_SIZE])
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	char from[300];
	snprintf(from, sizeof(from), "<%s>", s->from);
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
	curl_easy_setopt(c, CURLOPT_READDATA, u);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->left);
	curl_easy_setopt(c, CURLOPT_USE_SSL, s->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	if (s->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	if (s->username) {
		curl_easy_setopt(c, CURLOPT_USERNAME, s->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)s->timeout_s);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)s->timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* worker threads: no SIGALRM for timeouts */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	return c;
}

/* Sends text to `to`; the SMTP server's answer decides the status. */
static void send_message(struct smtp *s, const char *to, const char *text, size_t len,
                         struct eng_delivery *out)
{
	char rcpt_addr[300], errbuf[CURL_ERROR_SIZE] = "";
	snprintf(rcpt_addr, sizeof(rcpt_addr), "<%s>", to);
	struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_addr);
	struct upload u = {text, len};
	CURL *c = rcpt ? curl_for(s, rcpt, &u, errbuf) : NULL;
	if (!c) {
		curl_slist_free_all(rcpt);
		finish(s, out, ENG_DELIVERY_RETRY, "cannot set up libcurl (out of memory?)");
		return;
	}
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	if (rc == CURLE_OK) {
		out->status = ENG_DELIVERY_DONE;
		pthread_mutex_lock(&s->lock);
		s->sent++;
		pthread_mutex_unlock(&s->lock);
	} else if (code >= 500) {
		finish(s, out, ENG_DELIVERY_FAILED, "%s refused the message for <%s> permanently (%ld): %s",
		       s->url, to, code, why);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		finish(s, out, ENG_DELIVERY_RETRY, "%s timed out after %lld s: %s", s->url, s->timeout_s,
		       why);
	} else {
		/* 4xx, refused connections, TLS and login problems: the message is fine, the way
		 * there is not (yet). */
		char reply[48] = "";
		if (code)
			snprintf(reply, sizeof(reply), " (last reply %ld)", code);
		finish(s, out, ENG_DELIVERY_RETRY, "%s: %s%s", s->url, why, reply);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
}

static void smtp_perform(void *state, const struct eng_outbox_item *item, struct eng_delivery *out)
{
	struct smtp *s = state;
	char err[256] = "", msgid[320] = "";
	char *text = NULL;
	size_t len = 0;
	json_t *args = json_loads(item->args_json ? item->args_json : "{}", 0, NULL);
	if (!json_is_object(args))
		finish(s, out, ENG_DELIVERY_FAILED, "notify %s: args are not a JSON object",
		       item->idempotency_key);
	else if (compose(s, item, args, &text, &len, msgid, err) != 0)
		finish(s, out, ENG_DELIVERY_FAILED, "notify %s: %s", item->idempotency_key, err);
	else
		send_message(s, json_string_value(json_object_get(args, "email")), text, len, out);
	if (out->status == ENG_DELIVERY_DONE) {
		snprintf(out->outcome, sizeof(out->outcome), "sent");
		json_t *result = json_pack("{s:s, s:s}", "message_id", msgid, "to",
		                           json_string_value(json_object_get(args, "email")));
		char *dump = result ? json_dumps(result, JSON_COMPACT) : NULL;
		snprintf(out->result_json, sizeof(out->result_json), "%s", dump ? dump : "null");
		free(dump);
		json_decref(result);
	}
	free(text);
	json_decref(args);
}

static const char *smtp_describe(void)
{
	return "sends informative notices by e-mail (Llei 39/2015 art. 41.6) for \"notify\" effects\n"
	       "whose args carry `email` (and `language`: ca or es; both when absent). Bilingual\n"
	       "templates; the Message-ID derives from the outbox idempotency key.\n"
	       "configuration (\"smtp\": {...}):\n"
	       "  host               string   SMTP server (required)\n"
	       "  port               integer  1..65535 (default 25)\n"
	       "  starttls           boolean  require STARTTLS (default true)\n"
	       "  ca_file            string   CA certificates to verify the server with\n"
	       "  username, password string   SMTP AUTH, both or neither\n"
	       "  from               string   sender address (required)\n"
	       "  from_name          string   sender display name, UTF-8\n"
	       "  sede_url           string   e-office address shown in notices (required)\n"
	       "  templates_dir      string   folder of NAME.ca.txt / NAME.es.txt templates\n"
	       "  message_id_domain  string   right-hand side of Message-IDs (default: from's)\n"
	       "  timeout_s          integer  connect and transfer timeout, 1..300 (default 10)\n";
}

static int smtp_health(void *state, char *buf, size_t len)
{
	struct smtp *s = state;
	char url[700], last[600];
	conn__json_quote(url, sizeof(url), s->url);
	pthread_mutex_lock(&s->lock);
	conn__json_quote(last, sizeof(last), s->last_error);
	snprintf(buf, len,
	         "{\"status\": \"ok\", \"server\": %s, \"starttls\": %s, \"sent\": %lld, "
	         "\"retried\": %lld, \"failed\": %lld, \"last_error\": %s}",
	         url, s->starttls ? "true" : "false", s->sent, s->retried, s->failed, last);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static const char *const effect_kinds[] = {"notify", NULL};

const struct conn_type conn_smtp_type = {
	.version = CONN_INTERFACE_VERSION,
	.name = "smtp",
	.capabilities = CONN_CAP_EFFECTS | CONN_CAP_HEALTH,
	.effect_kinds = effect_kinds,
	.open = smtp_open,
	.perform = smtp_perform,
	.close = smtp_close,
	.describe = smtp_describe,
	.health = smtp_health,
};
