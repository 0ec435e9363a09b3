/*-------------------------------------------------------------------------
 *
 * archive.c
 *		The archive directory: where it is, snapshot directories and their
 *		manifests, checksums, and the catalogue functions bac.snapshots(),
 *		bac.verify_snapshot(), bac.drop_snapshot(), bac.prune_snapshots().
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
 *	  "wal_lsn": "0/3000148",	(pg_current_wal_lsn(), on a standby
 *								 pg_last_wal_replay_lsn())
 *	  "in_recovery": false,
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
 *		src/archive.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands/dbcommands.h"
#include "common/cryptohash.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/pg_lsn.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "pg_bac.h"

#define MANIFEST_NAME		"manifest.json"
#define MANIFEST_MAX_SIZE	(256 * 1024 * 1024)
#define TEMP_PREFIX			".tmp-"

/*
 * BacArchiveDirectory
 *		The absolute path of the archive directory (bac.archive_directory,
 *		relative to the data directory unless absolute).  With create, make
 *		it (0700) when it is missing and clean stale temporary directories.
 */
char *
BacArchiveDirectory(bool create)
{
	char	   *path;
	struct stat st;

	if (bac_archive_directory == NULL || bac_archive_directory[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bac.archive_directory is not set"),
				 errdetail("Snapshots are written under the directory this setting names."),
				 errhint("Set bac.archive_directory in postgresql.conf and reload.")));
	if (is_absolute_path(bac_archive_directory))
		path = pstrdup(bac_archive_directory);
	else
		path = psprintf("%s/%s", DataDir, bac_archive_directory);
	canonicalize_path(path);

	if (stat(path, &st) != 0)
	{
		if (errno != ENOENT || !create)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not access archive directory \"%s\": %m", path),
					 errdetail("bac.archive_directory names a directory that cannot be used."),
					 errhint("Create the directory for the server's operating system user, or change bac.archive_directory.")));
		if (pg_mkdir_p(path, S_IRWXU) != 0 && errno != EEXIST)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create archive directory \"%s\": %m", path),
					 errdetail("bac.archive_directory names a directory that does not exist and cannot be created."),
					 errhint("Create the directory for the server's operating system user, or change bac.archive_directory.")));
	}
	else if (!S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("archive directory \"%s\" is not a directory", path),
				 errdetail("bac.archive_directory must name a directory."),
				 errhint("Change bac.archive_directory.")));
	if (create)
		BacCleanStaleTempDirs(path);
	return path;
}

/*
 * BacValidSnapshotId
 *		True if the string has exactly the shape of a snapshot id,
 *		YYYYMMDDTHHMMSS.ffffffZ.  Nothing else ever becomes a path component.
 */
bool
BacValidSnapshotId(const char *snapshot_id)
{
	const char *shape = "ddddddddTdddddd.ddddddZ";
	int			i;

	if (snapshot_id == NULL || strlen(snapshot_id) != BAC_SNAPSHOT_ID_LEN)
		return false;
	for (i = 0; i < BAC_SNAPSHOT_ID_LEN; i++)
	{
		if (shape[i] == 'd')
		{
			if (snapshot_id[i] < '0' || snapshot_id[i] > '9')
				return false;
		}
		else if (snapshot_id[i] != shape[i])
			return false;
	}
	return true;
}

/*
 * BacSnapshotDirectory
 *		The absolute directory of an existing snapshot; errors for an id of
 *		the wrong shape or a snapshot that does not exist.
 */
char *
BacSnapshotDirectory(const char *snapshot_id)
{
	char	   *archive;
	char	   *dir;
	struct stat st;

	if (!BacValidSnapshotId(snapshot_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid snapshot id \"%s\"", snapshot_id),
				 errdetail("A snapshot id has the form %s.", BAC_SNAPSHOT_ID_PATTERN),
				 errhint("Use a snapshot_id listed by bac.snapshots().")));
	archive = BacArchiveDirectory(true);
	dir = psprintf("%s/%s", archive, snapshot_id);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("snapshot \"%s\" does not exist", snapshot_id),
				 errdetail("The archive directory has no snapshot with this id."),
				 errhint("Use a snapshot_id listed by bac.snapshots().")));
	return dir;
}

/*
 * BacCleanStaleTempDirs
 *		Remove ".tmp-<id>.<pid>" directories whose backend is gone: leftovers
 *		of a crash or of a server stop in the middle of a snapshot.  A live
 *		backend's temporary directory is left alone.
 */
