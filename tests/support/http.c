/* Test HTTP client and process runner. */
#include "http.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct http_client {
	CURL *curl;
	int port;
	char lang[32];
	char header[256]; /* sent with every request when set (http_client_header) */
};

struct http_client *http_client_new(int port, const char *accept_language)
{
	struct http_client *c = calloc(1, sizeof(*c));
	c->curl = curl_easy_init();
	c->port = port;
	snprintf(c->lang, sizeof(c->lang), "%s", accept_language ? accept_language : "");
	curl_easy_setopt(c->curl, CURLOPT_COOKIEFILE, ""); /* enable the in-memory cookie engine */
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 30L);
	return c;
}

void http_client_header(struct http_client *c, const char *header)
{
	snprintf(c->header, sizeof(c->header), "%s", header ? header : "");
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

static size_t on_body(char *ptr, size_t size, size_t n, void *payload)
{
	struct http_response *r = payload;
	size_t len = size * n;
	r->body = realloc(r->body, r->len + len + 1);
	memcpy(r->body + r->len, ptr, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *payload)
{
	struct http_response *r = payload;
	size_t len = size * n;
	if (len > 10 && strncasecmp(ptr, "Location: ", 10) == 0) {
		snprintf(r->location, sizeof(r->location), "%.*s", (int)(len - 10), ptr + 10);
		r->location[strcspn(r->location, "\r\n")] = '\0';
	}
	if (len > 13 && strncasecmp(ptr, "Retry-After: ", 13) == 0) {
		snprintf(r->retry_after, sizeof(r->retry_after), "%.*s", (int)(len - 13), ptr + 13);
		r->retry_after[strcspn(r->retry_after, "\r\n")] = '\0';
	}
	return len;
}

static int perform_try(struct http_client *c, const char *path, const char *post, const char *ctype,
                       const char *csrf, const char *key, struct http_response *out)
{
	memset(out, 0, sizeof(*out));
	out->body = calloc(1, 1);
	char url[2048];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", c->port, path);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, out);
	struct curl_slist *h = NULL;
	char line[256];
	if (c->lang[0]) {
		snprintf(line, sizeof(line), "Accept-Language: %s", c->lang);
		h = curl_slist_append(h, line);
	}
	if (c->header[0])
		h = curl_slist_append(h, c->header);
	if (ctype) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
	}
	if (csrf) {
		snprintf(line, sizeof(line), "X-CSRF-Token: %s", csrf);
		h = curl_slist_append(h, line);
	}
	if (key) {
		snprintf(line, sizeof(line), "Idempotency-Key: %s", key);
		h = curl_slist_append(h, line);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	if (post) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	CURLcode rc = curl_easy_perform(c->curl);
	curl_slist_free_all(h);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	if (rc != CURLE_OK)
		return -1;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
	char *ct = NULL;
	curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(out->content_type, sizeof(out->content_type), "%s", ct ? ct : "");
	return 0;
}

static void perform(struct http_client *c, const char *path, const char *post, const char *ctype,
                    const char *csrf, const char *key, struct http_response *out)
{
	int rc = perform_try(c, path, post, ctype, csrf, key, out);
	cr_assert_eq(rc, 0, "%s %s: the request failed (no answer)", post ? "POST" : "GET", path);
}

int http_try_get(struct http_client *c, const char *path, struct http_response *out)
{
	return perform_try(c, path, NULL, NULL, NULL, NULL, out);
}

int http_try_post_form(struct http_client *c, const char *path, const char *body, struct http_response *out)
{
	return perform_try(c, path, body, "application/x-www-form-urlencoded", NULL, NULL, out);
}

int http_try_post_json_key(struct http_client *c, const char *path, const char *body, const char *csrf,
                           const char *key, struct http_response *out)
{
	return perform_try(c, path, body, "application/json", csrf, key, out);
}

void http_get(struct http_client *c, const char *path, struct http_response *out)
{
	perform(c, path, NULL, NULL, NULL, NULL, out);
}

void http_post_form(struct http_client *c, const char *path, const char *body, struct http_response *out)
{
	perform(c, path, body, "application/x-www-form-urlencoded", NULL, NULL, out);
}

void http_post_json(struct http_client *c, const char *path, const char *body, const char *csrf,
                    struct http_response *out)
{
	perform(c, path, body, "application/json", csrf, NULL, out);
}

void http_put_json(struct http_client *c, const char *path, const char *body, const char *csrf,
                   struct http_response *out)
{
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, "PUT");
	int rc = perform_try(c, path, body, "application/json", csrf, NULL, out);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
	cr_assert_eq(rc, 0, "PUT %s: the request failed (no answer)", path);
}

void http_post_json_key(struct http_client *c, const char *path, const char *body, const char *csrf,
                        const char *key, struct http_response *out)
{
	perform(c, path, body, "application/json", csrf, key, out);
}

void http_response_free(struct http_response *r)
{
	free(r->body);
	r->body = NULL;
}

char *http_form_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = strdup(e);
	curl_free(e);
	return r;
}

char *http_extract(const char *body, const char *after, char until)
{
	const char *p = body ? strstr(body, after) : NULL;
	if (!p)
		return NULL;
	p += strlen(after);
	const char *end = strchr(p, until);
	return end ? strndup(p, (size_t)(end - p)) : NULL;
}

int http_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

pid_t tramit_spawn(const char *const *args, const char *const *env, const char *log_path)
{
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		for (const char *const *e = env; e && *e; e++)
			putenv((char *)*e);
		const char *argv[32] = {TRAMIT_BINARY};
		int n = 1;
		for (const char *const *a = args; *a && n < 31; a++)
			argv[n++] = *a;
		argv[n] = NULL;
		execv(TRAMIT_BINARY, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

void tramit_await(pid_t pid, void *curl, const char *log_path)
{
	curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 2L);
	for (int i = 0; i < 600; i++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			cr_assert_fail("tramit exited early (status %d); see %s", st, log_path);
		long status = 0;
		if (curl_easy_perform(curl) == CURLE_OK &&
		    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
			return;
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
	kill(pid, SIGKILL);
	cr_assert_fail("tramit did not answer /healthz within 60 s; see %s", log_path);
}

pid_t tramit_start(const char *const *args, const char *const *env, int port, const char *log_path)
{
	pid_t pid = tramit_spawn(args, env, log_path);
	struct http_client *c = http_client_new(port, NULL);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	tramit_await(pid, c->curl, log_path);
	http_client_free(c);
	return pid;
}

int tramit_stop(pid_t pid, int sig)
{
	kill(pid, sig);
	int st = 0;
	for (int i = 0; i < 300; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

char *http_citizen_files(int port, const char *code, const char *form_json)
{
	struct http_client *c = http_client_new(port, "ca");
	struct http_response r;
	http_get(c, "/login", &r);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char body[256], path[128];
	snprintf(body, sizeof(body), "csrf=%s&who=citizen&next=/tramits/%s/new", tok ? tok : "", code);
	free(tok);
	http_post_form(c, "/login", body, &r);
	http_response_free(&r);
	snprintf(path, sizeof(path), "/tramits/%s/new", code);
	http_get(c, path, &r);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	snprintf(path, sizeof(path), "/api/v1/tramits/%s/expedients", code);
	http_post_json(c, path, form_json, csrf, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	char *id = http_extract(r.body, "\"id\":\"", '"');
	http_response_free(&r);
	free(csrf);
	http_client_free(c);
	return id;
}
