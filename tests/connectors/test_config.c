/* The connector set: configuration validated at start-up with messages naming the bad key,
 * routing of outbox items to opened connectors, and the health document. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/connector.h"

#define SMTP_OK "\"host\": \"127.0.0.1\", \"from\": \"avisos@example.org\", " \
                "\"sede_url\": \"https://seu.example.org\""

static void expect_refused(const char *json, int code, const char *msg)
{
	struct conn_set *set = (struct conn_set *)1;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, json, &err), code, "%s -> %s", json, err.msg);
	cr_assert_null(set);
	cr_assert_str_eq(err.msg, msg);
}

Test(connectors_config, builtin_table_keeps_its_invariants)
{
	struct conn_error err = {0};
	cr_assert_eq(conn_table_check(&err), 0, "%s", err.msg);
	cr_assert_not_null(conn_table_named("smtp"));
	cr_assert_not_null(conn_table_named("antivirus"));
	cr_assert_eq(conn_table_find("notify"), conn_table_named("smtp"));
	cr_assert_eq(conn_table_find("payment"), conn_table_named("redsys"));
	cr_assert_eq(conn_table_find("backoffice"), conn_table_named("backoffice"));
	cr_assert_null(conn_table_find("document"));
	char caps[64];
	conn_capabilities_format(CONN_CAP_EFFECTS | CONN_CAP_HEALTH, caps, sizeof(caps));
	cr_assert_str_eq(caps, "effects,health");
}

Test(connectors_config, unknown_top_level_key_is_refused)
{
	expect_refused("{\"smtpp\": {}}", CONN_EINVALID,
	               "smtpp: unknown connector (run `tramit connectors` for the list)");
	expect_refused("{\"smtp\": 3}", CONN_EINVALID, "smtp: expected an object");
	expect_refused("[1]", CONN_EINVALID, "expected an object, found an array");
}

Test(connectors_config, bad_values_name_the_key)
{
	expect_refused("{\"smtp\": {" SMTP_OK ", \"port\": 70000}}", CONN_EINVALID,
	               "smtp.port: expected an integer 1..65535, found one out of range");
	expect_refused("{\"smtp\": {" SMTP_OK ", \"port\": \"25\"}}", CONN_EINVALID,
	               "smtp.port: expected an integer 1..65535, found a string");
	expect_refused("{\"smtp\": {" SMTP_OK ", \"prot\": 25}}", CONN_EINVALID,
	               "smtp.prot: unknown key");
	expect_refused("{\"smtp\": {\"from\": \"a@example.org\", \"sede_url\": \"x\"}}",
	               CONN_EINVALID, "smtp.host: required, expected a string");
	expect_refused("{\"smtp\": {" SMTP_OK ", \"starttls\": \"yes\"}}", CONN_EINVALID,
	               "smtp.starttls: expected true or false, found a string");
	expect_refused("{\"smtp\": {\"host\": \"h\", \"from\": \"not an address\", \"sede_url\": \"x\"}}",
	               CONN_EINVALID,
	               "smtp.from: expected an address like notificacions@example.org, found 'not an address'");
	expect_refused("{\"smtp\": {" SMTP_OK ", \"username\": \"u\"}}", CONN_EINVALID,
	               "smtp.username: expected together with password");
	expect_refused("{\"antivirus\": {\"max_recursion\": 0}}", CONN_EINVALID,
	               "antivirus.max_recursion: expected an integer 1..64, found one out of range");
	expect_refused("{\"antivirus\": {\"database_dir\": \"/nonexistent/clamav\"}}",
	               CONN_EUNAVAILABLE,
	               "antivirus.database_dir: /nonexistent/clamav is not usable (No such file or "
	               "directory); install the ClamAV database (freshclam) or point database_dir at "
	               "one; uploads are refused until then");
}

Test(connectors_config, file_messages_start_with_the_path)
{
	char dir[] = "/tmp/tramit-conncfg-XXXXXX", path[300];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/connectors.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"smtp\": {" SMTP_OK ", \"port\": 0}}\n", f);
	fclose(f);
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open_file(&set, path, &err), CONN_EINVALID);
	char want[512];
	snprintf(want, sizeof(want), "%s: smtp.port: expected an integer 1..65535, found one out of range",
	         path);
	cr_assert_str_eq(err.msg, want);
	f = fopen(path, "w");
	fputs("{\"smtp\": {,}}\n", f);
	fclose(f);
	cr_assert_eq(conn_set_open_file(&set, path, &err), CONN_EINVALID);
	snprintf(want, sizeof(want), "%s: line 1: ", path);
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	unlink(path);
	cr_assert_eq(conn_set_open_file(&set, path, &err), CONN_EINVALID);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	cr_assert_str_eq(err.msg, want);
	rmdir(dir);
}

Test(connectors_config, unconfigured_connector_dead_letters_its_effects)
{
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, NULL, &err), 0, "%s", err.msg);
	cr_assert_null(conn_set_state(set, "smtp"));
	cr_assert(!conn_set_configured(set, "antivirus"));
	struct eng_outbox_item item = {.kind = "notify", .args_json = "{}", .idempotency_key = "k"};
	struct eng_delivery d = {0};
	conn_deliver(&item, &d, set);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "connector 'smtp' performs 'notify' effects but is not configured: "
	                          "add a \"smtp\" section to the connectors configuration "
	                          "(TRAMIT_CONNECTORS_CONFIG)");
	item.kind = "payment";
	memset(&d, 0, sizeof(d));
	conn_deliver(&item, &d, set);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "connector 'redsys' performs 'payment' effects but is not configured: "
	                          "add a \"redsys\" section to the connectors configuration "
	                          "(TRAMIT_CONNECTORS_CONFIG)");
	item.kind = "document";
	memset(&d, 0, sizeof(d));
	conn_deliver(&item, &d, set);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "no connector performs 'document' effects in this build");
	conn_set_close(set);
}

Test(connectors_config, health_reports_each_connector)
{
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, "{\"smtp\": {" SMTP_OK ", \"starttls\": false}}", &err), 0,
	             "%s", err.msg);
	cr_assert(conn_set_configured(set, "smtp"));
	char buf[4096];
	cr_assert_eq(conn_set_health(set, buf, sizeof(buf)), 0, "%s", buf);
	json_error_t jerr;
	json_t *doc = json_loads(buf, 0, &jerr);
	cr_assert_not_null(doc, "%s: %s", buf, jerr.text);
	cr_assert(json_is_true(json_object_get(doc, "ok")));
	json_t *c = json_object_get(doc, "connectors");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "smtp"), "status")), "ok");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "smtp"), "server")),
	                 "smtp://127.0.0.1:25");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(c, "smtp"), "sent")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "antivirus"), "status")),
	                 "not configured");
	json_decref(doc);
	char tiny[16];
	cr_assert_eq(conn_set_health(set, tiny, sizeof(tiny)), -1);
	cr_assert_str_eq(tiny, "{\"ok\": false}");
	conn_set_close(set);
}
