/* Verifies an ENI export folder: the index seal first, then every indexed document's SHA-256,
 * in index order, then that documents/ holds nothing the index does not cover. The document
 * list is read from the content the signature verification returned, never from the file
 * again, so what is checked is what was signed. */
#include <dirent.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/eni/eni_internal.h"

/* One indexed document, pointing into the parsed index. */
struct indexed {
	const char *id, *hash, *function;
};

static int is_ns(xmlNodePtr n, const char *ns, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, BAD_CAST ns) &&
	       xmlStrEqual(n->name, BAD_CAST name);
}

static xmlNodePtr child(xmlNodePtr parent, const char *ns, const char *name)
{
	for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
		if (is_ns(c, ns, name))
			return c;
	return NULL;
}

/* The text of a leaf element (its single text child), or NULL. */
static const char *text_of(xmlNodePtr n)
{
	if (!n || !n->children)
		return NULL;
	if (n->children->type != XML_TEXT_NODE || n->children->next)
		return NULL;
	return (const char *)n->children->content;
}

/* ENI ids become file names: letters, digits, _ and - only. */
static int safe_id(const char *id)
{
	if (!id || !*id)
		return 0;
	for (; *id; id++)
		if (!((*id >= '0' && *id <= '9') || (*id >= 'A' && *id <= 'Z') ||
		      (*id >= 'a' && *id <= 'z') || *id == '_' || *id == '-'))
			return 0;
	return 1;
}

/* Collects the DocumentoIndizado entries of the verified index into list (malloc'd). */
static int read_index(struct indexed **list, size_t *n, char *identifier, size_t id_cap,
                      xmlDocPtr doc, struct conn_eni_error *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!is_ns(root, ENI_NS_EXP, "expediente"))
		return eni__fail(err, CONN_ENI_EINVALID, "index.xml: expected an eniexp:expediente "
		                 "root element in namespace %s", ENI_NS_EXP);
	const char *id = text_of(child(child(root, ENI_NS_EXP_META, "metadatosExp"), ENI_NS_EXP_META,
	                               "Identificador"));
	if (!id)
		return eni__fail(err, CONN_ENI_EINVALID, "index.xml: metadatosExp has no Identificador");
	snprintf(identifier, id_cap, "%s", id);
	xmlNodePtr content = child(child(root, ENI_NS_INDEX, "indice"), ENI_NS_INDEX_CONTENT,
	                           "IndiceContenido");
	if (!content)
		return eni__fail(err, CONN_ENI_EINVALID, "index.xml: no indice/IndiceContenido");
	size_t cap = 0;
	for (xmlNodePtr c = content->children; c; c = c->next)
		cap += is_ns(c, ENI_NS_INDEX_CONTENT, "DocumentoIndizado");
	*list = calloc(cap ? cap : 1, sizeof(**list));
	if (!*list)
		return eni__fail(err, CONN_ENI_EFAIL, "out of memory");
	*n = 0;
	for (xmlNodePtr c = content->children; c; c = c->next) {
		if (!is_ns(c, ENI_NS_INDEX_CONTENT, "DocumentoIndizado"))
			continue;
		struct indexed *e = &(*list)[(*n)++];
		e->id = text_of(child(c, ENI_NS_INDEX_CONTENT, "IdentificadorDocumento"));
		e->hash = text_of(child(c, ENI_NS_INDEX_CONTENT, "ValorHuella"));
		e->function = text_of(child(c, ENI_NS_INDEX_CONTENT, "FuncionResumen"));
		if (!safe_id(e->id) || !e->hash)
			return eni__fail(err, CONN_ENI_EINVALID, "index.xml: document %zu: expected an "
			                 "IdentificadorDocumento of letters, digits, _ and - and a ValorHuella",
			                 *n);
		if (!e->function || strcmp(e->function, ENI_HASH_SHA256) != 0)
			return eni__fail(err, CONN_ENI_EINVALID, "index.xml: document %s: FuncionResumen "
			                 "is '%s', expected %s", e->id, e->function ? e->function : "",
			                 ENI_HASH_SHA256);
	}
	return 0;
}

/* "<id>.<ext>" where ext has no dot and is not the metadata's "xml". */
static int is_content_of(const char *name, const char *id)
{
	size_t n = strlen(id);
	if (strncmp(name, id, n) != 0 || name[n] != '.' || !name[n + 1])
		return 0;
	return strchr(name + n + 1, '.') == NULL && strcmp(name + n + 1, "xml") != 0;
}

