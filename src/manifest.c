/*-------------------------------------------------------------------------
 *
 * manifest.c
 *		A snapshot's manifest.json: its one writer (BacManifestText) and its
 *		one reader (BacReadManifest, BacParseManifest, with PostgreSQL's JSON
 *		parser and jsonb), the header checks (archive format, server major
 *		version), the lookups on it (a service, the files of a service) and
 *		the SHA-256 checksums of the files it lists.
 *
 * Archive format v1 (the contract with restore and export)
 * ---------------------------------------------------------
 *
 *	<archive>/<snapshot_id>/manifest.json
 *	<archive>/<snapshot_id>/<dir>/pre-data.sql
 *	<archive>/<snapshot_id>/<dir>/data/NNN.copy[.zst|.lz4]
 *	<archive>/<snapshot_id>/<dir>/data/NNN.K.copy[.zst|.lz4]	(slice K)
 *	<archive>/<snapshot_id>/<dir>/post-data.sql
 *
 * <snapshot_id> is the UTC instant of the snapshot, "20261121T061500.123456Z"
 * (so ids sort by time).  <dir> is the schema name when it is made of
 * [a-z0-9_] only, else "schema-N" (N = position in "services"): schema
 * names never become path components unchecked.  NNN is the 1-based
 * position of the table in the load order.  A table copied in slices (TID
 * ranges, for parallelism) has several files, to be loaded in list order;
 * each is complete COPY text, so loading them one after the other (or
 * concatenating them, after decompression) gives the table.  Data files are
 * COPY text format (default delimiter, NULL \N), columns in attnum order
 * without generated columns (what "COPY table FROM" expects), compressed as
 * a whole zstd or lz4 frame when the snapshot is compressed.  Directories
 * are 0700, files 0600.
 *
 * manifest.json is written last, then the directory is renamed from
 * ".tmp-<snapshot_id>.<pid>" to <snapshot_id>.  It is one JSON object:
 *
 *	{
 *	  "format": 1,
 *	  "extension_version": "0.1",
 *	  "server_version": "15.20 ...", "server_version_num": 150020,
 *	  "system_identifier": "7301...",	(text: it does not fit a double)
 *	  "database": "app", "encoding": "UTF8",	(of the COPY files)
 *	  "snapshot_id": "20261121T061500.123456Z",
 *	  "label": "nightly" | null,
 *	  "consistent_at": "2026-11-21 06:15:00.123456+00",	(timestamptz text)
 *	  "txid_snapshot": "1001:1005:1002,1003",	(pg_current_snapshot())
 *	  "wal_insert_lsn": "0/3000190" | null,	(pg_current_wal_insert_lsn()
 *								 read under the snapshot: every transaction
 *								 it sees committed before this position;
 *								 null on a standby; absent before 0.2)
 *	  "wal_lsn": "0/3000148",	(pg_current_wal_lsn(), on a standby
 *								 pg_last_wal_replay_lsn())
 *	  "in_recovery": false,
 *	  "timeline": 1,	(of the WAL at the instant; 0 on a standby, absent
 *						 in snapshots of pg_bac before 0.2)
 *	  "compression": "none" | "zstd" | "lz4",
 *	  "workers": 2,
 *	  "duration_us": 123456,
 *	  "tables": 7, "rows": 12345, "bytes": 678901,	(totals; bytes on disk)
 *	  "services": [
 *		{ "service": "orders", "schema": "orders", "directory": "orders",
 *		  "owner": "orders_team" | null, "service_group": "shop" | null,
 *		  "pre_data": "orders/pre-data.sql",
 *		  "post_data": "orders/post-data.sql",
 *		  "extensions": ["pgcrypto"], "uncaptured": ["..."],
 *		  "extension_details": [ { "name": "pgcrypto", "version": "1.3",
 *			  "schema": "orders", "in_service_schema": true,
 *			  "relocatable": true } ],	(since 0.2: where each extension was)
 *		  "pre_data_order": [0,0, 212,5, ...],	(since 0.2: per item of
 *			  pre-data.sql, the byte offset where it begins and its
 *			  position in one dependency order over all the services of the
 *			  snapshot; the text before the first offset runs first)
 *		  "post_data_order": [...],	(the same for post-data.sql)
 *		  "tables": [
 *			{ "table": "order", "rows": 10, "bytes": 200, "raw_bytes": 400,
 *			  "files": ["orders/data/001.copy"] } ] } ],
 *	  "links": [ ...rows of bac.links at the instant, as JSON objects... ],
 *	  "files": [ { "file": "orders/pre-data.sql", "bytes": 123,
 *				   "sha256": "<64 hex>" }, ... ],	(every file but the
 *													 manifest)
 *	  "manifest_checksum": "<64 hex>"
 *	}
 *
 * The last line of the file is "manifest_checksum": the SHA-256 of every
 * byte of the file before that line, so a damaged manifest is detected too.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/manifest.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cryptohash.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "manifest.h"
#include "progress.h"

/* --- checksums --- */

