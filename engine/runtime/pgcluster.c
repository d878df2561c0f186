/* Embedded PostgreSQL cluster (pgcluster.h): Debian's initdb and pg_ctl run as child processes,
 * dropped to an unprivileged user when we are root. Invariant: every child we fork is waited
 * for, and only the process that started a postmaster (started_by_us) ever stops it. */
/* nftw is an X/Open interface; the build asks only for POSIX 2008 and the default set. */
#define _XOPEN_SOURCE 700

#include "engine/runtime/pgcluster.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <locale.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUPERUSER "tramit"
#define MAX_GROUPS 64

/* What a child needs to run one PostgreSQL tool as the cluster's user. Everything is computed
 * before fork, because between fork and exec only async-signal-safe calls are allowed. */
struct pg_ctx {
	char bindir[PATH_MAX];
	char user[64];       /* for messages */
	bool drop;           /* we are root: switch to uid/gid/groups before exec */
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int n_groups;
	char dir[512];       /* the cluster root (eng_pgcluster.dir); children start there */
	char data[512 + 8];
	char log[512 + 24];
	bool quiet;
};

static void progress(const struct pg_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void progress(const struct pg_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	if (ctx->quiet)
		return;
	va_start(ap, fmt);
	fputs("tramit: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Copies len bytes of s into out as a string, cut to fit. */
static void copy_upto(char *out, size_t n, const char *s, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* Keeps the last non-empty line of text in out: tools put the reason for a failure there. */
static void last_line(char *out, size_t n, const char *text)
{
	const char *end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > text && start[-1] != '\n')
		start--;
	copy_upto(out, n, start, (size_t)(end - start));
}

/* Keeps the message of the last FATAL or PANIC line of a server log, else its last line. */
static void last_fatal(char *out, size_t n, const char *log)
{
	const char *found = NULL, *p;
	for (p = strstr(log, "FATAL:  "); p; p = strstr(p + 1, "FATAL:  "))
		found = p;
	for (p = strstr(log, "PANIC:  "); p; p = strstr(p + 1, "PANIC:  "))
		if (!found || p > found)
			found = p;
	if (!found) {
		last_line(out, n, log);
		return;
	}
	found += strlen("FATAL:  "); /* as long as "PANIC:  " */
	copy_upto(out, n, found, strcspn(found, "\r\n"));
}

static int find_bindir(char *out, size_t n, struct eng_error *err)
{
	const char *env = getenv("PG_BINDIR");
	char path[PATH_MAX];
	if (env && *env) {
		snprintf(path, sizeof(path), "%s/initdb", env);
		if (access(path, X_OK) != 0)
			return eng_error_set(err, ENG_EUNAVAILABLE,
			                     "initdb not found in PG_BINDIR=%s: point it at PostgreSQL's bin folder",
			                     env);
		snprintf(out, n, "%s", env);
		return 0;
	}
	/* Debian installs each major version side by side; the newest one wins. */
	DIR *d = opendir("/usr/lib/postgresql");
	int best_major = -1, best_minor = -1;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			int major = 0, minor = 0;
			if (sscanf(e->d_name, "%d.%d", &major, &minor) < 1)
				continue;
			snprintf(path, sizeof(path), "/usr/lib/postgresql/%s/bin/initdb", e->d_name);
			if (access(path, X_OK) != 0)
				continue;
			if (major > best_major || (major == best_major && minor > best_minor)) {
				best_major = major;
				best_minor = minor;
				snprintf(out, n, "/usr/lib/postgresql/%s/bin", e->d_name);
			}
		}
		closedir(d);
	}
	if (best_major < 0)
		return eng_error_set(err, ENG_EUNAVAILABLE,
		                     "initdb not found in /usr/lib/postgresql/*/bin: install the postgresql "
		                     "package (or set PG_BINDIR)");
	return 0;
}

/* Chooses who runs PostgreSQL: ourselves, or when root (which the postmaster refuses) an
 * unprivileged user with its supplementary groups, so group-based folder access works too. */
static int resolve_user(struct pg_ctx *ctx, const char *run_as, uid_t want_uid,
                        struct eng_error *err)
{
	struct passwd pw, *found = NULL;
	char buf[4096];

	if (geteuid() != 0) {
		ctx->drop = false;
		ctx->uid = geteuid();
		ctx->gid = getegid();
		if (getpwuid_r(ctx->uid, &pw, buf, sizeof(buf), &found) == 0 && found)
			snprintf(ctx->user, sizeof(ctx->user), "%s", pw.pw_name);
		else
			snprintf(ctx->user, sizeof(ctx->user), "%ld", (long)ctx->uid);
		return 0;
	}
	if (want_uid != (uid_t)-1) {
		if (getpwuid_r(want_uid, &pw, buf, sizeof(buf), &found) != 0 || !found)
			return eng_error_set(err, ENG_EINVALID, "no user has uid %ld, which runs the cluster",
			                     (long)want_uid);
	} else if (run_as && *run_as) {
		if (getpwnam_r(run_as, &pw, buf, sizeof(buf), &found) != 0 || !found)
			return eng_error_set(err, ENG_EINVALID,
			                     "user %s does not exist: create it or choose another user to run "
			                     "PostgreSQL as", run_as);
	} else if (getpwnam_r("postgres", &pw, buf, sizeof(buf), &found) != 0 || !found) {
		if (getpwnam_r("nobody", &pw, buf, sizeof(buf), &found) != 0 || !found)
			return eng_error_set(err, ENG_EINVALID,
			                     "neither user postgres nor nobody exists: install the postgresql "
			                     "package or create a user to run PostgreSQL as");
	}
	if (pw.pw_uid == 0)
		return eng_error_set(err, ENG_EINVALID,
		                     "PostgreSQL refuses to run as root, and user %s is root: choose an "
		                     "unprivileged user", pw.pw_name);
	ctx->drop = true;
	ctx->uid = pw.pw_uid;
	ctx->gid = pw.pw_gid;
	snprintf(ctx->user, sizeof(ctx->user), "%s", pw.pw_name);
	/* getgrouplist fills as many as fit and reports the full count; the first 64 suffice. */
	int n = MAX_GROUPS;
	if (getgrouplist(pw.pw_name, pw.pw_gid, ctx->groups, &n) < 0)
		n = MAX_GROUPS;
	ctx->n_groups = n;
	return 0;
}

/* Child side, between fork and exec: become the cluster's user or die with status 126. */
static void child_become_user(const struct pg_ctx *ctx)
{
	if (!ctx->drop)
		return;
	if (setgroups((size_t)ctx->n_groups, ctx->groups) != 0 || setgid(ctx->gid) != 0 ||
	    setuid(ctx->uid) != 0) {
		static const char msg[] = "could not switch to the PostgreSQL user\n";
		ssize_t w = write(2, msg, sizeof(msg) - 1);
		(void)w;
		_exit(126);
	}
}

/* Runs argv[0] from bindir as the cluster's user with output captured; the last bytes of it
 * land in tail. Returns the exit status (0 = success), or a negative code with err set if it
 * did not run. */
static int run_tool(const struct pg_ctx *ctx, const char *const argv[], char *tail, size_t tailn,
                    struct eng_error *err)
{
	char path[PATH_MAX + 32];
	int fds[2] = {-1, -1};
	int rc = ENG_EINTERNAL;
	size_t used = 0;

	assert(tail && tailn > 1);
	tail[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", ctx->bindir, argv[0]);
	/* Close-on-exec keeps the read end out of the child; the window before fcntl is harmless
	 * because this module is not thread-safe anyway. */
	if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0) {
		rc = eng_error_set(err, ENG_EINTERNAL, "pipe for %s: %s", argv[0], strerror(errno));
		goto done;
	}
	pid_t pid = fork();
	if (pid < 0) {
		rc = eng_error_set(err, ENG_EINTERNAL, "fork for %s: %s", argv[0], strerror(errno));
		goto done;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0)
			_exit(126);
		/* Our sockets and files must not leak into a postmaster that outlives us. */
		closefrom(3);
		child_become_user(ctx);
		/* The cluster root is the one folder the user surely can enter; starting in root's
		 * home would make the tools warn that they cannot return to it. */
		if (chdir(ctx->dir) != 0) {
			static const char msg[] = "could not enter the cluster folder\n";
			ssize_t w = write(2, msg, sizeof(msg) - 1);
			(void)w;
			_exit(126);
		}
		/* initdb and pg_ctl find their sibling programs from argv[0]; a bare name would
		 * send them searching PATH, where Debian does not put them. */
		const char *args[32];
		size_t k = 0;
		args[k++] = path;
		for (size_t i = 1; argv[i] && k < 31; i++)
			args[k++] = argv[i];
		args[k] = NULL;
		execv(path, (char *const *)args);
		_exit(127);
	}
	close(fds[1]);
	fds[1] = -1;
	for (;;) {
		if (used + 1 >= tailn) {
			/* Keep the newer half: the reason for a failure comes last. */
			size_t keep = tailn / 2;
			memmove(tail, tail + used - keep, keep);
			used = keep;
		}
		ssize_t r = read(fds[0], tail + used, tailn - 1 - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		used += (size_t)r;
	}
	tail[used] = '\0';
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = eng_error_set(err, ENG_EINTERNAL, "waitpid for %s: %s", argv[0], strerror(errno));
			goto done;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		rc = eng_error_set(err, ENG_EUNAVAILABLE, "could not run %s", path);
		goto done;
	}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
done:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return rc;
}

