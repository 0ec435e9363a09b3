/*-------------------------------------------------------------------------
 *
 * snapshot.c
 *		bac.snapshot(): one MVCC instant of several services' schemas (DDL,
 *		data, sequence values) written into the archive directory.
 *
 * The one instant
 * ---------------
 * 1. Every relation of the requested schemas (tables, partitioned tables,
 *	  views, materialized views, sequences, foreign tables) is locked with
 *	  AccessShareLock, in OID order so that two snapshots never deadlock.
 *	  ACCESS SHARE conflicts only with ACCESS EXCLUSIVE: INSERT, UPDATE,
 *	  DELETE, COPY, VACUUM and even CREATE INDEX CONCURRENTLY go on; only
 *	  DDL that rewrites or drops a relation waits.
 * 2. Then one MVCC snapshot is taken (GetLatestSnapshot, whatever the
 *	  caller's isolation level: a REPEATABLE READ transaction snapshot taken
 *	  before the locks could predate DDL that the locks now exclude).  The
 *	  relation list is read again under that snapshot; if a relation
 *	  appeared in between, it is locked too and the snapshot retaken, so the
 *	  snapshot is always younger than every lock.
 * 3. The snapshot is pushed as the active snapshot.  The DDL of every
 *	  schema is captured under it (read-only SPI never takes another
 *	  snapshot), with every lock held: no table's definition can change
 *	  between the instant and the capture.  Sequences are read at that
 *	  moment too (they are not transactional; the value recorded is the one
 *	  at the capture, just after the instant).
 * 4. The data of every table is copied with COPY TO under the same active
 *	  snapshot, by the leader and the parallel workers (which receive the
 *	  leader's active snapshot from the parallel infrastructure).
 *
 * Releasing locks early
 * ---------------------
 * Relations without data (views, sequences, partitioned parents) are
 * released right after the DDL capture; each data table right after its
 * data file is complete (by the leader and by every worker that touched
 * it).  This is safe because, after that point, the snapshot never reads
 * that relation again: its DDL is already captured, its rows are already
 * written, and nothing else in the snapshot depends on it (indexes are
 * not read: a table scan or TID range scan is used).  A concurrent ALTER
 * TABLE, TRUNCATE or DROP of it can then commit, but cannot change what we
 * already wrote, and the tables we still have to read stay locked, so no
 * MVCC-unsafe operation (TRUNCATE, rewrite) can touch them before we read
 * them.  The relcache entry of a released relation is no longer open in
 * this backend; invalidations are processed normally.  So DDL on a table
 * waits only until that table is copied, not for the whole snapshot.
 * Locks the caller's transaction held before bac.snapshot() was called
 * are the caller's and are kept (they are recorded first and skipped).
 *
 * The snapshot runs in the caller's transaction: if that transaction has
 * already written to the services' tables, the snapshot (like any query of
 * that transaction) sees those uncommitted changes.  Call it in a
 * transaction of its own for a snapshot of committed data only.
 *
 * Atomicity: files go to <archive>/.tmp-<id>.<pid>/ (0700 dirs, 0600
 * files), each fsynced; manifest.json is written last; the directory is
 * renamed into place and the archive directory fsynced.  On error or
 * cancel the workers are stopped and the temporary directory removed; a
 * crash leaves only a temporary directory, which is never listed and is
 * removed by the next pg_bac call that reads the archive.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/snapshot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "pg_bac.h"

/* a table bigger than twice this (in blocks) is copied in slices */
#define BAC_SLICE_MIN_BLOCKS	4096
#define BAC_MAX_WORKERS			64
#define BAC_MAX_LABEL			1024

typedef struct SnapTable
{
	Oid			relid;
	char	   *name;
	int			service_index;
	int			position;		/* 1-based load order within the service */
	bool		has_data;		/* an ordinary table */
	bool		released;
	List	   *files;			/* relative paths */
	uint64		rows;
	int64		bytes;
	int64		raw_bytes;
} SnapTable;

typedef struct SnapService
{
	char	   *service;
	char	   *schema;
	char	   *owner;
	char	   *service_group;
	char	   *dir;			/* relative directory name */
	Oid			nspoid;
	BacSchemaDDL *ddl;
	char		pre_sha[65];
	char		post_sha[65];
	int64		pre_bytes;
	int64		post_bytes;
} SnapService;

typedef struct SnapState
{
	List	   *preheld;		/* relations the caller had locked before */
	List	   *services;		/* SnapService * */
	SnapTable  *tables;
	int			ntables;
} SnapState;

/*
 * BacCheckLabel
 *		Labels go into the manifest only, but they are shown to operators and
 *		may be used in scripts: refuse path characters and control
 *		characters.
 */