/*
 * BacSha256Hex
 *		Hex text of a 32-byte digest.
 */
void
BacSha256Hex(const uint8 *digest, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < 32; i++)
	{
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0xf];
	}
	hex[64] = '\0';
}

/*
 * ManifestSha256Text
 *		SHA-256 of a buffer, as hex.
 */
static void
ManifestSha256Text(const char *data, size_t len, char *hex)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[32];

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	BacSha256Hex(digest, hex);
}

/*
 * BacSha256File
 *		SHA-256 (hex) and size of a file.
 */
void
BacSha256File(const char *path, char *hex, int64 *bytes)
{
	pg_cryptohash_ctx *ctx;
	uint8		digest[32];
	char	   *buf;
	int			fd;
	ssize_t		n;
	int64		total = 0;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256: %s", pg_cryptohash_error(ctx));
	buf = palloc(BLCKSZ * 16);
	while ((n = read(fd, buf, BLCKSZ * 16)) > 0)
	{
		CHECK_FOR_INTERRUPTS();
		if (pg_cryptohash_update(ctx, (uint8 *) buf, n) < 0)
			elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
		total += n;
	}
	if (n < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	CloseTransientFile(fd);
	pfree(buf);
	BacSha256Hex(digest, hex);
	if (bytes)
		*bytes = total;
}

/*
 * BacManifestChecksumOk
 *		Check the manifest's last line, "manifest_checksum": SHA-256 of all
 *		bytes before that line.  Sets *detail when it does not match.
 */
bool
BacManifestChecksumOk(const char *text, size_t len, char **detail)
{
	const char *key = "\"manifest_checksum\": \"";
	const char *line = NULL;
	const char *p;
	char		hex[65];

	/* the last occurrence at the start of a line */
	for (p = text; (p = strstr(p, key)) != NULL; p++)
	{
		if (p > text && p[-1] == '\n')
			line = p;
	}
	if (line == NULL || (size_t) (line - text) + strlen(key) + 64 > len)
	{
		*detail = pstrdup("manifest checksum line missing");
		return false;
	}
	ManifestSha256Text(text, line - text, hex);
	if (strncmp(line + strlen(key), hex, 64) != 0)
	{
		*detail = psprintf("manifest checksum mismatch: computed %s", hex);
		return false;
	}
	return true;
}

/* --- reading the manifest's JSON --- */

/*
 * ManifestGet
 *		Value of a key of a JSON object, or NULL when missing.
 */
static JsonbValue *
ManifestGet(JsonbContainer *obj, const char *key)
{
	if (obj == NULL || !JsonContainerIsObject(obj))
		return NULL;
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/*
 * ManifestStr
 *		String value of a key; NULL for JSON null; *ok = false when missing
 *		or of another type (unless optional).
 */
static char *
ManifestStr(JsonbContainer *obj, const char *key, bool optional, bool *ok)
{
	JsonbValue *v = ManifestGet(obj, key);

	if (v == NULL || v->type == jbvNull)
	{
		if (!optional)
			*ok = false;
		return NULL;
	}
	if (v->type != jbvString)
	{
		*ok = false;
		return NULL;
	}
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * ManifestInt
 *		Integer value of a key; *ok = false when missing or not a number.
 */
static int64
ManifestInt(JsonbContainer *obj, const char *key, bool *ok)
{
	JsonbValue *v = ManifestGet(obj, key);

	if (v == NULL || v->type != jbvNumeric)
	{
		*ok = false;
		return 0;
	}
	return DatumGetInt64(DirectFunctionCall1(numeric_int8,
											 NumericGetDatum(v->val.numeric)));
}

/*
 * ManifestCont
 *		Container (array or object) value of a key, or NULL (and *ok =
 *		false) when missing.
 */
static JsonbContainer *
ManifestCont(JsonbContainer *obj, const char *key, bool *ok)
{
	JsonbValue *v = ManifestGet(obj, key);

	if (v == NULL || v->type != jbvBinary)
	{
		*ok = false;
		return NULL;
	}
	return v->val.binary.data;
}

/*
 * ManifestStrings
 *		A JSON array of strings as a List of char *.
 */
static List *
ManifestStrings(JsonbContainer *arr, bool *ok)
{
	List	   *result = NIL;
	int			i;

	if (arr == NULL || !JsonContainerIsArray(arr))
	{
		*ok = false;
		return NIL;
	}
	for (i = 0; i < JsonContainerSize(arr); i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(arr, i);

		if (v->type != jbvString)
		{
			*ok = false;
			return NIL;
		}
		result = lappend(result, pnstrdup(v->val.string.val, v->val.string.len));
	}
	return result;
}

/*
 * ManifestOrder
 *		An optional "..._order" array of a service (pairs of a byte offset
 *		and a position in the snapshot-wide order) as a List of ints; NIL
 *		when missing (older snapshots); *ok = false when malformed.
 */
static List *
ManifestOrder(JsonbContainer *obj, const char *key, bool *ok)
{
	JsonbValue *v = ManifestGet(obj, key);
	JsonbContainer *arr;
	List	   *result = NIL;
	int			i;

	if (v == NULL)
		return NIL;
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerSize(v->val.binary.data) % 2 != 0)
	{
		*ok = false;
		return NIL;
	}
	arr = v->val.binary.data;
	for (i = 0; i < JsonContainerSize(arr); i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		int64		n;

		if (e->type != jbvNumeric)
		{
			*ok = false;
			return NIL;
		}
		n = DatumGetInt64(DirectFunctionCall1(numeric_int8,
											  NumericGetDatum(e->val.numeric)));
		if (n < 0 || n > PG_INT32_MAX)
		{
			*ok = false;
			return NIL;
		}
		result = lappend_int(result, (int) n);
	}
	return result;
}

/*
 * ManifestExtensionInfo
 *		The optional "extension_details" of a service (older snapshots have
 *		none); *ok = false when malformed.
 */
static List *
ManifestExtensionInfo(JsonbContainer *obj, bool *ok)
{
	JsonbValue *v = ManifestGet(obj, "extension_details");
	List	   *result = NIL;
	int			i;

	if (v == NULL)
		return NIL;
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
	{
		*ok = false;
		return NIL;
	}
	for (i = 0; *ok && i < JsonContainerSize(v->val.binary.data); i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(v->val.binary.data, i);
		BacExtensionInfo *ext = palloc0(sizeof(BacExtensionInfo));
		JsonbValue *b;

		if (e->type != jbvBinary)
		{
			*ok = false;
			break;
		}
		ext->name = ManifestStr(e->val.binary.data, "name", false, ok);
		ext->version = ManifestStr(e->val.binary.data, "version", false, ok);
		ext->schema = ManifestStr(e->val.binary.data, "schema", false, ok);
		b = ManifestGet(e->val.binary.data, "in_service_schema");
		if (b == NULL || b->type != jbvBool)
			*ok = false;
		else
			ext->in_service_schema = b->val.boolean;
		b = ManifestGet(e->val.binary.data, "relocatable");
		if (b == NULL || b->type != jbvBool)
			*ok = false;
		else
			ext->relocatable = b->val.boolean;
		result = lappend(result, ext);
	}
	return result;
}

/*
 * ManifestSafeRelativePath
 *		A path from a manifest must stay inside the snapshot directory: no
 *		absolute path, no "..", no empty component.
 */
static bool
ManifestSafeRelativePath(const char *path)
{
	if (path == NULL || path[0] == '\0' || path[0] == '/' ||
		path_contains_parent_reference(path) || strstr(path, "//") != NULL)
		return false;
	return true;
}

/*
 * ManifestJsonb
 *		Manifest text as jsonb, through PostgreSQL's JSON parser; NULL when
 *		it is not valid JSON and missing_ok, an error otherwise.
 */
static Jsonb *
ManifestJsonb(const char *directory, const char *json, bool missing_ok)
{
	JsonLexContext *lex;

	lex = makeJsonLexContextCstringLen(pstrdup(json), strlen(json),
									   GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("manifest of snapshot in \"%s\" is not valid JSON", directory),
				 errdetail("The manifest.json file is damaged."),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
	}
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

/*
 * ManifestCheckHeader
 *		The checks a reader makes before trusting anything else in the
 *		manifest: the archive format version (the one message for every
 *		reader), and with BAC_MANIFEST_SAME_MAJOR the server's major version.
 *		A header field that is missing is left to the full parse.
 */
static void
ManifestCheckHeader(const char *snapshot_id, JsonbContainer *root, int flags)
{
	bool		ok = true;
	int			format = (int) ManifestInt(root, "format", &ok);
	int			version;

	if (ok && format != PG_BAC_ARCHIVE_FORMAT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("snapshot \"%s\" has archive format version %d",
						snapshot_id, format),
				 errdetail("This version of pg_bac reads archive format version %d only.",
						   PG_BAC_ARCHIVE_FORMAT),
				 errhint("Restore it with the pg_bac version that wrote it.")));
	ok = true;
	version = (int) ManifestInt(root, "server_version_num", &ok);
	if ((flags & BAC_MANIFEST_SAME_MAJOR) && ok &&
		version / 10000 != PG_VERSION_NUM / 10000)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("snapshot \"%s\" was taken on PostgreSQL major version %d, this server is %d",
						snapshot_id, version / 10000, PG_VERSION_NUM / 10000),
				 errdetail("Snapshots hold SQL and COPY data written by one major version and are restored only on the same major version."),
				 errhint("Use bac.export() and psql, or pg_dump, to move data across major versions.")));
}