/* A pid is alive if it exists and is not a zombie: our pid 1 may never reap an orphaned
 * postmaster, and a zombie holds no socket, shared memory or data files. */
static bool pid_alive(pid_t pid)
{
	if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
		return false;
	char path[64], stat[256];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *paren = strrchr(stat, ')');
	return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

/* Reads postmaster.pid: line 1 pid, 4 port, 5 first socket folder, 6 listen addresses.
 * Returns 0 if the file exists and names a pid. */
static int read_pidfile(const char *data, pid_t *pid, int *port, char *sock, size_t sockn,
                        char *listen, size_t listenn)
{
	char path[PATH_MAX], line[PATH_MAX];
	snprintf(path, sizeof(path), "%s/postmaster.pid", data);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	*pid = 0;
	*port = 0;
	sock[0] = listen[0] = '\0';
	for (int i = 1; i <= 6 && fgets(line, sizeof(line), f); i++) {
		line[strcspn(line, "\r\n")] = '\0';
		if (i == 1)
			*pid = (pid_t)atol(line);
		else if (i == 4)
			*port = atoi(line);
		else if (i == 5)
			copy_upto(sock, sockn, line, strcspn(line, ","));
		else if (i == 6)
			copy_upto(listen, listenn, line, strlen(line));
	}
	fclose(f);
	return *pid > 0 ? 0 : -1;
}

static int pick_free_port(int *out, struct eng_error *err)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(a);
	int rc = ENG_EUNAVAILABLE;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		eng_error_set(err, ENG_EUNAVAILABLE, "could not find a free port on 127.0.0.1: %s",
		              strerror(errno));
		goto done;
	}
	*out = ntohs(a.sin_port);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int mkdir_p(const char *path, mode_t mode, bool *created, struct eng_error *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return eng_error_set(err, ENG_EINVALID, "folder name too long: %.200s", path);
	*created = false;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return eng_error_set(err, ENG_EUNAVAILABLE, "cannot create folder %s: %s", buf,
			                     strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, mode) == 0)
		*created = true;
	else if (errno != EEXIST)
		return eng_error_set(err, ENG_EUNAVAILABLE, "cannot create folder %s: %s", buf,
		                     strerror(errno));
	return 0;
}