void
BacCleanStaleTempDirs(const char *archive)
{
	DIR		   *dir;
	struct dirent *de;

	dir = AllocateDir(archive);
	while ((de = ReadDir(dir, archive)) != NULL)
	{
		char	   *dot;
		long		pid;

		CHECK_FOR_INTERRUPTS();
		if (strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0)
			continue;
		dot = strrchr(de->d_name, '.');
		pid = dot ? strtol(dot + 1, NULL, 10) : 0;
		if (pid > 0 && pid != MyProcPid && BackendPidGetProc((int) pid) != NULL)
			continue;
		if (pid == MyProcPid)
			continue;			/* ours, in use or cleaned by our caller */
		{
			char	   *path = psprintf("%s/%s", archive, de->d_name);

			if (!rmtree(path, true))
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("could not remove stale temporary directory \"%s\"", path)));
			else
				ereport(DEBUG1,
						(errmsg("removed stale temporary directory \"%s\"", path)));
			pfree(path);
		}
	}
	FreeDir(dir);
}

/*
 * BacFsyncPath
 *		fsync a file or a directory; any failure is an ERROR (the snapshot
 *		is then abandoned, so PANIC as for the server's own files is not
 *		needed).
 */
void
BacFsyncPath(const char *path, bool isdir)
{
	if (fsync_fname_ext(path, isdir, false, ERROR) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync \"%s\": %m", path)));
}

/*
 * BacSha256Hex
 *		Hex text of a 32-byte digest.
 */
static void
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
 * BacSha256Text
 *		SHA-256 of a buffer, as hex.
 */
void
BacSha256Text(const char *data, size_t len, char *hex)
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
 * BacCompressionName
 *		The name of a compression method, as the manifest records it.
 */
const char *
BacCompressionName(BacCompression c)
{
	switch (c)
	{
		case BAC_COMPRESSION_ZSTD:
			return "zstd";
		case BAC_COMPRESSION_LZ4:
			return "lz4";
		default:
			return "none";
	}
}

/*
 * BacCompressionFromName
 *		The compression method of a name (NULL = none); an unknown name is a
 *		user error.
 */
BacCompression
BacCompressionFromName(const char *name)
{
	if (name == NULL || strcmp(name, "none") == 0)
		return BAC_COMPRESSION_NONE;
	if (strcmp(name, "zstd") == 0)
		return BAC_COMPRESSION_ZSTD;
	if (strcmp(name, "lz4") == 0)
		return BAC_COMPRESSION_LZ4;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown compression \"%s\"", name),
			 errdetail("pg_bac compresses data files with zstd or lz4, or not at all."),
			 errhint("Valid values are \"none\", \"zstd\" and \"lz4\".")));
	return BAC_COMPRESSION_NONE;	/* keep compiler quiet */
}

/*
 * BacReadWholeFile
 *		Read a small file into a NUL-terminated palloc'd buffer; NULL if it
 *		does not exist and missing_ok.
 */
static char *
BacReadWholeFile(const char *path, size_t *len, bool missing_ok)
{
	int			fd;
	struct stat st;
	char	   *buf;
	size_t		done = 0;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (missing_ok && errno == ENOENT)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	}
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	if (st.st_size > MANIFEST_MAX_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("file \"%s\" is too large", path)));
	buf = palloc(st.st_size + 1);
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + done, st.st_size - done);

		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", path)));
		if (n == 0)
			break;
		done += n;
	}
	CloseTransientFile(fd);
	buf[done] = '\0';
	*len = done;
	return buf;
}

/*
 * BacManifestChecksumOk
 *		Check the manifest's last line, "manifest_checksum": SHA-256 of all
 *		bytes before that line.  Sets *detail when it does not match.
 */
static bool
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
	BacSha256Text(text, line - text, hex);
	if (strncmp(line + strlen(key), hex, 64) != 0)
	{
		*detail = psprintf("manifest checksum mismatch: computed %s", hex);
		return false;
	}
	return true;
}

/* --- reading the manifest's JSON --- */

/*
 * Jget
 *		Value of a key of a JSON object, or NULL when missing.
 */