static void
BacCheckLabel(const char *label)
{
	const unsigned char *p;

	if (strlen(label) > BAC_MAX_LABEL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("label is too long"),
				 errdetail("A label has at most %d bytes.", BAC_MAX_LABEL),
				 errhint("Use a shorter label.")));
	for (p = (const unsigned char *) label; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("label must not contain path separators or control characters"),
					 errdetail("The label \"%s\" contains the byte 0x%02x.", label, *p),
					 errhint("Use letters, digits, spaces and punctuation other than slashes.")));
	}
	if (strstr(label, "..") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("label must not contain \"..\""),
				 errdetail("The label \"%s\" looks like a relative path.", label),
				 errhint("Use a label without \"..\".")));
}

/*
 * BacSafeDirName
 *		The directory name of a schema inside the snapshot: the schema name
 *		when it is plain lower-case letters, digits and underscores, else
 *		"schema-N".
 */
static char *
BacSafeDirName(const char *schema, int n)
{
	const char *p;

	if (strlen(schema) > 0 && strlen(schema) < NAMEDATALEN)
	{
		for (p = schema; *p; p++)
		{
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
				break;
		}
		if (*p == '\0')
			return pstrdup(schema);
	}
	return psprintf("schema-%d", n);
}

/*
 * BacSpiText
 *		Value of column col of row row of the last SPI result, copied into
 *		the given context, NULL for SQL NULL.
 */
static char *
BacSpiText(int row, int col, MemoryContext cxt)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
	char	   *r;
	MemoryContext old;

	if (v == NULL)
		return NULL;
	old = MemoryContextSwitchTo(cxt);
	r = pstrdup(v);
	MemoryContextSwitchTo(old);
	return r;
}

/*
 * BacResolveServices
 *		Look the requested services up in the registry (NULL = all of them),
 *		in the order given (duplicates dropped) or by name, and check the
 *		caller's privilege on each schema.
 */
static List *
BacResolveServices(ArrayType *services)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *names = NIL;
	List	   *result = NIL;
	ListCell   *lc;
	int			i;

	if (services != NULL)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(services, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
						  &elems, &nulls, &n);
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the list of services is empty"),
					 errdetail("A snapshot needs at least one service."),
					 errhint("Pass NULL (the default) to snapshot every registered service.")));
		for (i = 0; i < n; i++)
		{
			char	   *name;

			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("the list of services contains a null"),
						 errdetail("Every element must name a registered service."),
						 errhint("Remove the null from the array.")));
			name = pstrdup(NameStr(*DatumGetName(elems[i])));
			foreach(lc, names)
			{
				if (strcmp(lfirst(lc), name) == 0)
					break;
			}
			if (lc == NULL)
				names = lappend(names, name);
		}
	}

	/*
	 * The registry is the extension's own table: BacRegistryQuery reads it
	 * as its owner, so a schema owner granted EXECUTE needs no grant on it
	 * (privileges are checked per schema below).
	 */
	SPI_connect();
	if (BacRegistryQuery("SELECT s.service::pg_catalog.text, s.schema_name::pg_catalog.text,"
						 " s.owner::pg_catalog.text, s.service_group::pg_catalog.text"
						 " FROM bac.service s ORDER BY s.service",
						 0, NULL, NULL, NULL) != SPI_OK_SELECT)
		elog(ERROR, "could not read bac.service");

	if (names == NIL)
	{
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("no service is registered"),
					 errdetail("bac.snapshot() with no list of services snapshots every registered service."),
					 errhint("Register services with bac.register_service().")));
		for (i = 0; i < (int) SPI_processed; i++)
		{
			char	   *v = BacSpiText(i, 1, cxt);
			MemoryContext old = MemoryContextSwitchTo(cxt);

			names = lappend(names, v);
			MemoryContextSwitchTo(old);
		}
	}

	foreach(lc, names)
	{
		char	   *name = lfirst(lc);
		SnapService *s = NULL;

		for (i = 0; i < (int) SPI_processed; i++)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

			if (strcmp(v, name) == 0)
			{
				MemoryContext old = MemoryContextSwitchTo(cxt);

				s = palloc0(sizeof(SnapService));
				MemoryContextSwitchTo(old);
				s->service = BacSpiText(i, 1, cxt);
				s->schema = BacSpiText(i, 2, cxt);
				s->owner = BacSpiText(i, 3, cxt);
				s->service_group = BacSpiText(i, 4, cxt);
				break;
			}
		}
		if (s == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("service \"%s\" is not registered", name),
					 errdetail("bac.snapshot() takes registered services only."),
					 errhint("See bac.services for the registered services, or register it with bac.register_service().")));
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			result = lappend(result, s);
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();

	i = 0;
	foreach(lc, result)
	{
		SnapService *s = lfirst(lc);

		s->nspoid = get_namespace_oid(s->schema, true);
		if (!OidIsValid(s->nspoid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_SCHEMA),
					 errmsg("schema \"%s\" of service \"%s\" does not exist",
							s->schema, s->service),
					 errdetail("The registry names a schema that was dropped."),
					 errhint("Recreate the schema, or unregister the service.")));
		BacCheckSchemaPrivilege(s->nspoid, "snapshot");
		s->dir = BacSafeDirName(s->schema, ++i);
	}
	return result;
}

/*
 * BacRelationOwner
 *		The owner of a relation.
 */