/* Hands a path we created to the cluster's user; a no-op when we are that user. */
static int give(const struct pg_ctx *ctx, const char *path, struct eng_error *err)
{
	if (ctx->drop && chown(path, ctx->uid, ctx->gid) != 0)
		return eng_error_set(err, ENG_EUNAVAILABLE, "cannot give %s to user %s: %s", path,
		                     ctx->user, strerror(errno));
	return 0;
}

/* Checks, as the cluster's user, that every folder from / down to path can be entered. The
 * test runs in a child with the user's real ids, so ACLs and groups count exactly as they will
 * for the postmaster; the child's exit status is the index of the first blocked folder + 1. */
static int check_reach(const struct pg_ctx *ctx, const char *path, struct eng_error *err)
{
	char buf[PATH_MAX];
	size_t ends[200];
	int n = 0;
	snprintf(buf, sizeof(buf), "%s", path);
	size_t len = strlen(buf);
	for (size_t i = 1; i <= len && n < 200; i++)
		if (buf[i] == '/' || buf[i] == '\0')
			ends[n++] = i;
	pid_t pid = fork();
	if (pid < 0)
		return eng_error_set(err, ENG_EINTERNAL, "fork: %s", strerror(errno));
	if (pid == 0) {
		child_become_user(ctx);
		for (int i = 0; i < n; i++) {
			char saved = buf[ends[i]];
			buf[ends[i]] = '\0';
			if (access(buf, X_OK) != 0)
				_exit(i + 1);
			buf[ends[i]] = saved;
		}
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return eng_error_set(err, ENG_EINTERNAL, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 126)
		return eng_error_set(err, ENG_EINTERNAL, "could not switch to user %s to check folders",
		                     ctx->user);
	int blocked = WEXITSTATUS(status);
	if (blocked == 0)
		return 0;
	buf[ends[blocked - 1]] = '\0';
	return eng_error_set(err, ENG_EDENIED,
	                     "PostgreSQL must run as user %s, who cannot reach %s (blocked at %s): give "
	                     "the parent folders o+x or set TRAMIT_VAR_DIR to a reachable folder",
	                     ctx->user, ctx->dir, buf);
}

/* Appends key=value to a libpq conninfo, quoting the value when it needs it. */
static void conninfo_add(char *out, size_t n, const char *key, const char *value)
{
	size_t len = strlen(out);
	bool plain = *value != '\0' && strpbrk(value, " \t\n'\\") == NULL;
	len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s=%s", len ? " " : "", key,
	                        plain ? value : "'");
	if (plain)
		return;
	for (const char *p = value; *p && len + 3 < n; p++) {
		if (*p == '\'' || *p == '\\')
			out[len++] = '\\';
		out[len++] = *p;
	}
	if (len + 1 < n)
		out[len++] = '\'';
	out[len < n ? len : n - 1] = '\0';
}