static JsonbValue *
Jget(JsonbContainer *obj, const char *key)
{
	if (obj == NULL || !JsonContainerIsObject(obj))
		return NULL;
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/*
 * Jstr
 *		String value of a key; NULL for JSON null; *ok = false when missing
 *		or of another type (unless optional).
 */
static char *
Jstr(JsonbContainer *obj, const char *key, bool optional, bool *ok)
{
	JsonbValue *v = Jget(obj, key);

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
 * Jint
 *		Integer value of a key; *ok = false when missing or not a number.
 */
static int64
Jint(JsonbContainer *obj, const char *key, bool *ok)
{
	JsonbValue *v = Jget(obj, key);

	if (v == NULL || v->type != jbvNumeric)
	{
		*ok = false;
		return 0;
	}
	return DatumGetInt64(DirectFunctionCall1(numeric_int8,
											 NumericGetDatum(v->val.numeric)));
}

/*
 * Jcont
 *		Container (array or object) value of a key, or NULL (and *ok =
 *		false) when missing.
 */
static JsonbContainer *
Jcont(JsonbContainer *obj, const char *key, bool *ok)
{
	JsonbValue *v = Jget(obj, key);

	if (v == NULL || v->type != jbvBinary)
	{
		*ok = false;
		return NULL;
	}
	return v->val.binary.data;
}

/*
 * Jelem
 *		i-th element of a JSON array.
 */
static JsonbValue *
Jelem(JsonbContainer *arr, int i)
{
	return getIthJsonbValueFromContainer(arr, i);
}

/*
 * Jstrings
 *		A JSON array of strings as a List of char *.
 */
static List *
Jstrings(JsonbContainer *arr, bool *ok)
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
		JsonbValue *v = Jelem(arr, i);

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
 * BacSafeRelativePath
 *		A path from a manifest must stay inside the snapshot directory: no
 *		absolute path, no "..", no empty component.
 */
static bool
BacSafeRelativePath(const char *path)
{
	if (path == NULL || path[0] == '\0' || path[0] == '/' ||
		path_contains_parent_reference(path) || strstr(path, "//") != NULL)
		return false;
	return true;
}

/*
 * BacParseManifest
 *		Parse manifest JSON text into a BacManifest.  A manifest that is not
 *		valid JSON or lacks a required field gives NULL when missing_ok, an
 *		error otherwise.  Uses PostgreSQL's JSON parser and jsonb.
 */
BacManifest *
BacParseManifest(const char *directory, const char *json, bool missing_ok)
{
	JsonLexContext *lex;
	Jsonb	   *jb;
	JsonbContainer *root;
	JsonbContainer *arr;
	BacManifest *m;
	bool		ok = true;
	char	   *compression;
	int			i;

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
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	root = &jb->root;

	m = palloc0(sizeof(BacManifest));
	m->directory = pstrdup(directory);
	m->json = jb;
	m->format = (int) Jint(root, "format", &ok);
	m->snapshot_id = Jstr(root, "snapshot_id", false, &ok);
	m->label = Jstr(root, "label", true, &ok);
	m->consistent_at = Jstr(root, "consistent_at", false, &ok);
	m->txid_snapshot = Jstr(root, "txid_snapshot", false, &ok);
	m->wal_lsn = Jstr(root, "wal_lsn", false, &ok);
	m->system_identifier = Jstr(root, "system_identifier", false, &ok);
	m->server_version = Jstr(root, "server_version", false, &ok);
	m->server_version_num = (int) Jint(root, "server_version_num", &ok);
	m->database = Jstr(root, "database", false, &ok);
	m->encoding = Jstr(root, "encoding", false, &ok);
	m->extension_version = Jstr(root, "extension_version", false, &ok);
	compression = Jstr(root, "compression", false, &ok);
	m->workers = (int) Jint(root, "workers", &ok);
	m->duration_us = Jint(root, "duration_us", &ok);
	m->tables = (int) Jint(root, "tables", &ok);
	m->rows = Jint(root, "rows", &ok);
	m->bytes = Jint(root, "bytes", &ok);
	{
		JsonbValue *v = Jget(root, "in_recovery");

		m->in_recovery = (v != NULL && v->type == jbvBool && v->val.boolean);
	}
	if (ok && m->format != PG_BAC_ARCHIVE_FORMAT)
		ok = false;
	if (ok && compression != NULL)
	{
		if (strcmp(compression, "zstd") == 0)
			m->compression = BAC_COMPRESSION_ZSTD;
		else if (strcmp(compression, "lz4") == 0)
			m->compression = BAC_COMPRESSION_LZ4;
		else if (strcmp(compression, "none") == 0)
			m->compression = BAC_COMPRESSION_NONE;
		else
			ok = false;
	}

	/* services */
	arr = ok ? Jcont(root, "services", &ok) : NULL;
	for (i = 0; ok && i < JsonContainerSize(arr); i++)
	{
		JsonbValue *sv = Jelem(arr, i);
		JsonbContainer *so;
		JsonbContainer *tarr;
		BacManifestService *s;
		int			j;

		if (sv->type != jbvBinary)
		{
			ok = false;
			break;
		}
		so = sv->val.binary.data;
		s = palloc0(sizeof(BacManifestService));
		s->service = Jstr(so, "service", false, &ok);
		s->schema = Jstr(so, "schema", false, &ok);
		s->owner = Jstr(so, "owner", true, &ok);
		s->service_group = Jstr(so, "service_group", true, &ok);
		s->pre_data = Jstr(so, "pre_data", false, &ok);
		s->post_data = Jstr(so, "post_data", false, &ok);
		s->extensions = Jstrings(Jcont(so, "extensions", &ok), &ok);
		s->uncaptured = Jstrings(Jcont(so, "uncaptured", &ok), &ok);
		if (ok && (!BacSafeRelativePath(s->pre_data) ||
				   !BacSafeRelativePath(s->post_data)))
			ok = false;
		tarr = ok ? Jcont(so, "tables", &ok) : NULL;
		for (j = 0; ok && j < JsonContainerSize(tarr); j++)
		{
			JsonbValue *tv = Jelem(tarr, j);
			JsonbContainer *to;
			BacManifestTable *t;
			ListCell   *lc;

			if (tv->type != jbvBinary)
			{
				ok = false;
				break;
			}
			to = tv->val.binary.data;
			t = palloc0(sizeof(BacManifestTable));
			t->name = Jstr(to, "table", false, &ok);
			t->rows = Jint(to, "rows", &ok);
			t->bytes = Jint(to, "bytes", &ok);
			t->raw_bytes = Jint(to, "raw_bytes", &ok);
			t->files = Jstrings(Jcont(to, "files", &ok), &ok);
			foreach(lc, t->files)
			{
				if (!BacSafeRelativePath(lfirst(lc)))
					ok = false;
			}
			s->tables = lappend(s->tables, t);
		}
		m->services = lappend(m->services, s);
	}

	/* files */
	arr = ok ? Jcont(root, "files", &ok) : NULL;
	for (i = 0; ok && i < JsonContainerSize(arr); i++)
	{
		JsonbValue *fv = Jelem(arr, i);
		BacManifestFile *f;
		char	   *sha;

		if (fv->type != jbvBinary)
		{
			ok = false;
			break;
		}
		f = palloc0(sizeof(BacManifestFile));
		f->path = Jstr(fv->val.binary.data, "file", false, &ok);
		f->bytes = Jint(fv->val.binary.data, "bytes", &ok);
		sha = Jstr(fv->val.binary.data, "sha256", false, &ok);
		if (ok && (strlen(sha) != 64 || !BacSafeRelativePath(f->path)))
			ok = false;
		if (ok)
			strlcpy(f->sha256, sha, sizeof(f->sha256));
		m->files = lappend(m->files, f);
	}

	if (ok && !BacValidSnapshotId(m->snapshot_id))
		ok = false;

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
 * BacReadManifest
 *		Locate a snapshot by id and read its manifest, checking the
 *		manifest's own checksum.  Errors for a bad id, a missing snapshot or
 *		a damaged manifest.  Does not check privileges (see
 *		BacCheckSnapshotPrivilege).
 */
BacManifest *
BacReadManifest(const char *snapshot_id)
{
	char	   *dir = BacSnapshotDirectory(snapshot_id);
	char	   *path = psprintf("%s/%s", dir, MANIFEST_NAME);
	char	   *mtext;
	size_t		len;
	char	   *detail;
	BacManifest *m;

	mtext = BacReadWholeFile(path, &len, true);
	if (mtext == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot \"%s\" has no manifest", snapshot_id),
				 errdetail("File \"%s\" is missing.", path),
				 errhint("Drop the snapshot with bac.drop_snapshot().")));
	if (!BacManifestChecksumOk(mtext, len, &detail))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("manifest of snapshot \"%s\" is damaged", snapshot_id),
				 errdetail("%s.", detail),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
	m = BacParseManifest(dir, mtext, false);
	if (strcmp(m->snapshot_id, snapshot_id) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("manifest of snapshot \"%s\" names snapshot \"%s\"",
						snapshot_id, m->snapshot_id),
				 errdetail("The directory name and the manifest disagree."),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
	return m;
}

/*
 * BacVerifyOneFile
 *		Check one file of a snapshot against its manifest entry.
 */
static BacVerifyResult *
BacVerifyOneFile(BacManifest *m, BacManifestFile *f)
{
	BacVerifyResult *r = palloc0(sizeof(BacVerifyResult));
	char	   *path = psprintf("%s/%s", m->directory, f->path);
	struct stat st;
	char		hex[65];
	int64		bytes;

	r->file = pstrdup(f->path);
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
	BacSha256File(path, hex, &bytes);
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
			result = lappend(result, BacVerifyOneFile(m, lfirst(lc)));
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
			result = lappend(result, BacVerifyOneFile(m, found));
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

/*
 * BacMaySeeSnapshot
 *		A superuser may act on every snapshot; another role only on
 *		snapshots whose every schema exists and is owned by it.
 */
bool
BacMaySeeSnapshot(BacManifest *m)
{
	ListCell   *lc;

	if (superuser())
		return true;
	foreach(lc, m->services)
	{
		BacManifestService *s = lfirst(lc);
		Oid			nspoid = BacSchemaOid(s->schema, true);

		if (!OidIsValid(nspoid) ||
			!pg_namespace_ownercheck(nspoid, GetUserId()))
			return false;
	}
	return true;
}

/*
 * BacCheckSnapshotPrivilege
 *		Error unless the caller may act on every service of the snapshot.
 */
void
BacCheckSnapshotPrivilege(BacManifest *m, const char *action)
{
	if (!BacMaySeeSnapshot(m))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s snapshot \"%s\"",
						action, m->snapshot_id),
				 errdetail("Only a superuser, or the owner of every schema in the snapshot, may %s it.",
						   action),
				 errhint("Run this as a superuser or as the role that owns the schemas.")));
}

