/* Test support: a small HTTP client over libcurl (cookies kept per client, redirects not
 * followed) and a runner for the `tramit` binary as a child process. */
#ifndef TRAMIT_TESTS_HTTP_H
#define TRAMIT_TESTS_HTTP_H

#include <stddef.h>
#include <sys/types.h>

struct http_client;

struct http_response {
	long status;
	char *body;          /* NUL-terminated, malloc'd */
	size_t len;
	char location[1024];
	char content_type[128];
	char retry_after[32]; /* the Retry-After header, or "" */
};

struct http_client *http_client_new(int port, const char *accept_language);
void http_client_free(struct http_client *c);
/* A header line ("X-Remote-User: 12345678Z") sent with every request of c; NULL: none. */
void http_client_header(struct http_client *c, const char *header);
/* Each returns 0, or aborts the test when the request could not be made at all. */
void http_get(struct http_client *c, const char *path, struct http_response *out);
void http_post_form(struct http_client *c, const char *path, const char *body, struct http_response *out);
void http_post_json(struct http_client *c, const char *path, const char *body, const char *csrf,
                    struct http_response *out);
/* The same with an Idempotency-Key header. */
/* PUT with a JSON body (the drafts API). */
void http_put_json(struct http_client *c, const char *path, const char *body, const char *csrf,
                   struct http_response *out);
void http_post_json_key(struct http_client *c, const char *path, const char *body, const char *csrf,
                        const char *key, struct http_response *out);
void http_response_free(struct http_response *r);
/* The same, but returning -1 instead of failing the test when no answer came (server down). */
int http_try_get(struct http_client *c, const char *path, struct http_response *out);
int http_try_post_form(struct http_client *c, const char *path, const char *body, struct http_response *out);
int http_try_post_json_key(struct http_client *c, const char *path, const char *body, const char *csrf,
                           const char *key, struct http_response *out);
/* Percent-encodes s for a form body (static buffer per call site is not used: malloc'd). */
char *http_form_escape(const char *s);
/* Copies the text between `after` and the next `until` character in body; NULL if absent. */
char *http_extract(const char *body, const char *after, char until);

/* A free TCP port on 127.0.0.1. */
int http_free_port(void);

/* Starts TRAMIT_BINARY with args (NULL-terminated) and extra environment (NAME=value,
 * NULL-terminated), output to log_path; waits until /healthz answers 200 (at most 60 s).
 * Returns the pid, or aborts the test. */
pid_t tramit_start(const char *const *args, const char *const *env, int port, const char *log_path);
/* Its two halves, for a server reached otherwise (tls.c): start TRAMIT_BINARY with args and
 * env, output to log_path; then wait until curl (a CURL *, its URL and transport set) gets a
 * 200, or abort the test. */
pid_t tramit_spawn(const char *const *args, const char *const *env, const char *log_path);
void tramit_await(pid_t pid, void *curl, const char *log_path);
/* Sends sig and waits; returns the exit status (or 128 + signal). */
int tramit_stop(pid_t pid, int sig);

/* A citizen signs in through the demo form and files tràmit `code` with form_json (the
 * API's {"form": {...}}); returns the new expedient's id (malloc'd). Fails the test unless
 * the answer is 201. */
char *http_citizen_files(int port, const char *code, const char *form_json);

#endif