/*
 * ManifestHeaderFields
 *		The top-level scalar fields of the manifest into m; *ok = false when
 *		one is missing, of the wrong type or unknown.
 */
static void
ManifestHeaderFields(JsonbContainer *root, BacManifest *m, bool *ok)
{
	JsonbValue *v;
	char	   *compression;

	m->format = (int) ManifestInt(root, "format", ok);
	m->snapshot_id = ManifestStr(root, "snapshot_id", false, ok);
	m->label = ManifestStr(root, "label", true, ok);
	m->consistent_at = ManifestStr(root, "consistent_at", false, ok);
	m->txid_snapshot = ManifestStr(root, "txid_snapshot", false, ok);
	m->wal_lsn = ManifestStr(root, "wal_lsn", false, ok);
	m->wal_insert_lsn = ManifestStr(root, "wal_insert_lsn", true, ok);
	m->system_identifier = ManifestStr(root, "system_identifier", false, ok);
	m->server_version = ManifestStr(root, "server_version", false, ok);
	m->server_version_num = (int) ManifestInt(root, "server_version_num", ok);
	m->database = ManifestStr(root, "database", false, ok);
	m->encoding = ManifestStr(root, "encoding", false, ok);
	m->extension_version = ManifestStr(root, "extension_version", false, ok);
	compression = ManifestStr(root, "compression", false, ok);
	m->workers = (int) ManifestInt(root, "workers", ok);
	m->duration_us = ManifestInt(root, "duration_us", ok);
	m->tables = (int) ManifestInt(root, "tables", ok);
	m->rows = ManifestInt(root, "rows", ok);
	m->bytes = ManifestInt(root, "bytes", ok);
	v = ManifestGet(root, "in_recovery");
	m->in_recovery = (v != NULL && v->type == jbvBool && v->val.boolean);
	v = ManifestGet(root, "timeline");
	m->timeline = (v != NULL && v->type == jbvNumeric) ?
		(uint32) DatumGetInt64(DirectFunctionCall1(numeric_int8,
												   NumericGetDatum(v->val.numeric))) : 0;
	if (*ok && m->format != PG_BAC_ARCHIVE_FORMAT)
		*ok = false;
	if (*ok && !BacCompressionKnown(compression, &m->compression))
		*ok = false;
	if (*ok && !BacValidSnapshotId(m->snapshot_id))
		*ok = false;
}