/*
 * BacStrcmpList
 *		list_sort comparator for a List of char *.
 */
static int
BacStrcmpList(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/*
 * BacListSnapshots
 *		The manifests of every valid snapshot of the current database in
 *		the archive, sorted by id.
 *		Directories without a readable manifest are skipped with a WARNING;
 *		temporary directories are never listed.
 */
static List *
BacListSnapshots(const char *archive)
{
	DIR		   *dir;
	struct dirent *de;
	List	   *ids = NIL;
	List	   *result = NIL;
	ListCell   *lc;

	dir = AllocateDir(archive);
	while ((de = ReadDir(dir, archive)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		if (BacValidSnapshotId(de->d_name))
			ids = lappend(ids, pstrdup(de->d_name));
	}
	FreeDir(dir);
	list_sort(ids, BacStrcmpList);

	foreach(lc, ids)
	{
		char	   *id = lfirst(lc);
		char	   *sdir = psprintf("%s/%s", archive, id);
		char	   *path = psprintf("%s/%s", sdir, MANIFEST_NAME);
		size_t		len;
		char	   *mtext;
		BacManifest *m;

		CHECK_FOR_INTERRUPTS();
		mtext = BacReadWholeFile(path, &len, true);
		m = mtext ? BacParseManifest(sdir, mtext, true) : NULL;
		if (m == NULL || strcmp(m->snapshot_id, id) != 0)
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("skipping snapshot directory \"%s\": no valid manifest", sdir)));
			continue;
		}
		/* the archive directory is per cluster; list this database's */
		if (strcmp(m->database, get_database_name(MyDatabaseId)) != 0)
			continue;
		result = lappend(result, m);
	}
	return result;
}