/* Finds the one content file of id in documents/. */
static int find_content(char *out, size_t cap, const char *docs_dir, const char *id,
                        struct conn_eni_error *err)
{
	DIR *d = opendir(docs_dir);
	if (!d)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: cannot open the folder", docs_dir);
	int found = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (is_content_of(e->d_name, id) && found++ == 0)
			snprintf(out, cap, "%s", e->d_name);
	closedir(d);
	if (found != 1)
		return eni__fail(err, CONN_ENI_EINVALID, "documents/: %s file for document %s listed in "
		                 "the index", found ? "more than one" : "no", id);
	return 0;
}

static int check_document(const char *dir, const struct indexed *e, struct conn_eni_error *err)
{
	char docs_dir[4096], name[512], path[4096 + 512];
	snprintf(docs_dir, sizeof(docs_dir), "%s/documents", dir);
	if (find_content(name, sizeof(name), docs_dir, e->id, err) != 0)
		return err->code;
	snprintf(path, sizeof(path), "%s/%s", docs_dir, name);
	char actual[48];
	if (eni__file_sha256_b64(actual, path, err) != 0)
		return CONN_ENI_EFAIL;
	if (strcmp(actual, e->hash) != 0)
		return eni__fail(err, CONN_ENI_EINVALID, "documents/%s: SHA-256 is %s, the index says %s",
		                 name, actual, e->hash);
	return 0;
}

/* Whether name is an indexed document's content or metadata file. */
static int covered(const char *name, const struct indexed *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(list[i].id);
		if (is_content_of(name, list[i].id) ||
		    (strncmp(name, list[i].id, len) == 0 && strcmp(name + len, ".xml") == 0))
			return 1;
	}
	return 0;
}

static int check_no_strays(const char *dir, const struct indexed *list, size_t n,
                           struct conn_eni_error *err)
{
	char docs_dir[4096];
	snprintf(docs_dir, sizeof(docs_dir), "%s/documents", dir);
	DIR *d = opendir(docs_dir);
	if (!d)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: cannot open the folder", docs_dir);
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    !covered(e->d_name, list, n))
			rc = eni__fail(err, CONN_ENI_EINVALID, "documents/%s is not listed in the index",
			               e->d_name);
	closedir(d);
	return rc;
}

static int check_seal(struct conn_sign_report *rep, const char *dir,
                      const struct conn_sign_trust *trust, struct conn_eni_error *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.xml", dir);
	unsigned char *xml;
	size_t len;
	if (eni__file_read(&xml, &len, path, err) != 0)
		return CONN_ENI_EFAIL;
	struct conn_sign_error serr = {0};
	int rc = conn_sign_xades_verify(rep, xml, len, NULL, 0, trust, &serr);
	free(xml);
	if (rc != 0)
		return eni__fail(err, rc == CONN_SIGN_EINVALID ? CONN_ENI_EINVALID : CONN_ENI_EFAIL,
		                 "index.xml: signature: %s", serr.msg);
	return 0;
}

int conn_eni_verify(struct conn_eni_verify_report *out, const char *dir,
                    const struct conn_sign_trust *trust, struct conn_eni_error *err)
{
	memset(out, 0, sizeof(*out));
	struct conn_sign_report rep = {0};
	struct indexed *list = NULL;
	size_t n = 0;
	xmlDocPtr doc = NULL;
	int rc = check_seal(&rep, dir, trust, err);
	if (rc != 0)
		goto done;
	snprintf(out->signer, sizeof(out->signer), "%s", rep.subject);
	/* The verified content is canonical XML without a DTD; no entity or network access. */
	doc = xmlReadMemory((const char *)rep.content, (int)rep.content_len, "index.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		rc = eni__fail(err, CONN_ENI_EINVALID, "index.xml: the signed content is not XML");
		goto done;
	}
	if ((rc = read_index(&list, &n, out->identifier, sizeof(out->identifier), doc, err)) != 0)
		goto done;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = check_document(dir, &list[i], err);
	if (rc == 0)
		rc = check_no_strays(dir, list, n, err);
	if (rc == 0)
		out->n_documents = n;
done:
	free(list);
	xmlFreeDoc(doc);
	conn_sign_report_clear(&rep);
	return rc;
}