/*
 * ManifestTable
 *		One entry of a service's "tables"; NULL (and *ok = false) when it
 *		is not a valid one.
 */
static BacManifestTable *
ManifestTable(JsonbValue *tv, bool *ok)
{
	JsonbContainer *to;
	BacManifestTable *t;
	ListCell   *lc;

	if (tv->type != jbvBinary)
	{
		*ok = false;
		return NULL;
	}
	to = tv->val.binary.data;
	t = palloc0(sizeof(BacManifestTable));
	t->name = ManifestStr(to, "table", false, ok);
	t->rows = ManifestInt(to, "rows", ok);
	t->bytes = ManifestInt(to, "bytes", ok);
	t->raw_bytes = ManifestInt(to, "raw_bytes", ok);
	t->files = ManifestStrings(ManifestCont(to, "files", ok), ok);
	foreach(lc, t->files)
	{
		if (!ManifestSafeRelativePath(lfirst(lc)))
			*ok = false;
	}
	return t;
}

/*
 * ManifestService
 *		One entry of "services"; NULL (and *ok = false) when it is not a
 *		valid one.
 */
static BacManifestService *
ManifestService(JsonbValue *sv, bool *ok)
{
	JsonbContainer *so;
	JsonbContainer *tarr;
	BacManifestService *s;
	int			j;

	if (sv->type != jbvBinary)
	{
		*ok = false;
		return NULL;
	}
	so = sv->val.binary.data;
	s = palloc0(sizeof(BacManifestService));
	s->service = ManifestStr(so, "service", false, ok);
	s->schema = ManifestStr(so, "schema", false, ok);
	s->directory = ManifestStr(so, "directory", true, ok);
	s->owner = ManifestStr(so, "owner", true, ok);
	s->service_group = ManifestStr(so, "service_group", true, ok);
	s->pre_data = ManifestStr(so, "pre_data", false, ok);
	s->post_data = ManifestStr(so, "post_data", false, ok);
	s->extensions = ManifestStrings(ManifestCont(so, "extensions", ok), ok);
	s->uncaptured = ManifestStrings(ManifestCont(so, "uncaptured", ok), ok);
	s->extension_info = ManifestExtensionInfo(so, ok);
	s->pre_order = ManifestOrder(so, "pre_data_order", ok);
	s->post_order = ManifestOrder(so, "post_data_order", ok);
	if (*ok && (!ManifestSafeRelativePath(s->pre_data) ||
				!ManifestSafeRelativePath(s->post_data)))
		*ok = false;
	tarr = *ok ? ManifestCont(so, "tables", ok) : NULL;
	for (j = 0; *ok && j < JsonContainerSize(tarr); j++)
		s->tables = lappend(s->tables,
							ManifestTable(getIthJsonbValueFromContainer(tarr, j), ok));
	return s;
}