/*
 * BacManifestServicesArray
 *		The service names of a manifest as a name[] datum.
 */
static Datum
BacManifestServicesArray(BacManifest *m)
{
	int			n = list_length(m->services);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, m->services)
	{
		BacManifestService *s = lfirst(lc);
		Name		nm = palloc0(NAMEDATALEN);

		namestrcpy(nm, s->service);
		elems[i++] = NameGetDatum(nm);
	}
	return PointerGetDatum(construct_array(elems, n, NAMEOID, NAMEDATALEN,
										   false, TYPALIGN_CHAR));
}

/*
 * bac.snapshots() RETURNS TABLE (snapshot_id text, label text,
 *		consistent_at timestamptz, services name[], tables int, rows bigint,
 *		bytes bigint, compression text, workers int, duration interval,
 *		txid_snapshot text, wal_lsn pg_lsn, in_recovery boolean,
 *		server_version text, format int)
 *
 *		Every valid snapshot in the archive, read from the manifests on disk
 *		(the directory is the source of truth), oldest first.  A role that
 *		is not superuser sees only snapshots of schemas it owns.  Stale
 *		temporary directories are cleaned on the way.
 */
PG_FUNCTION_INFO_V1(bac_snapshots);
Datum
bac_snapshots(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *archive;
	List	   *manifests;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	archive = BacArchiveDirectory(true);
	manifests = BacListSnapshots(archive);
	foreach(lc, manifests)
	{
		BacManifest *m = lfirst(lc);
		Datum		values[15];
		bool		nulls[15] = {0};

		if (!BacMaySeeSnapshot(m))
			continue;
		values[0] = CStringGetTextDatum(m->snapshot_id);
		if (m->label)
			values[1] = CStringGetTextDatum(m->label);
		else
			nulls[1] = true;
		values[2] = DirectFunctionCall3(timestamptz_in,
										CStringGetDatum(m->consistent_at),
										ObjectIdGetDatum(InvalidOid),
										Int32GetDatum(-1));
		values[3] = BacManifestServicesArray(m);
		values[4] = Int32GetDatum(m->tables);
		values[5] = Int64GetDatum(m->rows);
		values[6] = Int64GetDatum(m->bytes);
		values[7] = CStringGetTextDatum(BacCompressionName(m->compression));
		values[8] = Int32GetDatum(m->workers);
		{
			Interval   *iv = palloc0(sizeof(Interval));

			iv->time = m->duration_us;
			values[9] = IntervalPGetDatum(iv);
		}
		values[10] = CStringGetTextDatum(m->txid_snapshot);
		values[11] = DirectFunctionCall1(pg_lsn_in, CStringGetDatum(m->wal_lsn));
		values[12] = BoolGetDatum(m->in_recovery);
		values[13] = CStringGetTextDatum(m->server_version);
		values[14] = Int32GetDatum(m->format);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * bac.verify_snapshot(snapshot_id text) RETURNS TABLE (file text,
 *		ok boolean, detail text)
 *
 *		Recompute the checksum of every file of the snapshot, the manifest
 *		included, and report each.  Files in the snapshot directory that the
 *		manifest does not list are reported too.
 */
PG_FUNCTION_INFO_V1(bac_verify_snapshot);
Datum
bac_verify_snapshot(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *id;
	char	   *dir;
	char	   *path;
	char	   *mtext;
	size_t		len;
	char	   *detail = NULL;
	bool		manifest_ok;
	BacManifest *m;
	List	   *results;
	ListCell   *lc;
	Datum		values[3];
	bool		nulls[3] = {0};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("snapshot_id must not be null"),
				 errdetail("bac.verify_snapshot() checks one snapshot."),
				 errhint("Use a snapshot_id listed by bac.snapshots().")));
	id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	InitMaterializedSRF(fcinfo, 0);
	dir = BacSnapshotDirectory(id);
	path = psprintf("%s/%s", dir, MANIFEST_NAME);
	mtext = BacReadWholeFile(path, &len, true);
	if (mtext == NULL)
	{
		manifest_ok = false;
		detail = pstrdup("missing");
	}
	else
		manifest_ok = BacManifestChecksumOk(mtext, len, &detail);
	m = mtext ? BacParseManifest(dir, mtext, true) : NULL;
	if (m == NULL && manifest_ok)
	{
		manifest_ok = false;
		detail = pstrdup("not a valid manifest");
	}
	if (m != NULL)
		BacCheckSnapshotPrivilege(m, "verify");
	else if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to verify snapshot \"%s\"", id),
				 errdetail("The manifest is damaged, so the snapshot's owners are unknown."),
				 errhint("Ask a superuser to check it.")));

	values[0] = CStringGetTextDatum(MANIFEST_NAME);
	values[1] = BoolGetDatum(manifest_ok);
	values[2] = CStringGetTextDatum(manifest_ok ? "manifest checksum ok" : detail);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	if (m == NULL)
		return (Datum) 0;

	results = BacVerifyFiles(m, NIL);
	foreach(lc, results)
	{
		BacVerifyResult *r = lfirst(lc);

		values[0] = CStringGetTextDatum(r->file);
		values[1] = BoolGetDatum(r->ok);
		values[2] = CStringGetTextDatum(r->detail);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * BacRemoveSnapshotDir
 *		Remove a snapshot directory so that no crash leaves it half-listed:
 *		first rename it to a temporary name (it stops being a snapshot at
 *		once), fsync the archive, then delete the files.
 */
static void
BacRemoveSnapshotDir(const char *archive, const char *snapshot_id)
{
	char	   *from = psprintf("%s/%s", archive, snapshot_id);
	char	   *to = psprintf("%s/%s%s.%d", archive, TEMP_PREFIX, snapshot_id, MyProcPid);

	if (rename(from, to) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename \"%s\" to \"%s\": %m", from, to)));
	BacFsyncPath(archive, true);
	if (!rmtree(to, true))
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove directory \"%s\"", to),
				 errhint("It is removed the next time a pg_bac function reads the archive.")));
}