static Oid
BacRelationOwner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * BacNamespaceArray
 *		The schemas' OIDs as an oid[] datum.
 */
static Datum
BacNamespaceArray(List *services)
{
	Datum	   *oids = palloc(sizeof(Datum) * Max(list_length(services), 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, services)
		oids[i++] = ObjectIdGetDatum(((SnapService *) lfirst(lc))->nspoid);
	return PointerGetDatum(construct_array(oids, i, OIDOID, sizeof(Oid), true,
										   TYPALIGN_INT));
}

/*
 * BacSchemaRelations
 *		OIDs of the relations of the services' schemas, as the current
 *		catalog snapshot shows them: with indexes_too, every pg_class entry;
 *		otherwise those a snapshot locks (tables, views, materialized views,
 *		sequences, foreign tables), sorted.
 */
static List *
BacSchemaRelations(List *services, bool indexes_too)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		arr = BacNamespaceArray(services);
	List	   *result = NIL;
	int			i;

	SPI_connect();
	if (SPI_execute_with_args(indexes_too ?
							  "SELECT c.oid FROM pg_catalog.pg_class c"
							  " WHERE c.relnamespace OPERATOR(pg_catalog.=) ANY ($1)" :
							  "SELECT c.oid FROM pg_catalog.pg_class c"
							  " WHERE c.relnamespace OPERATOR(pg_catalog.=) ANY ($1)"
							  " AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
							  " ORDER BY c.oid",
							  1, (Oid[]) {OIDARRAYOID},
							  (Datum[]) {arr},
							  NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the relations of the services");
	for (i = 0; i < (int) SPI_processed; i++)
	{
		bool		isnull;
		Oid			oid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1,
														 &isnull));
		MemoryContext old = MemoryContextSwitchTo(cxt);

		result = lappend_oid(result, oid);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return result;
}

/*
 * BacPreheldLocks
 *		Relations (indexes included) of the schemas on which the caller's
 *		transaction holds an AccessShareLock already.
 */
static List *
BacPreheldLocks(List *services)
{
	List	   *all = BacSchemaRelations(services, true);
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, all)
	{
		Oid			oid = lfirst_oid(lc);
		LOCKTAG		tag;

		SET_LOCKTAG_RELATION(tag, MyDatabaseId, oid);
		if (LockHeldByMe(&tag, AccessShareLock))
			result = lappend_oid(result, oid);
	}
	list_free(all);
	return result;
}

/*
 * BacLockRelations
 *		Lock (AccessShareLock) every relation of the list that is not in
 *		*locked yet, in OID order; add them to *locked.  Returns how many
 *		new ones there were.
 */
static int
BacLockRelations(List *oids, List **locked)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, oids)
	{
		Oid			oid = lfirst_oid(lc);

		CHECK_FOR_INTERRUPTS();
		if (list_member_oid(*locked, oid))
			continue;
		LockRelationOid(oid, AccessShareLock);
		*locked = lappend_oid(*locked, oid);
		n++;
	}
	return n;
}

/*
 * BacWriteNewFile
 *		Create a file 0600, write a buffer, fsync; return size and SHA-256.
 */