/*
 * ManifestFile
 *		One entry of "files"; NULL (and *ok = false) when it is not a valid
 *		one.
 */
static BacManifestFile *
ManifestFile(JsonbValue *fv, bool *ok)
{
	BacManifestFile *f;
	char	   *sha;

	if (fv->type != jbvBinary)
	{
		*ok = false;
		return NULL;
	}
	f = palloc0(sizeof(BacManifestFile));
	f->path = ManifestStr(fv->val.binary.data, "file", false, ok);
	f->bytes = ManifestInt(fv->val.binary.data, "bytes", ok);
	sha = ManifestStr(fv->val.binary.data, "sha256", false, ok);
	if (*ok && (strlen(sha) != 64 || !ManifestSafeRelativePath(f->path)))
		*ok = false;
	if (*ok)
		strlcpy(f->sha256, sha, sizeof(f->sha256));
	return f;
}

/*
 * ManifestFromJsonb
 *		Every field of a parsed manifest; NULL when one is missing or wrong
 *		and missing_ok, an error otherwise.
 */
static BacManifest *
ManifestFromJsonb(const char *directory, Jsonb *jb, bool missing_ok)
{
	JsonbContainer *root = &jb->root;
	JsonbContainer *arr;
	BacManifest *m = palloc0(sizeof(BacManifest));
	bool		ok = true;
	int			i;

	m->directory = pstrdup(directory);
	ManifestHeaderFields(root, m, &ok);
	arr = ok ? ManifestCont(root, "services", &ok) : NULL;
	for (i = 0; ok && i < JsonContainerSize(arr); i++)
		m->services = lappend(m->services,
							  ManifestService(getIthJsonbValueFromContainer(arr, i), &ok));
	arr = ok ? ManifestCont(root, "files", &ok) : NULL;
	for (i = 0; ok && i < JsonContainerSize(arr); i++)
		m->files = lappend(m->files,
						   ManifestFile(getIthJsonbValueFromContainer(arr, i), &ok));
	if (!ok)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("manifest of snapshot in \"%s\" is not a pg_bac format %d manifest",
						directory, PG_BAC_ARCHIVE_FORMAT),
				 errdetail("A required field is missing or has the wrong type, or a path leaves the snapshot directory."),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
	}
	return m;
}

/*
 * BacParseManifest
 *		Parse manifest JSON text into a BacManifest.  A manifest that is not
 *		valid JSON or lacks a required field gives NULL when missing_ok, an
 *		error otherwise.  Does not check the manifest_checksum line (see
 *		BacReadManifest).
 */
BacManifest *
BacParseManifest(const char *directory, const char *json, bool missing_ok)
{
	Jsonb	   *jb = ManifestJsonb(directory, json, missing_ok);

	if (jb == NULL)
		return NULL;
	return ManifestFromJsonb(directory, jb, missing_ok);
}

/*
 * BacReadManifest
 *		Locate a snapshot by id and read its manifest, the one way every
 *		reader does: read the file, parse it, check the header (archive
 *		format; with BAC_MANIFEST_SAME_MAJOR the server's major version),
 *		check the manifest's own checksum, then read every field.  Errors
 *		for a bad id, a missing snapshot or a damaged manifest.  Does not
 *		check privileges (see BacCheckSnapshotPrivilege).
 */
BacManifest *
BacReadManifest(const char *snapshot_id, int flags)
{
	char	   *dir = BacSnapshotDirectory(snapshot_id);
	char	   *path = psprintf("%s/%s", dir, BAC_MANIFEST_NAME);
	char	   *mtext;
	size_t		len;
	char	   *detail;
	Jsonb	   *jb;
	BacManifest *m;

	mtext = BacReadWholeFile(path, "file", true, &len);
	if (mtext == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot \"%s\" has no manifest", snapshot_id),
				 errdetail("File \"%s\" is missing.", path),
				 errhint("Drop the snapshot with bac.drop_snapshot().")));
	jb = ManifestJsonb(dir, mtext, false);
	ManifestCheckHeader(snapshot_id, &jb->root, flags);
	if (!BacManifestChecksumOk(mtext, len, &detail))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("manifest of snapshot \"%s\" is damaged", snapshot_id),
				 errdetail("%s.", detail),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
	m = ManifestFromJsonb(dir, jb, false);
	if (strcmp(m->snapshot_id, snapshot_id) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("manifest of snapshot \"%s\" names snapshot \"%s\"",
						snapshot_id, m->snapshot_id),
				 errdetail("The directory name and the manifest disagree."),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
	return m;
}

