/* The web layer: an evhttp server (libevent) serving the e-office (seu), the citizen folder
 * (carpeta), the back office, the CSV verification page and the JSON API, in Valencian and
 * Spanish. Invariant: every state-changing request is authenticated, CSRF-checked and
 * authorised against the object it touches before anything is written. */
#ifndef WEB_H
#define WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "engine/runtime/queries.h"

struct conn_set;

struct web_config {
	const char *bind;      /* address to listen on; default 127.0.0.1 */
	int port;              /* default 8080 */
	const char *entity_id; /* the municipality this server serves */
	bool demo;             /* demo sign-in and demo banner */
	const char *conninfo;  /* PostgreSQL */
	int loops;             /* event loops (threads), each with its own connection; 0: 4 per core, at most 32 */
	const struct eng_calendar *calendar; /* the municipality's non-business days; borrowed */
	/* Actions from the API that arrive together share one commit (each client is answered
	 * after it); false: every transition commits on its own. */
	bool group_commit;
	const struct conn_set *connectors; /* their health for /healthz; borrowed, may be NULL */
	/* Behind a reverse proxy that authenticates people: the header naming the signed-in
	 * person (a NIF, or "employee:USERNAME"), believed only from the addresses in the
	 * comma-separated trusted_proxies. Both NULL: the mode is off. */
	const char *trusted_header;
	const char *trusted_proxies;
	/* CSV lookups a client address may make per minute, counted over every server on the
	 * database (the lookup log); 0: no limit. */
	int csv_lookups_per_minute;
	/* The public address printed on documents ("https://seu.example.org"); NULL: this
	 * server's own http://bind:port. */
	const char *public_url;
	/* The municipality's electronic seal (PEM key and certificate) and a TSA URL: the evidence
	 * of a notification is issued sealed (XAdES, time-stamped when tsa_url is set) when both
	 * paths are set; otherwise as the JSON record the expedient's log already hashes. */
	const char *seal_key, *seal_cert, *tsa_url;
};

struct web_server;

/* Opens the database connection, binds the port. Returns 0 or a negative code with err. */
int web_server_new(struct web_server **out, const struct web_config *cfg,
                   const struct cat_catalog *catalog, struct eng_error *err);
/* Runs the event loops (this thread runs the first) until SIGINT or SIGTERM. */
int web_server_run(struct web_server *s);
void web_server_free(struct web_server *s);
/* The port actually bound (useful with port 0). */
int web_server_port(const struct web_server *s);

#endif