static void
BacWriteNewFile(const char *path, const char *data, size_t len)
{
	int			fd = OpenTransientFilePerm(path, O_CREAT | O_EXCL | O_WRONLY | PG_BINARY,
										   S_IRUSR | S_IWUSR);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", path)));
	BacWriteAll(fd, path, data, len);
	if (pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", path)));
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", path)));
}

/*
 * BacMakeDir
 *		mkdir 0700 or error.
 */
static void
BacMakeDir(const char *path)
{
	if (mkdir(path, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", path),
				 errdetail("Snapshots are written under bac.archive_directory."),
				 errhint("Check that the archive directory is writable by the server and not full.")));
}

/*
 * BacSnapshotIdFromTimestamp
 *		YYYYMMDDTHHMMSS.ffffffZ in UTC.
 */
static char *
BacSnapshotIdFromTimestamp(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");
	return psprintf("%04d%02d%02dT%02d%02d%02d.%06dZ",
					tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/*
 * BacJsonStr
 *		Append a JSON string, or null for NULL.
 */
static void
BacJsonStr(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, s);
}

/*
 * BacJsonKey
 *		Append an object key and its colon.
 */
static void
BacJsonKey(StringInfo buf, const char *key)
{
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
}

/*
 * BacJsonFile
 *		Append one entry of the "files" array.
 */
static void
BacJsonFile(StringInfo buf, bool *first, const char *path, int64 bytes,
			const char *sha)
{
	appendStringInfoString(buf, *first ? "\n    {" : ",\n    {");
	*first = false;
	BacJsonKey(buf, "file");
	BacJsonStr(buf, path);
	appendStringInfo(buf, ", \"bytes\": " INT64_FORMAT ", ", bytes);
	BacJsonKey(buf, "sha256");
	BacJsonStr(buf, sha);
	appendStringInfoChar(buf, '}');
}

/*
 * BacTableDone
 *		Called by the copy driver when a table's data is complete: release
 *		its lock (see the head comment for why this is safe) and report.
 */
static void
BacTableDone(int table_index, void *arg)
{
	SnapState  *st = arg;
	SnapTable  *t = &st->tables[table_index];
	SnapService *s = list_nth(st->services, t->service_index);

	BacReleaseRelationLocks(t->relid, st->preheld);
	t->released = true;
	ereport(NOTICE,
			(errmsg("snapshot: table %s.%s copied",
					quote_identifier(s->schema), quote_identifier(t->name))));
}

/*
 * bac.snapshot(services name[] DEFAULT NULL, label text DEFAULT NULL,
 *		workers int DEFAULT NULL, compression text DEFAULT NULL)
 *	RETURNS TABLE (snapshot_id text, label text, consistent_at timestamptz,
 *		services name[], tables int, rows bigint, bytes bigint,
 *		duration interval)
 *
 *	services: registered services to include (NULL = all).  label: free
 *	text stored in the manifest.  workers: processes copying data (default
 *	1).  compression: 'none' (default), 'zstd' or 'lz4'.
 */
PG_FUNCTION_INFO_V1(bac_snapshot);
Datum
bac_snapshot(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *services_arg = PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0);
	char	   *label = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			workers = PG_ARGISNULL(2) ? 1 : PG_GETARG_INT32(2);
	BacCompression compression;
	TimestampTz started = GetCurrentTimestamp();
	TimestampTz consistent_at = 0;
	SnapState	st;
	List	   *locked = NIL;
	List	   *rels;
	Snapshot	snap = NULL;
	int			attempt;
	char	   *archive;
	char	   *id;
	char	   *tmpdir;
	char	   *finaldir;
	volatile bool tmp_created = false;
	int			save_nestlevel;
	char	   *txid_snapshot = NULL;
	char	   *wal_lsn = NULL;
	char	   *sysid = NULL;
	char	   *dbname = NULL;
	char	   *server_version = NULL;
	char	   *links = NULL;
	bool		in_recovery = RecoveryInProgress();
	BacCopyTask *tasks = NULL;
	int			ntasks = 0;
	int			maxtasks;
	uint64		total_blocks;
	int			total_tables = 0;
	int64		total_rows = 0;
	int64		total_bytes = 0;
	int64		duration_us;
	ListCell   *lc;
	int			i;

	/* --- arguments --- */
	if (label != NULL)
		BacCheckLabel(label);
	if (workers < 1 || workers > BAC_MAX_WORKERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("workers must be between 1 and %d", BAC_MAX_WORKERS),
				 errdetail("%d was given.", workers),
				 errhint("workers is the number of processes copying data, the calling backend included; parallel workers come from max_parallel_workers.")));
	compression = BacCompressionFromName(PG_ARGISNULL(3) ? NULL :
										 text_to_cstring(PG_GETARG_TEXT_PP(3)));
	InitMaterializedSRF(fcinfo, 0);

	memset(&st, 0, sizeof(st));
	st.services = BacResolveServices(services_arg);
	archive = BacArchiveDirectory(true);

	/*
	 * Locks the caller's transaction already holds on the schemas'
	 * relations and indexes stay: they are not ours to release early.
	 */
	st.preheld = BacPreheldLocks(st.services);

	/* --- locks first, then the snapshot (see the head comment) --- */
	for (attempt = 0;; attempt++)
	{
		rels = BacSchemaRelations(st.services, false);
		if (BacLockRelations(rels, &locked) == 0 && snap != NULL)
			break;
		if (snap != NULL)
		{
			PopActiveSnapshot();
			UnregisterSnapshot(snap);
		}
		if (attempt > 100)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("relations keep appearing in the schemas being snapshotted"),
					 errdetail("The set of relations did not settle after %d attempts.", attempt),
					 errhint("Retry when no DDL runs on the services.")));
		snap = RegisterSnapshot(GetLatestSnapshot());
		consistent_at = GetCurrentTimestamp();
		PushActiveSnapshot(snap);
	}

	/*
	 * COPY text must read back the same whatever the restoring session's
	 * settings: fix the output styles, as pg_dump does.  Parallel workers
	 * inherit these settings.
	 */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("datestyle", "ISO", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "3", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("bytea_output", "hex", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/* --- the temporary directory; ids sort by time and never collide --- */
	for (;;)
	{
		struct stat sb;

		id = BacSnapshotIdFromTimestamp(consistent_at);
		finaldir = psprintf("%s/%s", archive, id);
		if (stat(finaldir, &sb) != 0)
			break;
		consistent_at += 1;		/* same microsecond as an earlier one */
	}
	tmpdir = psprintf("%s/.tmp-%s.%d", archive, id, MyProcPid);
	BacMakeDir(tmpdir);
	tmp_created = true;

	PG_TRY();
	{
		StringInfoData mf;
		char		hex[65];
		bool		first;
		int			ti;

		/* --- what the instant is, read under the snapshot --- */
		MemoryContext fncxt = CurrentMemoryContext;

		SPI_connect();
		if (SPI_execute("SELECT pg_catalog.pg_current_snapshot()::pg_catalog.text,"
						" (CASE WHEN pg_catalog.pg_is_in_recovery()"
						"  THEN pg_catalog.pg_last_wal_replay_lsn()"
						"  ELSE pg_catalog.pg_current_wal_lsn() END)::pg_catalog.text,"
						" (SELECT c.system_identifier FROM pg_catalog.pg_control_system() c)::pg_catalog.text,"
						" pg_catalog.current_database()::pg_catalog.text,"
						" pg_catalog.current_setting('server_version'),"
						" CASE WHEN pg_catalog.to_regclass('bac.links') IS NOT NULL"
						"  THEN true ELSE false END",
						true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the snapshot's identity");
		txid_snapshot = BacSpiText(0, 1, fncxt);
		wal_lsn = BacSpiText(0, 2, fncxt);
		sysid = BacSpiText(0, 3, fncxt);
		dbname = BacSpiText(0, 4, fncxt);
		server_version = BacSpiText(0, 5, fncxt);
		if (strcmp(BacSpiText(0, 6, fncxt), "t") == 0)
		{
			Oid			save_userid;
			int			save_sec;

			/*
			 * Read as the owner of the registry, under the snapshot (not
			 * through BacRegistryQuery, which takes a fresh snapshot).
			 */
			GetUserIdAndSecContext(&save_userid, &save_sec);
			SetUserIdAndSecContext(BacRelationOwner(BacRegistryRelid("link")),
								   save_sec | SECURITY_LOCAL_USERID_CHANGE |
								   SECURITY_RESTRICTED_OPERATION);
			/* the links as they are at the instant */
			/* only links touching the snapshot's schemas */
			if (SPI_execute_with_args("SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(l)),"
									  " '[]'::pg_catalog.jsonb)::pg_catalog.text FROM bac.links l"
									  " WHERE EXISTS (SELECT FROM pg_catalog.pg_class c"
									  "  WHERE c.relnamespace OPERATOR(pg_catalog.=) ANY ($1)"
									  "  AND (c.oid OPERATOR(pg_catalog.=) l.from_table::pg_catalog.regclass::pg_catalog.oid"
									  "   OR c.oid OPERATOR(pg_catalog.=) l.to_table::pg_catalog.regclass::pg_catalog.oid))",
									  1, (Oid[]) {OIDARRAYOID},
									  (Datum[]) {BacNamespaceArray(st.services)},
									  NULL, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not read bac.links");
			links = BacSpiText(0, 1, fncxt);
			SetUserIdAndSecContext(save_userid, save_sec);
		}
		SPI_finish();
		if (txid_snapshot == NULL || wal_lsn == NULL)
			elog(ERROR, "could not read the snapshot's identity");

		/* --- DDL of every schema, with every lock held --- */
		i = 0;
		foreach(lc, st.services)
		{
			SnapService *s = lfirst(lc);
			char	   *sdir = psprintf("%s/%s", tmpdir, s->dir);
			char	   *path;

			CHECK_FOR_INTERRUPTS();
			ereport(NOTICE,
					(errmsg("snapshot: capturing service \"%s\" (schema \"%s\")",
							s->service, s->schema)));
			s->ddl = BacCaptureSchemaDDL(s->nspoid);
			BacMakeDir(sdir);
			BacMakeDir(psprintf("%s/data", sdir));
			path = psprintf("%s/pre-data.sql", sdir);
			BacWriteNewFile(path, s->ddl->pre_data, strlen(s->ddl->pre_data));
			BacSha256File(path, s->pre_sha, &s->pre_bytes);
			path = psprintf("%s/post-data.sql", sdir);
			BacWriteNewFile(path, s->ddl->post_data, strlen(s->ddl->post_data));
			BacSha256File(path, s->post_sha, &s->post_bytes);
			st.ntables += list_length(s->ddl->tables);
			i++;
		}

		/*
		 * --- the tables, and the copy tasks ---
		 *
		 * Tables are the units of parallel work.  A table is cut into TID
		 * range slices only when it is more than one process's fair share
		 * of all the data (and at least twice BAC_SLICE_MIN_BLOCKS):
		 * slices go through the planner and a TID range scan, which costs
		 * a little more than a plain table scan, so they are used only
		 * where they shorten the critical path.
		 */
		total_blocks = 0;
		foreach(lc, st.services)
		{
			SnapService *s = lfirst(lc);
			ListCell   *lc2;

			foreach(lc2, s->ddl->tables)
			{
				Oid			relid = lfirst_oid(lc2);

				if (!list_member_oid(locked, relid))
				{
					/* not in the schema (should not happen): lock it now */
					LockRelationOid(relid, AccessShareLock);
					locked = lappend_oid(locked, relid);
				}
				if (get_rel_relkind(relid) == RELKIND_RELATION)
				{
					Relation	rel = table_open(relid, NoLock);

					total_blocks += RelationGetNumberOfBlocks(rel);
					table_close(rel, NoLock);
				}
			}
		}
		st.tables = palloc0(sizeof(SnapTable) * Max(st.ntables, 1));
		maxtasks = Max(st.ntables, 1) + 16;
		tasks = palloc0(sizeof(BacCopyTask) * maxtasks);
		ti = 0;
		i = 0;
		foreach(lc, st.services)
		{
			SnapService *s = lfirst(lc);
			ListCell   *lc2;
			int			pos = 0;

			foreach(lc2, s->ddl->tables)
			{
				SnapTable  *t = &st.tables[ti];
				Oid			relid = lfirst_oid(lc2);
				Relation	rel;
				BlockNumber nblocks = 0;
				int			nslices = 1;
				int			k;

				CHECK_FOR_INTERRUPTS();
				t->relid = relid;
				t->service_index = i;
				t->position = ++pos;
				rel = table_open(relid, NoLock);
				t->name = pstrdup(RelationGetRelationName(rel));

				/*
				 * BeginCopyTo checks no privileges: a schema owner must
				 * still be allowed to read every table of the schema, and
				 * not be subject to row-level security (rows it cannot see
				 * would silently be missing from the snapshot).
				 */
				if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("permission denied to snapshot table %s.%s",
									quote_identifier(s->schema), quote_identifier(t->name)),
							 errdetail("A snapshot reads every table of the service's schema."),
							 errhint("Grant SELECT on the table to the role taking the snapshot, or run it as a superuser.")));
				if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("row-level security hides rows of table %s.%s from the role taking the snapshot",
									quote_identifier(s->schema), quote_identifier(t->name)),
							 errdetail("A snapshot must contain every row."),
							 errhint("Take the snapshot as a superuser, the table owner, or a role with BYPASSRLS.")));
				t->has_data = (rel->rd_rel->relkind == RELKIND_RELATION);
				if (t->has_data)
					nblocks = RelationGetNumberOfBlocks(rel);
				if (t->has_data && workers > 1 &&
					nblocks >= 2 * BAC_SLICE_MIN_BLOCKS &&
					(uint64) nblocks * workers > total_blocks)
					nslices = Min(nblocks / BAC_SLICE_MIN_BLOCKS, workers);

				for (k = 0; t->has_data && k < nslices; k++)
				{
					BacCopyTask *task;
					char	   *rel_path;
					const char *ext = compression == BAC_COMPRESSION_ZSTD ? ".zst" :
					compression == BAC_COMPRESSION_LZ4 ? ".lz4" : "";

					if (nslices == 1)
						rel_path = psprintf("%s/data/%03d.copy%s", s->dir, pos, ext);
					else
						rel_path = psprintf("%s/data/%03d.%d.copy%s", s->dir, pos, k + 1, ext);
					t->files = lappend(t->files, rel_path);
					if (ntasks == maxtasks)
					{
						maxtasks *= 2;
						tasks = repalloc(tasks, sizeof(BacCopyTask) * maxtasks);
					}
					task = &tasks[ntasks++];
					memset(task, 0, sizeof(BacCopyTask));
					task->relid = relid;
					task->table_index = ti;
					task->path = psprintf("%s/%s", tmpdir, rel_path);
					task->size_hint = nslices == 1 ? nblocks : nblocks / nslices;
					if (nslices > 1)
					{
						StringInfoData q;
						TupleDesc	desc = RelationGetDescr(rel);
						BlockNumber from = (BlockNumber) ((uint64) nblocks * k / nslices);
						BlockNumber to = (BlockNumber) ((uint64) nblocks * (k + 1) / nslices);
						bool		firstcol = true;
						int			a;

						initStringInfo(&q);
						appendStringInfoString(&q, "SELECT ");
						for (a = 0; a < desc->natts; a++)
						{
							Form_pg_attribute att = TupleDescAttr(desc, a);

							if (att->attisdropped || att->attgenerated)
								continue;
							if (!firstcol)
								appendStringInfoString(&q, ", ");
							appendStringInfoString(&q, quote_identifier(NameStr(att->attname)));
							firstcol = false;
						}
						appendStringInfo(&q, " FROM ONLY %s.%s WHERE ctid OPERATOR(pg_catalog.>=) '(%u,0)'::pg_catalog.tid",
										 quote_identifier(s->schema),
										 quote_identifier(t->name), from);
						/* the last slice is open-ended */
						if (k < nslices - 1)
							appendStringInfo(&q, " AND ctid OPERATOR(pg_catalog.<) '(%u,0)'::pg_catalog.tid", to);
						task->sql = q.data;
					}
				}
				table_close(rel, NoLock);
				ti++;
			}
			i++;
		}

		/* relations without data are done with: release them now */
		foreach(lc, locked)
		{
			Oid			oid = lfirst_oid(lc);
			bool		data = false;

			for (ti = 0; ti < st.ntables; ti++)
			{
				if (st.tables[ti].relid == oid && st.tables[ti].has_data)
					data = true;
			}
			if (!data)
				BacReleaseRelationLocks(oid, st.preheld);
		}

		/* biggest tasks first, so the processes finish together */
		for (i = 1; i < ntasks; i++)
		{
			BacCopyTask tmp = tasks[i];
			int			j = i - 1;

			while (j >= 0 && tasks[j].size_hint < tmp.size_hint)
			{
				tasks[j + 1] = tasks[j];
				j--;
			}
			tasks[j + 1] = tmp;
		}

		/* --- the data, under the same active snapshot --- */
		BacRunCopyTasks(tasks, ntasks, st.ntables, workers, compression,
						st.preheld, BacTableDone, &st);
		for (i = 0; i < ntasks; i++)
		{
			SnapTable  *t = &st.tables[tasks[i].table_index];

			t->rows += tasks[i].rows;
			t->bytes += tasks[i].bytes;
			t->raw_bytes += tasks[i].raw_bytes;
		}

		/* --- the manifest, last --- */
		duration_us = GetCurrentTimestamp() - started;
		initStringInfo(&mf);
		appendStringInfo(&mf, "{\n\"format\": %d,\n", PG_BAC_ARCHIVE_FORMAT);
		BacJsonKey(&mf, "extension_version");
		BacJsonStr(&mf, PG_BAC_VERSION);
		appendStringInfoString(&mf, ",\n");
		BacJsonKey(&mf, "server_version");
		BacJsonStr(&mf, server_version);
		appendStringInfo(&mf, ",\n\"server_version_num\": %d,\n", PG_VERSION_NUM);
		BacJsonKey(&mf, "system_identifier");
		BacJsonStr(&mf, sysid);
		appendStringInfoString(&mf, ",\n");
		BacJsonKey(&mf, "database");
		BacJsonStr(&mf, dbname);
		appendStringInfoString(&mf, ",\n");
		BacJsonKey(&mf, "encoding");
		BacJsonStr(&mf, GetDatabaseEncodingName());
		appendStringInfoString(&mf, ",\n");
		BacJsonKey(&mf, "snapshot_id");
		BacJsonStr(&mf, id);
		appendStringInfoString(&mf, ",\n");
		BacJsonKey(&mf, "label");
		BacJsonStr(&mf, label);
		appendStringInfoString(&mf, ",\n");
		BacJsonKey(&mf, "consistent_at");
		BacJsonStr(&mf, timestamptz_to_str(consistent_at));
		appendStringInfoString(&mf, ",\n");
		BacJsonKey(&mf, "txid_snapshot");
		BacJsonStr(&mf, txid_snapshot);
		appendStringInfoString(&mf, ",\n");
		BacJsonKey(&mf, "wal_lsn");
		BacJsonStr(&mf, wal_lsn);
		appendStringInfo(&mf, ",\n\"in_recovery\": %s,\n", in_recovery ? "true" : "false");
		BacJsonKey(&mf, "compression");
		BacJsonStr(&mf, BacCompressionName(compression));
		appendStringInfo(&mf, ",\n\"workers\": %d,\n\"duration_us\": " INT64_FORMAT ",\n",
						 workers, duration_us);
		for (i = 0; i < st.ntables; i++)
		{
			total_rows += st.tables[i].rows;
			total_bytes += st.tables[i].bytes;
		}
		foreach(lc, st.services)
		{
			SnapService *s = lfirst(lc);

			total_bytes += s->pre_bytes + s->post_bytes;
		}
		total_tables = st.ntables;
		appendStringInfo(&mf, "\"tables\": %d,\n\"rows\": " INT64_FORMAT ",\n\"bytes\": " INT64_FORMAT ",\n",
						 total_tables, total_rows, total_bytes);
		appendStringInfoString(&mf, "\"services\": [");
		i = 0;
		foreach(lc, st.services)
		{
			SnapService *s = lfirst(lc);
			ListCell   *lc2;
			bool		firstt = true;

			appendStringInfoString(&mf, i == 0 ? "\n  {" : ",\n  {");
			BacJsonKey(&mf, "service");
			BacJsonStr(&mf, s->service);
			appendStringInfoString(&mf, ", ");
			BacJsonKey(&mf, "schema");
			BacJsonStr(&mf, s->schema);
			appendStringInfoString(&mf, ", ");
			BacJsonKey(&mf, "directory");
			BacJsonStr(&mf, s->dir);
			appendStringInfoString(&mf, ", ");
			BacJsonKey(&mf, "owner");
			BacJsonStr(&mf, s->owner);
			appendStringInfoString(&mf, ", ");
			BacJsonKey(&mf, "service_group");
			BacJsonStr(&mf, s->service_group);
			appendStringInfoString(&mf, ",\n   ");
			BacJsonKey(&mf, "pre_data");
			BacJsonStr(&mf, psprintf("%s/pre-data.sql", s->dir));
			appendStringInfoString(&mf, ", ");
			BacJsonKey(&mf, "post_data");
			BacJsonStr(&mf, psprintf("%s/post-data.sql", s->dir));
			appendStringInfoString(&mf, ",\n   \"extensions\": [");
			foreach(lc2, s->ddl->extensions)
			{
				if (lc2 != list_head(s->ddl->extensions))
					appendStringInfoString(&mf, ", ");
				BacJsonStr(&mf, lfirst(lc2));
			}
			appendStringInfoString(&mf, "],\n   \"uncaptured\": [");
			foreach(lc2, s->ddl->uncaptured)
			{
				if (lc2 != list_head(s->ddl->uncaptured))
					appendStringInfoString(&mf, ", ");
				BacJsonStr(&mf, lfirst(lc2));
			}
			appendStringInfoString(&mf, "],\n   \"tables\": [");
			for (ti = 0; ti < st.ntables; ti++)
			{
				SnapTable  *t = &st.tables[ti];
				ListCell   *lc3;

				if (t->service_index != i)
					continue;
				appendStringInfoString(&mf, firstt ? "\n    {" : ",\n    {");
				firstt = false;
				BacJsonKey(&mf, "table");
				BacJsonStr(&mf, t->name);
				appendStringInfo(&mf, ", \"rows\": " UINT64_FORMAT ", \"bytes\": " INT64_FORMAT
								 ", \"raw_bytes\": " INT64_FORMAT ", \"files\": [",
								 t->rows, t->bytes, t->raw_bytes);
				foreach(lc3, t->files)
				{
					if (lc3 != list_head(t->files))
						appendStringInfoString(&mf, ", ");
					BacJsonStr(&mf, lfirst(lc3));
				}
				appendStringInfoString(&mf, "]}");
			}
			appendStringInfoString(&mf, "]}");
			i++;
		}
		appendStringInfoString(&mf, "],\n\"links\": ");
		appendStringInfoString(&mf, links ? links : "[]");
		appendStringInfoString(&mf, ",\n\"files\": [");
		first = true;
		foreach(lc, st.services)
		{
			SnapService *s = lfirst(lc);

			BacJsonFile(&mf, &first, psprintf("%s/pre-data.sql", s->dir),
						s->pre_bytes, s->pre_sha);
			BacJsonFile(&mf, &first, psprintf("%s/post-data.sql", s->dir),
						s->post_bytes, s->post_sha);
		}
		for (ti = 0; ti < st.ntables; ti++)
		{
			ListCell   *lc3;

			foreach(lc3, st.tables[ti].files)
			{
				char	   *fp = lfirst(lc3);

				for (i = 0; i < ntasks; i++)
				{
					if (tasks[i].table_index == ti &&
						strcmp(tasks[i].path + strlen(tmpdir) + 1, fp) == 0)
						BacJsonFile(&mf, &first, fp, tasks[i].bytes, tasks[i].sha256);
				}
			}
		}
		appendStringInfoString(&mf, "\n],\n");
		/* the last line checks every byte before it */
		BacSha256Text(mf.data, mf.len, hex);
		appendStringInfo(&mf, "\"manifest_checksum\": \"%s\"}\n", hex);

		/* sanity: what we wrote must parse as a manifest */
		(void) BacParseManifest(tmpdir, mf.data, false);

		BacWriteNewFile(psprintf("%s/manifest.json", tmpdir), mf.data, mf.len);

		/* --- make it durable, then make it visible --- */
		foreach(lc, st.services)
		{
			SnapService *s = lfirst(lc);

			BacFsyncPath(psprintf("%s/%s/data", tmpdir, s->dir), true);
			BacFsyncPath(psprintf("%s/%s", tmpdir, s->dir), true);
		}
		BacFsyncPath(tmpdir, true);
		if (rename(tmpdir, finaldir) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not rename \"%s\" to \"%s\": %m", tmpdir, finaldir)));
		tmp_created = false;
		BacFsyncPath(archive, true);
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		if (tmp_created && !rmtree(tmpdir, true))
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not remove temporary directory \"%s\"", tmpdir),
					 errhint("It is removed by a later pg_bac call once this session ends.")));
		RESUME_INTERRUPTS();
		PG_RE_THROW();
	}
	PG_END_TRY();

	AtEOXact_GUC(true, save_nestlevel);
	PopActiveSnapshot();
	UnregisterSnapshot(snap);

	/* --- the result row --- */
	{
		Datum		values[8];
		bool		nulls[8] = {0};
		Datum	   *names = palloc(sizeof(Datum) * list_length(st.services));
		Interval   *iv = palloc0(sizeof(Interval));

		i = 0;
		foreach(lc, st.services)
		{
			Name		nm = palloc0(NAMEDATALEN);

			namestrcpy(nm, ((SnapService *) lfirst(lc))->service);
			names[i++] = NameGetDatum(nm);
		}
		iv->time = duration_us;
		values[0] = CStringGetTextDatum(id);
		if (label)
			values[1] = CStringGetTextDatum(label);
		else
			nulls[1] = true;
		values[2] = TimestampTzGetDatum(consistent_at);
		values[3] = PointerGetDatum(construct_array(names, i, NAMEOID, NAMEDATALEN,
													false, TYPALIGN_CHAR));
		values[4] = Int32GetDatum(total_tables);
		values[5] = Int64GetDatum(total_rows);
		values[6] = Int64GetDatum(total_bytes);
		values[7] = IntervalPGetDatum(iv);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