/* --- writing the manifest --- */

/*
 * ManifestJsonStr
 *		Append a JSON string, or null for NULL.
 */
static void
ManifestJsonStr(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, s);
}

/*
 * ManifestJsonField
 *		Append "key": "value" (or null), preceded by sep.
 */
static void
ManifestJsonField(StringInfo buf, const char *sep, const char *key,
				  const char *value)
{
	appendStringInfoString(buf, sep);
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	ManifestJsonStr(buf, value);
}

/*
 * BacManifestInstantLsn
 *		The WAL position of a snapshot's instant: every transaction it sees
 *		committed before it.  pg_current_wal_insert_lsn() read under the
 *		snapshot when the manifest has it, else the older wal_lsn.
 */
XLogRecPtr
BacManifestInstantLsn(BacManifest *m)
{
	const char *lsn = m->wal_insert_lsn ? m->wal_insert_lsn : m->wal_lsn;

	return DatumGetLSN(DirectFunctionCall1(pg_lsn_in, CStringGetDatum(lsn)));
}

/*
 * ManifestJsonStrings
 *		Append a JSON array of strings.
 */
static void
ManifestJsonStrings(StringInfo buf, List *strings)
{
	ListCell   *lc;

	appendStringInfoChar(buf, '[');
	foreach(lc, strings)
	{
		if (lc != list_head(strings))
			appendStringInfoString(buf, ", ");
		ManifestJsonStr(buf, lfirst(lc));
	}
	appendStringInfoChar(buf, ']');
}

/*
 * ManifestWriteHeader
 *		The top-level scalar fields, one a line.
 */
static void
ManifestWriteHeader(StringInfo mf, BacManifest *m)
{
	appendStringInfo(mf, "{\n\"format\": %d", m->format);
	ManifestJsonField(mf, ",\n", "extension_version", m->extension_version);
	ManifestJsonField(mf, ",\n", "server_version", m->server_version);
	appendStringInfo(mf, ",\n\"server_version_num\": %d", m->server_version_num);
	ManifestJsonField(mf, ",\n", "system_identifier", m->system_identifier);
	ManifestJsonField(mf, ",\n", "database", m->database);
	ManifestJsonField(mf, ",\n", "encoding", m->encoding);
	ManifestJsonField(mf, ",\n", "snapshot_id", m->snapshot_id);
	ManifestJsonField(mf, ",\n", "label", m->label);
	ManifestJsonField(mf, ",\n", "consistent_at", m->consistent_at);
	ManifestJsonField(mf, ",\n", "txid_snapshot", m->txid_snapshot);
	ManifestJsonField(mf, ",\n", "wal_lsn", m->wal_lsn);
	ManifestJsonField(mf, ",\n", "wal_insert_lsn", m->wal_insert_lsn);
	appendStringInfo(mf, ",\n\"in_recovery\": %s", m->in_recovery ? "true" : "false");
	appendStringInfo(mf, ",\n\"timeline\": %u", m->timeline);
	ManifestJsonField(mf, ",\n", "compression", BacCompressionName(m->compression));
	appendStringInfo(mf, ",\n\"workers\": %d,\n\"duration_us\": " INT64_FORMAT ",\n",
					 m->workers, m->duration_us);
	appendStringInfo(mf, "\"tables\": %d,\n\"rows\": " INT64_FORMAT ",\n\"bytes\": " INT64_FORMAT ",\n",
					 m->tables, m->rows, m->bytes);
}

/*
 * ManifestWriteOrder
 *		A service's "..._order" array (pairs of a byte offset and a position
 *		in the snapshot-wide order), nothing when the list is empty.
 */
static void
ManifestWriteOrder(StringInfo mf, const char *key, List *order)
{
	ListCell   *lc;

	if (order == NIL)
		return;
	appendStringInfo(mf, ",\n   \"%s\": [", key);
	foreach(lc, order)
		appendStringInfo(mf, "%s%d", lc == list_head(order) ? "" : ",",
						 lfirst_int(lc));
	appendStringInfoChar(mf, ']');
}

/*
 * ManifestWriteService
 *		One entry of "services", its tables included.
 */