/*
 * bac.drop_snapshot(snapshot_id text) RETURNS void
 *		Delete a snapshot from the archive.
 */
PG_FUNCTION_INFO_V1(bac_drop_snapshot);
Datum
bac_drop_snapshot(PG_FUNCTION_ARGS)
{
	char	   *id;
	BacManifest *m;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("snapshot_id must not be null"),
				 errdetail("bac.drop_snapshot() drops one snapshot."),
				 errhint("Use a snapshot_id listed by bac.snapshots().")));
	id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!superuser())
	{
		m = BacReadManifest(id);
		BacCheckSnapshotPrivilege(m, "drop");
	}
	else
		(void) BacSnapshotDirectory(id);	/* validates id and existence */
	BacRemoveSnapshotDir(BacArchiveDirectory(true), id);
	PG_RETURN_VOID();
}

/*
 * bac.prune_snapshots(keep_last int DEFAULT NULL,
 *		older_than interval DEFAULT NULL) RETURNS int
 *
 *		Drop snapshots that are not among the newest keep_last and (when
 *		given) are older than older_than; with only one argument given, that
 *		one decides.  Only snapshots the caller may act on are considered.
 *		Returns how many were dropped.
 */
PG_FUNCTION_INFO_V1(bac_prune_snapshots);
Datum
bac_prune_snapshots(PG_FUNCTION_ARGS)
{
	bool		have_keep = !PG_ARGISNULL(0);
	bool		have_older = !PG_ARGISNULL(1);
	int32		keep_last = have_keep ? PG_GETARG_INT32(0) : 0;
	TimestampTz cutoff = 0;
	char	   *archive;
	List	   *manifests;
	List	   *mine = NIL;
	ListCell   *lc;
	int			n;
	int			i = 0;
	int			dropped = 0;

	if (!have_keep && !have_older)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("keep_last and older_than must not both be null"),
				 errdetail("Without either, bac.prune_snapshots() would not know what to keep."),
				 errhint("Give keep_last => N, older_than => interval, or both.")));
	if (have_keep && keep_last < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("keep_last must not be negative"),
				 errdetail("keep_last is how many of the newest snapshots to keep."),
				 errhint("Use 0 or a positive number.")));
	if (have_older)
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(1);

		cutoff = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
														 TimestampTzGetDatum(GetCurrentTimestamp()),
														 IntervalPGetDatum(iv)));
	}

	archive = BacArchiveDirectory(true);
	manifests = BacListSnapshots(archive);
	foreach(lc, manifests)
	{
		if (BacMaySeeSnapshot(lfirst(lc)))
			mine = lappend(mine, lfirst(lc));
	}
	n = list_length(mine);
	foreach(lc, mine)
	{
		BacManifest *m = lfirst(lc);
		bool		drop = true;

		CHECK_FOR_INTERRUPTS();
		/* oldest first: position from the newest is n - i */
		if (have_keep && n - i <= keep_last)
			drop = false;
		if (have_older)
		{
			TimestampTz at = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
																	 CStringGetDatum(m->consistent_at),
																	 ObjectIdGetDatum(InvalidOid),
																	 Int32GetDatum(-1)));

			if (at >= cutoff)
				drop = false;
		}
		if (drop)
		{
			BacRemoveSnapshotDir(archive, m->snapshot_id);
			dropped++;
		}
		i++;
	}
	PG_RETURN_INT32(dropped);
}