static void make_conninfo(char *out, size_t n, const char *sock, int port, const char *db)
{
	char portbuf[16];
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	out[0] = '\0';
	conninfo_add(out, n, "host", sock);
	conninfo_add(out, n, "port", portbuf);
	conninfo_add(out, n, "user", SUPERUSER);
	conninfo_add(out, n, "dbname", db);
}

/* Appends a word quoted for /bin/sh: pg_ctl hands its -o options to a shell. */
static void shell_add(char *out, size_t n, const char *word)
{
	size_t len = strlen(out);
	if (len + 2 < n)
		out[len++] = '\'';
	for (const char *p = word; *p && len + 6 < n; p++) {
		if (*p == '\'') {
			memcpy(out + len, "'\\''", 4);
			len += 4;
		} else {
			out[len++] = *p;
		}
	}
	if (len + 1 < n)
		out[len++] = '\'';
	out[len] = '\0';
}

/* initdb with the one superuser trusted on the socket; pg_hba.conf is then narrowed so that
 * trust covers only that user (initdb's --auth=trust would trust every role). */
static int init_cluster(const struct pg_ctx *ctx, struct eng_error *err)
{
	char tail[2048], line[200], path[PATH_MAX];
	int rc = ENG_EUNAVAILABLE;
	FILE *f = NULL;
	/* C.UTF-8 sorts by code point everywhere, so results never depend on the host's locales. */
	locale_t probe = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
	const char *locale = probe ? "--locale=C.UTF-8" : "--locale=C";
	if (probe)
		freelocale(probe);

	progress(ctx, "initialising a PostgreSQL cluster in %s", ctx->data);
	const char *argv[] = {"initdb", "-D", ctx->data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
	                      locale, NULL};
	int status = run_tool(ctx, argv, tail, sizeof(tail), err);
	if (status < 0) {
		rc = status;
		goto done;
	}
	if (status != 0) {
		last_line(line, sizeof(line), tail);
		eng_error_set(err, ENG_EUNAVAILABLE, "initdb %s failed (status %d): %s", ctx->data, status,
		              line);
		goto done;
	}
	snprintf(path, sizeof(path), "%s/pg_hba.conf", ctx->data);
	f = fopen(path, "w");
	if (!f) {
		eng_error_set(err, ENG_EUNAVAILABLE, "cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	fputs("# Written by tramit. Only the superuser " SUPERUSER " may connect. The socket folder is\n"
	      "# private to the cluster's user (mode 0700), which is what makes trust safe there.\n"
	      "local all " SUPERUSER " trust\n"
	      "# Loopback TCP is for tests and development on a single-user machine: any local\n"
	      "# process can reach it, so the server only listens there when started with tcp.\n"
	      "host all " SUPERUSER " 127.0.0.1/32 trust\n", f);
	if (fclose(f) != 0) {
		f = NULL;
		eng_error_set(err, ENG_EUNAVAILABLE, "cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	f = NULL;
	rc = 0;
done:
	if (f)
		fclose(f);
	return rc;
}

static int start_postmaster(const struct pg_ctx *ctx, const char *sock, int port, bool tcp,
                            struct eng_error *err)
{
	char opts[PATH_MAX + 128], tail[2048], line[200];
	snprintf(opts, sizeof(opts), "-k ");
	shell_add(opts, sizeof(opts), sock);
	size_t len = strlen(opts);
	snprintf(opts + len, sizeof(opts) - len, " -p %d -c listen_addresses=%s", port,
	         tcp ? "127.0.0.1" : "''");

	progress(ctx, "starting PostgreSQL from %s", ctx->data);
	const char *argv[] = {"pg_ctl", "-w", "-t", "60", "-D", ctx->data, "-l", ctx->log, "-o", opts,
	                      "start", NULL};
	int status = run_tool(ctx, argv, tail, sizeof(tail), err);
	if (status < 0)
		return status;
	if (status == 0)
		return 0;
	/* pg_ctl only says "examine the log"; the postmaster's reason is its last FATAL line
	 * (what follows it is the shutdown chatter). */
	FILE *f = fopen(ctx->log, "r");
	if (f) {
		char logtail[8192];
		if (fseek(f, -(long)(sizeof(logtail) - 1), SEEK_END) != 0)
			rewind(f);
		size_t n = fread(logtail, 1, sizeof(logtail) - 1, f);
		logtail[n] = '\0';
		fclose(f);
		last_fatal(line, sizeof(line), logtail);
	} else {
		last_line(line, sizeof(line), tail);
	}
	/* A port taken by someone else is the one failure a caller can cure by choosing another. */
	int code = strstr(line, "could not create any TCP/IP sockets") ? ENG_ECONFLICT : ENG_EUNAVAILABLE;
	return eng_error_set(err, code, "PostgreSQL did not start on port %d (see %s): %s", port,
	                     ctx->log, line);
}

static int wait_ready(const char *conninfo, struct eng_error *err)
{
	/* pg_ctl -w already waited for "ready"; this covers a server we merely found running. */
	struct timespec pause = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
	PGPing ping = PQPING_NO_RESPONSE;
	for (int i = 0; i < 300; i++) {
		ping = PQping(conninfo);
		if (ping == PQPING_OK)
			return 0;
		if (ping == PQPING_NO_ATTEMPT)
			break;
		nanosleep(&pause, NULL);
	}
	return eng_error_set(err, ENG_EUNAVAILABLE,
	                     "PostgreSQL does not accept connections at %s after 30 s (ping %d)",
	                     conninfo, (int)ping);
}

static int ensure_database(const char *sock, int port, const char *db, struct eng_error *err)
{
	char conninfo[1024];
	int rc = ENG_EUNAVAILABLE;
	PGresult *res = NULL;
	char *ident = NULL;
	make_conninfo(conninfo, sizeof(conninfo), sock, port, "postgres");
	PGconn *conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		eng_error_set(err, ENG_EUNAVAILABLE, "cannot connect to %s: %.*s", conninfo,
		              (int)strcspn(PQerrorMessage(conn), "\n"), PQerrorMessage(conn));
		goto done;
	}
	const char *params[] = {db};
	res = PQexecParams(conn, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, params, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		eng_error_set(err, ENG_EUNAVAILABLE, "looking up database %s: %.*s", db,
		              (int)strcspn(PQresultErrorMessage(res), "\n"), PQresultErrorMessage(res));
		goto done;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		char sql[300];
		ident = PQescapeIdentifier(conn, db, strlen(db));
		if (!ident) {
			eng_error_set(err, ENG_EINVALID, "bad database name %s", db);
			goto done;
		}
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", ident);
		res = PQexec(conn, sql);
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* 42P04: another process created it meanwhile, which is what we wanted. */
		if (PQresultStatus(res) != PGRES_COMMAND_OK && !(state && strcmp(state, "42P04") == 0)) {
			eng_error_set(err, ENG_EUNAVAILABLE, "creating database %s: %.*s", db,
			              (int)strcspn(PQresultErrorMessage(res), "\n"), PQresultErrorMessage(res));
			goto done;
		}
	}
	rc = 0;
done:
	PQfreemem(ident);
	PQclear(res);
	PQfinish(conn);
	return rc;
}

/* The parts of a context that depend only on the cluster's folder. */
static int ctx_paths(struct pg_ctx *ctx, const char *dir, struct eng_error *err)
{
	if (snprintf(ctx->dir, sizeof(ctx->dir), "%s", dir) >= (int)sizeof(ctx->dir) ||
	    snprintf(ctx->data, sizeof(ctx->data), "%s/data", dir) >= (int)sizeof(ctx->data) ||
	    snprintf(ctx->log, sizeof(ctx->log), "%s/postgresql.log", dir) >= (int)sizeof(ctx->log))
		return eng_error_set(err, ENG_EINVALID, "folder name too long: %.200s", dir);
	return 0;
}

int eng_pgcluster_start(struct eng_pgcluster *out, const struct eng_pgcluster_options *opts,
                        struct eng_error *err)
{
	struct pg_ctx ctx = {0};
	struct stat st;
	char path[PATH_MAX], sock[600], listen[256], given[PATH_MAX], db[64];
	bool created = false, ignored;
	int rc = 0, fd = -1;
	pid_t pid = 0;
	int port = 0;

	if (!opts->dir || !*opts->dir)
		return eng_error_set(err, ENG_EINVALID, "no folder given for the PostgreSQL cluster");
	/* opts may point into *out (restarting with out->dir), so copy before clearing out. */
	const char *dbname = opts->database && *opts->database ? opts->database : "tramit";
	if (snprintf(given, sizeof(given), "%s", opts->dir) >= (int)sizeof(given) ||
	    snprintf(db, sizeof(db), "%s", dbname) >= (int)sizeof(db))
		return eng_error_set(err, ENG_EINVALID, "folder or database name too long: %.200s",
		                     opts->dir);
	memset(out, 0, sizeof(*out));
	ctx.quiet = opts->quiet;
	if ((rc = find_bindir(ctx.bindir, sizeof(ctx.bindir), err)) < 0 ||
	    (rc = resolve_user(&ctx, opts->run_as, (uid_t)-1, err)) < 0 ||
	    (rc = mkdir_p(given, 0700, &created, err)) < 0)
		goto done;
	if (!realpath(given, path)) {
		rc = eng_error_set(err, ENG_EUNAVAILABLE, "cannot resolve %s: %s", given, strerror(errno));
		goto done;
	}
	if (snprintf(out->dir, sizeof(out->dir), "%s", path) >= (int)sizeof(out->dir) ||
	    snprintf(out->socket_dir, sizeof(out->socket_dir), "%s/run", path) >=
	            (int)sizeof(out->socket_dir)) {
		rc = eng_error_set(err, ENG_EINVALID, "folder name too long: %.200s", path);
		goto done;
	}
	/* The kernel caps a socket path at sizeof(sun_path) - 1 bytes; PostgreSQL names the socket
	 * <dir>/.s.PGSQL.<port>, so check with the longest port. */
	size_t socklen = strlen(out->socket_dir) + strlen("/.s.PGSQL.65535");
	if (socklen >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		rc = eng_error_set(err, ENG_EINVALID,
		                   "socket folder %s is too long (%zu bytes with the socket name, unix "
		                   "sockets allow %zu): set TRAMIT_VAR_DIR to a shorter folder",
		                   out->socket_dir, socklen, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		goto done;
	}
	if ((rc = ctx_paths(&ctx, path, err)) < 0)
		goto done;
	out->run_uid = ctx.uid;
	out->run_gid = ctx.gid;

	/* Give the cluster's user what it writes: the root folder only if we made it (an existing
	 * folder may be shared, like /tmp), the data and socket folders, and the log. The socket
	 * folder is 0700 so that no other local user can use the trusted socket. */
	if (created && (rc = give(&ctx, path, err)) < 0)
		goto done;
	if ((rc = mkdir_p(ctx.data, 0700, &ignored, err)) < 0 || (rc = give(&ctx, ctx.data, err)) < 0 ||
	    (rc = mkdir_p(out->socket_dir, 0700, &ignored, err)) < 0 ||
	    (rc = give(&ctx, out->socket_dir, err)) < 0)
		goto done;
	fd = open(ctx.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = eng_error_set(err, ENG_EUNAVAILABLE, "cannot create %s: %s", ctx.log, strerror(errno));
		goto done;
	}
	if ((rc = give(&ctx, ctx.log, err)) < 0)
		goto done;
	if (ctx.drop && (rc = check_reach(&ctx, ctx.data, err)) < 0)
		goto done;

	if (read_pidfile(ctx.data, &pid, &port, sock, sizeof(sock), listen, sizeof(listen)) == 0 &&
	    pid_alive(pid)) {
		char tail[1024];
		const char *argv[] = {"pg_ctl", "-D", ctx.data, "status", NULL};
		int status = run_tool(&ctx, argv, tail, sizeof(tail), err);
		if (status < 0) {
			rc = status;
			goto done;
		}
		if (status == 0) {
			if (!sock[0]) {
				rc = eng_error_set(err, ENG_ECONFLICT,
				                   "the cluster in %s is running (pid %ld) without a unix socket: "
				                   "stop it with pg_ctl -D %s stop and start again",
				                   ctx.data, (long)pid, ctx.data);
				goto done;
			}
			progress(&ctx, "reusing the PostgreSQL server already running from %s", ctx.data);
			snprintf(out->socket_dir, sizeof(out->socket_dir), "%s", sock);
			out->port = port;
			out->tcp = listen[0] != '\0';
			make_conninfo(out->conninfo, sizeof(out->conninfo), out->socket_dir, port, db);
			if ((rc = wait_ready(out->conninfo, err)) == 0)
				rc = ensure_database(out->socket_dir, port, db, err);
			goto done;
		}
	}

	snprintf(path, sizeof(path), "%s/PG_VERSION", ctx.data);
	if (stat(path, &st) != 0 && (rc = init_cluster(&ctx, err)) < 0)
		goto done;
	/* A port we picked was free a moment ago, but another process may take it before the
	 * postmaster binds it; then a fresh pick almost surely succeeds. */
	bool picked = opts->tcp && opts->port == 0;
	for (int attempt = 0; attempt < (picked ? 3 : 1); attempt++) {
		port = opts->port ? opts->port : 5432;
		if (picked && (rc = pick_free_port(&port, err)) < 0)
			goto done;
		rc = start_postmaster(&ctx, out->socket_dir, port, opts->tcp, err);
		if (rc != ENG_ECONFLICT)
			break;
	}
	if (rc < 0)
		goto done;
	out->port = port;
	out->tcp = opts->tcp;
	out->started_by_us = true;
	make_conninfo(out->conninfo, sizeof(out->conninfo), out->socket_dir, port, db);
	if ((rc = wait_ready(out->conninfo, err)) < 0 ||
	    (rc = ensure_database(out->socket_dir, port, db, err)) < 0)
		goto done;
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && out->started_by_us) {
		/* Do not leave a server behind that nobody will know to stop. */
		struct eng_error ignore;
		eng_pgcluster_stop(out, &ignore);
	}
	return rc;
}

int eng_pgcluster_stop(struct eng_pgcluster *c, struct eng_error *err)
{
	struct pg_ctx ctx = {.quiet = true};
	char tail[2048], line[200], sock[PATH_MAX], listen[256];
	pid_t pid;
	int port, rc;

	if (!c->started_by_us)
		return 0;
	if ((rc = find_bindir(ctx.bindir, sizeof(ctx.bindir), err)) < 0 ||
	    (rc = resolve_user(&ctx, NULL, c->run_uid, err)) < 0 ||
	    (rc = ctx_paths(&ctx, c->dir, err)) < 0)
		return rc;
	if (read_pidfile(ctx.data, &pid, &port, sock, sizeof(sock), listen, sizeof(listen)) != 0)
		pid = 0;
	const char *argv[] = {"pg_ctl", "-D", ctx.data, "-m", "fast", "-w", "-t", "60", "stop", NULL};
	int status = run_tool(&ctx, argv, tail, sizeof(tail), err);
	if (status < 0)
		return status;
	/* pg_ctl also fails when the server is already gone; only a live postmaster is an error. */
	if (status != 0 && pid_alive(pid)) {
		last_line(line, sizeof(line), tail);
		return eng_error_set(err, ENG_EUNAVAILABLE, "pg_ctl could not stop the server in %s: %s",
		                     ctx.data, line);
	}
	/* pg_ctl returns once postmaster.pid is gone, which the postmaster removes just before it
	 * exits; wait for the exit itself, so that the port and shared memory are free on return. */
	struct timespec pause = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
	for (int i = 0; i < 1000 && pid_alive(pid); i++)
		nanosleep(&pause, NULL);
	if (pid_alive(pid))
		return eng_error_set(err, ENG_EUNAVAILABLE,
		                     "the postmaster (pid %ld) of %s is still running 10 s after pg_ctl "
		                     "stopped it", (long)pid, ctx.data);
	c->started_by_us = false;
	return 0;
}

int eng_pgcluster_restart(struct eng_pgcluster *c, bool immediate, struct eng_error *err)
{
	struct pg_ctx ctx = {.quiet = true};
	char tail[2048], line[200];
	int rc;

	if (!c->started_by_us)
		return eng_error_set(err, ENG_ECONFLICT, "the cluster in %s was not started by us", c->dir);
	if ((rc = find_bindir(ctx.bindir, sizeof(ctx.bindir), err)) < 0 ||
	    (rc = resolve_user(&ctx, NULL, c->run_uid, err)) < 0 ||
	    (rc = ctx_paths(&ctx, c->dir, err)) < 0)
		return rc;
	/* pg_ctl restart reuses the options of the last start (postmaster.opts): same socket and
	 * port. Immediate mode is a crash as far as clients can tell: no checkpoint, recovery on
	 * start. */
	/* Without -l the new postmaster would write to our pipe and keep it open forever. */
	const char *argv[] = {"pg_ctl", "-D", ctx.data, "-l", ctx.log, "-m",
	                      immediate ? "immediate" : "fast", "-w", "-t", "60", "restart", NULL};
	int status = run_tool(&ctx, argv, tail, sizeof(tail), err);
	if (status < 0)
		return status;
	if (status != 0) {
		last_line(line, sizeof(line), tail);
		return eng_error_set(err, ENG_EUNAVAILABLE, "pg_ctl could not restart the server in %s: %s",
		                     ctx.data, line);
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

int eng_pgcluster_destroy(struct eng_pgcluster *c, struct eng_error *err)
{
	char data[PATH_MAX], sock[PATH_MAX], listen[256];
	pid_t pid;
	int port, rc;

	/* An empty or root path here would be a disaster, never a request. */
	assert(c->dir[0] == '/' && c->dir[1] != '\0');
	if ((rc = eng_pgcluster_stop(c, err)) < 0)
		return rc;
	snprintf(data, sizeof(data), "%s/data", c->dir);
	if (read_pidfile(data, &pid, &port, sock, sizeof(sock), listen, sizeof(listen)) == 0 &&
	    pid_alive(pid))
		return eng_error_set(err, ENG_ECONFLICT,
		                     "the cluster in %s is still running (pid %ld): stop it before removing "
		                     "its folder", c->dir, (long)pid);
	if (nftw(c->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		return eng_error_set(err, ENG_EUNAVAILABLE, "cannot remove %s: %s", c->dir, strerror(errno));
	return 0;
}