static void
ManifestWriteService(StringInfo mf, BacManifestService *s, bool first)
{
	ListCell   *lc;

	appendStringInfoString(mf, first ? "\n  {" : ",\n  {");
	ManifestJsonField(mf, "", "service", s->service);
	ManifestJsonField(mf, ", ", "schema", s->schema);
	ManifestJsonField(mf, ", ", "directory", s->directory);
	ManifestJsonField(mf, ", ", "owner", s->owner);
	ManifestJsonField(mf, ", ", "service_group", s->service_group);
	ManifestJsonField(mf, ",\n   ", "pre_data", s->pre_data);
	ManifestJsonField(mf, ", ", "post_data", s->post_data);
	appendStringInfoString(mf, ",\n   \"extensions\": ");
	ManifestJsonStrings(mf, s->extensions);
	appendStringInfoString(mf, ",\n   \"uncaptured\": ");
	ManifestJsonStrings(mf, s->uncaptured);
	if (s->extension_info != NIL)
	{
		appendStringInfoString(mf, ",\n   \"extension_details\": [");
		foreach(lc, s->extension_info)
		{
			BacExtensionInfo *ext = lfirst(lc);

			if (lc != list_head(s->extension_info))
				appendStringInfoString(mf, ", ");
			ManifestJsonField(mf, "{", "name", ext->name);
			ManifestJsonField(mf, ", ", "version", ext->version);
			ManifestJsonField(mf, ", ", "schema", ext->schema);
			appendStringInfo(mf, ", \"in_service_schema\": %s, \"relocatable\": %s}",
							 ext->in_service_schema ? "true" : "false",
							 ext->relocatable ? "true" : "false");
		}
		appendStringInfoChar(mf, ']');
	}
	ManifestWriteOrder(mf, "pre_data_order", s->pre_order);
	ManifestWriteOrder(mf, "post_data_order", s->post_order);
	appendStringInfoString(mf, ",\n   \"tables\": [");
	foreach(lc, s->tables)
	{
		BacManifestTable *t = lfirst(lc);

		appendStringInfoString(mf, lc == list_head(s->tables) ? "\n    {" : ",\n    {");
		ManifestJsonField(mf, "", "table", t->name);
		appendStringInfo(mf, ", \"rows\": " INT64_FORMAT ", \"bytes\": " INT64_FORMAT
						 ", \"raw_bytes\": " INT64_FORMAT ", \"files\": ",
						 t->rows, t->bytes, t->raw_bytes);
		ManifestJsonStrings(mf, t->files);
		appendStringInfoChar(mf, '}');
	}
	appendStringInfoString(mf, "]}");
}

/*
 * BacManifestText
 *		The text of manifest.json for m (the writer's one place): the fields
 *		of the format, m->links as the "links" array, and last the
 *		manifest_checksum line over every byte before it.  The text is
 *		parsed back before it is returned, so a writer bug is an error, not
 *		a snapshot nobody can read.
 */
char *
BacManifestText(BacManifest *m)
{
	StringInfoData mf;
	ListCell   *lc;
	char		hex[65];

	initStringInfo(&mf);
	ManifestWriteHeader(&mf, m);
	appendStringInfoString(&mf, "\"services\": [");
	foreach(lc, m->services)
		ManifestWriteService(&mf, lfirst(lc), lc == list_head(m->services));
	appendStringInfoString(&mf, "],\n\"links\": ");
	appendStringInfoString(&mf, m->links ? m->links : "[]");
	appendStringInfoString(&mf, ",\n\"files\": [");
	foreach(lc, m->files)
	{
		BacManifestFile *f = lfirst(lc);

		appendStringInfoString(&mf, lc == list_head(m->files) ? "\n    {" : ",\n    {");
		ManifestJsonField(&mf, "", "file", f->path);
		appendStringInfo(&mf, ", \"bytes\": " INT64_FORMAT, f->bytes);
		ManifestJsonField(&mf, ", ", "sha256", f->sha256);
		appendStringInfoChar(&mf, '}');
	}
	appendStringInfoString(&mf, "\n],\n");
	/* the last line checks every byte before it */
	ManifestSha256Text(mf.data, mf.len, hex);
	appendStringInfo(&mf, "\"manifest_checksum\": \"%s\"}\n", hex);

	(void) BacParseManifest(m->directory, mf.data, false);
	return mf.data;
}

/* --- lookups --- */

/*
 * BacManifestFindService
 *		The service of the manifest named name; error if the snapshot does
 *		not have it.
 */
