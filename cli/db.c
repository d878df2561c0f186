/* `tramit db migrate`, and the database opening shared with `serve`: an external database
 * from TRAMIT_DATABASE_URL, or the embedded cluster under var/. */
#include <libpq-fe.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/store.h"

int cli_database_open(struct eng_pgcluster *cluster, char *conninfo, size_t size)
{
	memset(cluster, 0, sizeof(*cluster));
	const char *url = getenv("TRAMIT_DATABASE_URL");
	if (url && *url) {
		snprintf(conninfo, size, "%s", url);
		return 0;
	}
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/pg", cli_env("TRAMIT_VAR_DIR", "var"));
	const char *pg_port = getenv("TRAMIT_PG_PORT");
	struct eng_pgcluster_options opts = {
		.dir = dir,
		.tcp = pg_port && *pg_port,
		.port = pg_port && *pg_port ? atoi(pg_port) : 0,
	};
	struct eng_error err = {0};
	if (eng_pgcluster_start(cluster, &opts, &err) != 0) {
		fprintf(stderr, "tramit: embedded PostgreSQL: %s\n", err.msg);
		return 1;
	}
	snprintf(conninfo, size, "%s", cluster->conninfo);
	return 0;
}

void cli_database_close(struct eng_pgcluster *cluster)
{
	if (!cluster->started_by_us)
		return;
	struct eng_error err = {0};
	if (eng_pgcluster_stop(cluster, &err) != 0)
		fprintf(stderr, "tramit: stopping PostgreSQL: %s\n", err.msg);
	else
		fprintf(stderr, "tramit: PostgreSQL stopped\n");
}

int cli_db(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "migrate") != 0) {
		fprintf(stderr, "usage: tramit db migrate\n");
		return 2;
	}
	struct eng_pgcluster cluster;
	char conninfo[1024];
	if (cli_database_open(&cluster, conninfo, sizeof(conninfo)) != 0)
		return 1;
	int status = 1;
	PGconn *conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "tramit: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
		goto done;
	}
	int applied = 0;
	struct eng_error err = {0};
	if (eng_migrate(conn, &applied, stdout, &err) != 0) {
		fprintf(stderr, "tramit: migration failed: %s\n", err.msg);
		goto done;
	}
	printf("%d migration%s applied, %d in all\n", applied, applied == 1 ? "" : "s",
	       eng_migrate_count());
	status = 0;
done:
	PQfinish(conn);
	cli_database_close(&cluster);
	return status;
}

const char *cli_entity(void)
{
	const char *demo = getenv("TRAMIT_DEMO");
	return cli_env("TRAMIT_ENTITY", demo && strcmp(demo, "1") == 0 ? "demo" : "ajuntament");
}

int cli_store_open(struct eng_pgcluster *cluster, struct eng_store **store)
{
	char conninfo[1024];
	*store = NULL;
	if (cli_database_open(cluster, conninfo, sizeof(conninfo)) != 0)
		return 1;
	struct eng_error err = {0};
	int applied = 0, status = 1;
	PGconn *conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
		fprintf(stderr, "tramit: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
	else if (eng_migrate(conn, &applied, NULL, &err) != 0)
		fprintf(stderr, "tramit: migration failed: %s\n", err.msg);
	else if (eng_store_open(store, conninfo, &err) != 0)
		fprintf(stderr, "tramit: %s\n", err.msg);
	else
		status = 0;
	PQfinish(conn);
	if (status)
		cli_database_close(cluster);
	return status;
}