BacManifestService *
BacManifestFindService(BacManifest *m, const char *name)
{
	ListCell   *lc;
	StringInfoData have;

	foreach(lc, m->services)
	{
		BacManifestService *s = lfirst(lc);

		if (strcmp(s->service, name) == 0)
			return s;
	}
	initStringInfo(&have);
	foreach(lc, m->services)
		appendStringInfo(&have, "%s%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(((BacManifestService *) lfirst(lc))->service));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("service \"%s\" is not in snapshot \"%s\"", name, m->snapshot_id),
			 errdetail("The snapshot holds the services: %s.", have.data),
			 errhint("Pick a snapshot that contains the service; bac.snapshots() lists them.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * BacManifestServiceFiles
 *		The relative paths of every file of the service that a restore or
 *		an export checks: its two scripts, its data files in load order, and
 *		its restore.sql where the manifest lists one (a damaged file of the
 *		service refuses the whole restore, even one pg_bac does not read).
 */
List *
BacManifestServiceFiles(BacManifest *m, BacManifestService *svc)
{
	List	   *paths = NIL;
	char	   *plain = psprintf("%s/%s", svc->directory, BAC_PLAIN_SCRIPT_NAME);
	ListCell   *lc;

	paths = lappend(paths, svc->pre_data);
	paths = lappend(paths, svc->post_data);
	foreach(lc, svc->tables)
		paths = list_concat(paths, ((BacManifestTable *) lfirst(lc))->files);
	foreach(lc, m->files)
	{
		if (strcmp(((BacManifestFile *) lfirst(lc))->path, plain) == 0)
			return lappend(paths, plain);
	}
	pfree(plain);
	return paths;
}

/* --- checking files against the manifest --- */

/*
 * ManifestPathThroughLink
 *		True if a directory on the way from the snapshot directory to the
 *		file (relative path rel) is a symbolic link or not a directory: the
 *		file would then be read from outside the archive directory.
 */
static bool
ManifestPathThroughLink(const char *directory, const char *rel)
{
	char	   *path = psprintf("%s/%s", directory, rel);
	char	   *p = path + strlen(directory) + 1;
	bool		bad = false;

	while ((p = strchr(p, '/')) != NULL)
	{
		struct stat st;

		*p = '\0';
		if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			bad = true;
		*p = '/';
		if (bad)
			break;
		p++;
	}
	pfree(path);
	return bad;
}

/*
 * ManifestVerifyOneFile
 *		Check one file of a snapshot against its manifest entry.  The file
 *		must be a regular file reached through real directories: no link
 *		leads out of the snapshot directory.
 */
static BacVerifyResult *
ManifestVerifyOneFile(BacManifest *m, BacManifestFile *f)
{
	BacVerifyResult *r = palloc0(sizeof(BacVerifyResult));
	char	   *path = psprintf("%s/%s", m->directory, f->path);
	struct stat st;
	char		hex[65];
	int64		bytes;

	r->file = pstrdup(f->path);
	if (ManifestPathThroughLink(m->directory, f->path))
	{
		r->ok = false;
		r->detail = pstrdup("a directory on its path is a symbolic link or not a directory");
		return r;
	}
	if (lstat(path, &st) != 0)
	{
		r->ok = false;
		r->detail = psprintf("missing: %s", strerror(errno));
		return r;
	}
	if (!S_ISREG(st.st_mode))
	{
		r->ok = false;
		r->detail = pstrdup("not a regular file");
		return r;
	}
	BacProgressTable(f->path);
	BacSha256File(path, hex, &bytes);
	BacProgressVerified(bytes);
	if (bytes != f->bytes)
		r->detail = psprintf("size %lld, manifest says %lld",
							 (long long) bytes, (long long) f->bytes);
	else if (strcmp(hex, f->sha256) != 0)
		r->detail = psprintf("sha256 %s, manifest says %s", hex, f->sha256);
	r->ok = (r->detail == NULL);
	if (r->ok)
		r->detail = psprintf("%lld bytes, sha256 ok", (long long) bytes);
	pfree(path);
	return r;
}

/*
 * BacVerifyFiles
 *		Recompute the checksums of the given files (relative paths; NIL =
 *		every file the manifest lists) and return a BacVerifyResult each.  A
 *		path the manifest does not list is reported as not ok.
 */
List *
BacVerifyFiles(BacManifest *m, List *paths)
{
	List	   *result = NIL;
	ListCell   *lc;

	if (paths == NIL)
	{
		foreach(lc, m->files)
			result = lappend(result, ManifestVerifyOneFile(m, lfirst(lc)));
		return result;
	}
	foreach(lc, paths)
	{
		char	   *p = lfirst(lc);
		BacManifestFile *found = NULL;
		ListCell   *lc2;

		foreach(lc2, m->files)
		{
			BacManifestFile *f = lfirst(lc2);

			if (strcmp(f->path, p) == 0)
			{
				found = f;
				break;
			}
		}
		if (found)
			result = lappend(result, ManifestVerifyOneFile(m, found));
		else
		{
			BacVerifyResult *r = palloc0(sizeof(BacVerifyResult));

			r->file = pstrdup(p);
			r->ok = false;
			r->detail = pstrdup("not listed in the manifest");
			result = lappend(result, r);
		}
	}
	return result;
}

/*
 * BacVerifyFilesOrError
 *		As BacVerifyFiles, but raise an error naming the first bad file.
 *		Restore calls this before it touches anything.
 */
void
BacVerifyFilesOrError(BacManifest *m, List *paths)
{
	List	   *results = BacVerifyFiles(m, paths);
	ListCell   *lc;

	foreach(lc, results)
	{
		BacVerifyResult *r = lfirst(lc);

		if (!r->ok)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("file \"%s\" of snapshot \"%s\" is damaged",
							r->file, m->snapshot_id),
					 errdetail("%s.", r->detail),
					 errhint("Check the snapshot with bac.verify_snapshot() and use another snapshot.")));
	}
}

