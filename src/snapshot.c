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

#include "manifest.h"
#include "plainscript.h"
#include "progress.h"

/* a table bigger than twice this (in blocks) is copied in slices */
#define BAC_SLICE_MIN_BLOCKS	4096
#define BAC_MAX_WORKERS			64
#define BAC_MAX_LABEL			1024

/* one relation whose rows are data, in the load order of its service */
typedef struct SnapTable
{
	Oid			relid;
	char	   *name;
	int			service_index;	/* in SnapState.services */
	int			position;		/* 1-based load order within the service */
	bool		has_data;		/* an ordinary table */
	bool		released;		/* its lock was released after the copy */
	List	   *files;			/* relative paths of its data files */
	uint64		rows;
	int64		bytes;
	int64		raw_bytes;
} SnapTable;

/* one service of the snapshot */
typedef struct SnapService
{
	char	   *service;
	char	   *schema;
	char	   *owner;			/* NULL if none */
	char	   *service_group;	/* NULL if none */
	char	   *dir;			/* relative directory name */
	Oid			nspoid;
	BacSchemaDDL *ddl;			/* captured at the instant */
	char	   *pre_path;		/* relative paths of its scripts */
	char	   *post_path;
} SnapService;

/* everything bac.snapshot() knows, phase after phase */
typedef struct SnapState
{
	/* arguments */
	char	   *label;			/* NULL if none */
	int			workers;
	BacCompression compression;
	TimestampTz started;

	/* the instant */
	List	   *services;		/* SnapService *, in the order requested */
	List	   *preheld;		/* relations the caller had locked before */
	List	   *locked;			/* relations we locked (OIDs) */
	Snapshot	snap;			/* registered and active */
	TimestampTz consistent_at;
	int			save_nestlevel; /* of the output style settings */

	/* where it goes */
	char	   *archive;
	char	   *id;
	char	   *tmpdir;
	char	   *finaldir;
	bool		tmp_created;	/* tmpdir exists and is ours to remove */

	/* the work */
	SnapTable  *tables;			/* ntables, in load order per service */
	int			ntables;
	uint64		total_blocks;	/* of every ordinary table */
	BacCopyTask *tasks;
	int			ntasks;
	int			maxtasks;

	/* what is written: header, services, tables, files, totals */
	BacManifest *manifest;
} SnapState;

/*
 * SnapCheckLabel
 *		Labels go into the manifest only, but they are shown to operators and
 *		may be used in scripts: refuse path characters and control
 *		characters.
 */
static void
SnapCheckLabel(const char *label)
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
 * SnapSafeDirName
 *		The directory name of a schema inside the snapshot: the schema name
 *		when it is plain lower-case letters, digits and underscores, else
 *		"schema-N".
 */
static char *
SnapSafeDirName(const char *schema, int n)
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
 * SnapSpiText
 *		Value of column col of row row of the last SPI result, copied into
 *		the given context, NULL for SQL NULL.
 */
static char *
SnapSpiText(int row, int col, MemoryContext cxt)
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
 * SnapRequestedNames
 *		The service names of bac.snapshot()'s services argument, in the
 *		order given, duplicates dropped.
 */
static List *
SnapRequestedNames(ArrayType *services)
{
	List	   *names = NIL;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

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
		ListCell   *lc;

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
	return names;
}

/*
 * SnapRegistry
 *		Every registered service, by name.  The registry is the extension's
 *		own table: BacRegistryQuery reads it as its owner, so a schema owner
 *		granted EXECUTE needs no grant on it (privileges are checked per
 *		schema by the caller).
 */
static List *
SnapRegistry(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *result = NIL;
	int			i;

	SPI_connect();
	if (BacRegistryQuery("SELECT s.service::pg_catalog.text, s.schema_name::pg_catalog.text,"
						 " s.owner::pg_catalog.text, s.service_group::pg_catalog.text"
						 " FROM bac.service s ORDER BY s.service",
						 0, NULL, NULL, NULL) != SPI_OK_SELECT)
		elog(ERROR, "could not read bac.service");
	for (i = 0; i < (int) SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		SnapService *s = palloc0(sizeof(SnapService));

		result = lappend(result, s);
		MemoryContextSwitchTo(old);
		s->service = SnapSpiText(i, 1, cxt);
		s->schema = SnapSpiText(i, 2, cxt);
		s->owner = SnapSpiText(i, 3, cxt);
		s->service_group = SnapSpiText(i, 4, cxt);
	}
	SPI_finish();
	return result;
}

/*
 * SnapResolveServices
 *		Look the requested services up in the registry (NULL = all of them),
 *		in the order given (duplicates dropped) or by name, and check the
 *		caller's privilege on each schema.
 */
static List *
SnapResolveServices(ArrayType *services)
{
	List	   *names = services ? SnapRequestedNames(services) : NIL;
	List	   *registry = SnapRegistry();
	List	   *result = NIL;
	ListCell   *lc;

	if (services == NULL && registry == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no service is registered"),
				 errdetail("bac.snapshot() with no list of services snapshots every registered service."),
				 errhint("Register services with bac.register_service().")));
	if (services == NULL)
		result = registry;
	foreach(lc, names)
	{
		ListCell   *lr;

		foreach(lr, registry)
		{
			if (strcmp(((SnapService *) lfirst(lr))->service, lfirst(lc)) == 0)
				break;
		}
		if (lr == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("service \"%s\" is not registered", (char *) lfirst(lc)),
					 errdetail("bac.snapshot() takes registered services only."),
					 errhint("See bac.services for the registered services, or register it with bac.register_service().")));
		result = lappend(result, lfirst(lr));
	}
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
		s->dir = SnapSafeDirName(s->schema, foreach_current_index(lc) + 1);
	}
	return result;
}

/*
 * SnapNamespaceArray
 *		The schemas' OIDs as an oid[] datum.
 */
static Datum
SnapNamespaceArray(List *services)
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
 * SnapSchemaRelations
 *		OIDs of the relations of the services' schemas, as the current
 *		catalog snapshot shows them: with indexes_too, every pg_class entry;
 *		otherwise those a snapshot locks (tables, views, materialized views,
 *		sequences, foreign tables), sorted.
 */
static List *
SnapSchemaRelations(List *services, bool indexes_too)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		arr = SnapNamespaceArray(services);
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
 * SnapPreheldLocks
 *		Relations (indexes included) of the schemas on which the caller's
 *		transaction holds an AccessShareLock already.
 */
static List *
SnapPreheldLocks(List *services)
{
	List	   *all = SnapSchemaRelations(services, true);
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
 * SnapLockRelations
 *		Lock (AccessShareLock) every relation of the list that is not in
 *		*locked yet, in OID order; add them to *locked.  Returns how many
 *		new ones there were.
 */
static int
SnapLockRelations(List *oids, List **locked)
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
 * SnapIdFromTimestamp
 *		YYYYMMDDTHHMMSS.ffffffZ in UTC.
 */
static char *
SnapIdFromTimestamp(TimestampTz ts)
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
 * SnapTableDone
 *		Called by the copy driver when a table's data is complete: release
 *		its lock (see the head comment for why this is safe) and report.
 */
static void
SnapTableDone(int table_index, void *arg)
{
	SnapState  *st = arg;
	SnapTable  *t = &st->tables[table_index];
	SnapService *s = list_nth(st->services, t->service_index);

	BacReleaseRelationLocks(t->relid, st->preheld);
	t->released = true;
	BacProgressTable(t->name);
	BacProgressAdvance(1, 0);
	ereport(DEBUG1,
			(errmsg("snapshot: table %s.%s copied",
					quote_identifier(s->schema), quote_identifier(t->name))));
}

/*
 * SnapCheckArguments
 *		Decode and check bac.snapshot()'s arguments into the state.
 */
static void
SnapCheckArguments(FunctionCallInfo fcinfo, SnapState *st)
{
	st->label = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	st->workers = PG_ARGISNULL(2) ? 1 : PG_GETARG_INT32(2);
	if (st->label != NULL)
		SnapCheckLabel(st->label);
	if (st->workers < 1 || st->workers > BAC_MAX_WORKERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("workers must be between 1 and %d", BAC_MAX_WORKERS),
				 errdetail("%d was given.", st->workers),
				 errhint("workers is the number of processes copying data, the calling backend included; parallel workers come from max_parallel_workers.")));
	st->compression = BacCompressionFromName(PG_ARGISNULL(3) ? NULL :
											 text_to_cstring(PG_GETARG_TEXT_PP(3)));
}

/*
 * SnapTakeInstant
 *		Locks first, then the snapshot (see the head comment), pushed as the
 *		active snapshot; then the output styles COPY text is written in,
 *		fixed as pg_dump fixes them so that it reads back the same whatever
 *		the restoring session's settings (parallel workers inherit them).
 */
static void
SnapTakeInstant(SnapState *st)
{
	int			attempt;

	/*
	 * Locks the caller's transaction already holds on the schemas'
	 * relations and indexes stay: they are not ours to release early.
	 */
	st->preheld = SnapPreheldLocks(st->services);
	for (attempt = 0;; attempt++)
	{
		List	   *rels = SnapSchemaRelations(st->services, false);

		if (SnapLockRelations(rels, &st->locked) == 0 && st->snap != NULL)
			break;
		if (st->snap != NULL)
		{
			PopActiveSnapshot();
			UnregisterSnapshot(st->snap);
		}
		if (attempt > 100)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("relations keep appearing in the schemas being snapshotted"),
					 errdetail("The set of relations did not settle after %d attempts.", attempt),
					 errhint("Retry when no DDL runs on the services.")));
		st->snap = RegisterSnapshot(GetLatestSnapshot());
		st->consistent_at = GetCurrentTimestamp();
		PushActiveSnapshot(st->snap);
	}

	st->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("datestyle", "ISO", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "3", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("bytea_output", "hex", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * SnapMakeTempDir
 *		The snapshot's id (from the instant; ids sort by time and never
 *		collide) and its temporary directory.
 */
static void
SnapMakeTempDir(SnapState *st)
{
	for (;;)
	{
		struct stat sb;

		st->id = SnapIdFromTimestamp(st->consistent_at);
		st->finaldir = psprintf("%s/%s", st->archive, st->id);
		if (stat(st->finaldir, &sb) != 0)
			break;
		st->consistent_at += 1; /* same microsecond as an earlier one */
	}
	st->tmpdir = psprintf("%s/.tmp-%s.%d", st->archive, st->id, MyProcPid);
	BacMakeDir(st->tmpdir);
	st->tmp_created = true;
}

/*
 * SnapReadLinks
 *		The rows of bac.links touching the snapshot's schemas, as they are
 *		at the instant, as a JSON array.  Read as the owner of the registry,
 *		under the snapshot (not through BacRegistryQuery, which takes a
 *		fresh snapshot).  The caller is connected to SPI.
 */
static char *
SnapReadLinks(SnapState *st, MemoryContext cxt)
{
	Oid			save_userid;
	int			save_sec;
	char	   *links;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(BacExtensionOwner(),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (SPI_execute_with_args("SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(l)),"
							  " '[]'::pg_catalog.jsonb)::pg_catalog.text FROM bac.links l"
							  " WHERE EXISTS (SELECT FROM pg_catalog.pg_class c"
							  "  WHERE c.relnamespace OPERATOR(pg_catalog.=) ANY ($1)"
							  "  AND (c.oid OPERATOR(pg_catalog.=) l.from_table::pg_catalog.regclass::pg_catalog.oid"
							  "   OR c.oid OPERATOR(pg_catalog.=) l.to_table::pg_catalog.regclass::pg_catalog.oid))",
							  1, (Oid[]) {OIDARRAYOID},
							  (Datum[]) {SnapNamespaceArray(st->services)},
							  NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read bac.links");
	links = SnapSpiText(0, 1, cxt);
	SetUserIdAndSecContext(save_userid, save_sec);
	return links;
}

/*
 * SnapReadIdentity
 *		What the instant is, read under the snapshot, into the manifest's
 *		header: transaction snapshot, WAL position, system, database and
 *		server, and the links at the instant.
 */
static void
SnapReadIdentity(SnapState *st)
{
	MemoryContext cxt = CurrentMemoryContext;
	BacManifest *m = st->manifest;

	SPI_connect();
	if (SPI_execute("SELECT pg_catalog.pg_current_snapshot()::pg_catalog.text,"
					" (CASE WHEN pg_catalog.pg_is_in_recovery()"
					"  THEN pg_catalog.pg_last_wal_replay_lsn()"
					"  ELSE pg_catalog.pg_current_wal_lsn() END)::pg_catalog.text,"
					" (SELECT c.system_identifier FROM pg_catalog.pg_control_system() c)::pg_catalog.text,"
					" pg_catalog.current_database()::pg_catalog.text,"
					" pg_catalog.current_setting('server_version'),"
					" CASE WHEN pg_catalog.to_regclass('bac.links') IS NOT NULL"
					"  THEN true ELSE false END,"
					" (CASE WHEN NOT pg_catalog.pg_is_in_recovery()"
					"  THEN pg_catalog.pg_current_wal_insert_lsn() END)::pg_catalog.text",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the snapshot's identity");
	m->txid_snapshot = SnapSpiText(0, 1, cxt);
	m->wal_lsn = SnapSpiText(0, 2, cxt);
	m->system_identifier = SnapSpiText(0, 3, cxt);
	m->database = SnapSpiText(0, 4, cxt);
	m->server_version = SnapSpiText(0, 5, cxt);
	m->wal_insert_lsn = SnapSpiText(0, 7, cxt);
	if (strcmp(SnapSpiText(0, 6, cxt), "t") == 0)
		m->links = SnapReadLinks(st, cxt);
	SPI_finish();
	if (m->txid_snapshot == NULL || m->wal_lsn == NULL)
		elog(ERROR, "could not read the snapshot's identity");

	m->format = PG_BAC_ARCHIVE_FORMAT;
	m->directory = st->tmpdir;
	m->extension_version = PG_BAC_VERSION;
	m->server_version_num = PG_VERSION_NUM;
	m->encoding = (char *) GetDatabaseEncodingName();
	m->snapshot_id = st->id;
	m->label = st->label;
	m->consistent_at = pstrdup(timestamptz_to_str(st->consistent_at));
	m->in_recovery = RecoveryInProgress();
	m->timeline = m->in_recovery ? 0 : GetWALInsertionTimeLine();
	m->compression = st->compression;
	m->workers = st->workers;
}

/*
 * SnapWriteScript
 *		Write one captured script of a service and list it in the manifest.
 */
static char *
SnapWriteScript(SnapState *st, SnapService *s, const char *name,
				const char *text)
{
	BacManifestFile *f = palloc0(sizeof(BacManifestFile));

	f->path = psprintf("%s/%s", s->dir, name);
	BacWriteNewFile(psprintf("%s/%s", st->tmpdir, f->path), text, strlen(text));
	BacSha256File(psprintf("%s/%s", st->tmpdir, f->path), f->sha256, &f->bytes);
	st->manifest->files = lappend(st->manifest->files, f);
	st->manifest->bytes += f->bytes;
	return f->path;
}

/*
 * SnapCaptureDDL
 *		The DDL of every schema, with every lock held, written as each
 *		service's pre-data and post-data scripts.
 */
static void
SnapCaptureDDL(SnapState *st)
{
	ListCell   *lc;
	List	   *nspoids = NIL;
	BacGroupDDL *group;
	int			i = 0;

	/* all schemas at once: one dependency order over the snapshot */
	foreach(lc, st->services)
		nspoids = lappend_oid(nspoids, ((SnapService *) lfirst(lc))->nspoid);
	group = BacCaptureGroupDDL(nspoids);

	foreach(lc, st->services)
	{
		SnapService *s = lfirst(lc);
		char	   *sdir = psprintf("%s/%s", st->tmpdir, s->dir);

		CHECK_FOR_INTERRUPTS();
		ereport(DEBUG1,
				(errmsg("snapshot: capturing service \"%s\" (schema \"%s\")",
						s->service, s->schema)));
		s->ddl = list_nth(group->schemas, i++);
		BacMakeDir(sdir);
		BacMakeDir(psprintf("%s/data", sdir));
		s->pre_path = SnapWriteScript(st, s, "pre-data.sql", s->ddl->pre_data);
		s->post_path = SnapWriteScript(st, s, "post-data.sql", s->ddl->post_data);
		st->ntables += list_length(s->ddl->tables);
	}
}

/*
 * SnapCountBlocks
 *		Lock any table of the captured lists not locked yet (should not
 *		happen: they are in the schemas) and count the blocks of all the
 *		ordinary tables, to size the slices.
 */
static void
SnapCountBlocks(SnapState *st)
{
	ListCell   *lc;

	st->total_blocks = 0;
	foreach(lc, st->services)
	{
		SnapService *s = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, s->ddl->tables)
		{
			Oid			relid = lfirst_oid(lc2);

			if (!list_member_oid(st->locked, relid))
			{
				LockRelationOid(relid, AccessShareLock);
				st->locked = lappend_oid(st->locked, relid);
			}
			if (get_rel_relkind(relid) == RELKIND_RELATION)
			{
				Relation	rel = table_open(relid, NoLock);

				st->total_blocks += RelationGetNumberOfBlocks(rel);
				table_close(rel, NoLock);
			}
		}
	}
}

/*
 * SnapCheckReadable
 *		BeginCopyTo checks no privileges: a schema owner must still be
 *		allowed to read every table of the schema, and not be subject to
 *		row-level security (rows it cannot see would silently be missing
 *		from the snapshot).
 */
static void
SnapCheckReadable(SnapService *s, SnapTable *t)
{
	if (pg_class_aclcheck(t->relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to snapshot table %s.%s",
						quote_identifier(s->schema), quote_identifier(t->name)),
				 errdetail("A snapshot reads every table of the service's schema."),
				 errhint("Grant SELECT on the table to the role taking the snapshot, or run it as a superuser.")));
	if (check_enable_rls(t->relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row-level security hides rows of table %s.%s from the role taking the snapshot",
						quote_identifier(s->schema), quote_identifier(t->name)),
				 errdetail("A snapshot must contain every row."),
				 errhint("Take the snapshot as a superuser, the table owner, or a role with BYPASSRLS.")));
}

/*
 * SnapAddTask
 *		A new, zeroed copy task at the end of the task array.
 */
static BacCopyTask *
SnapAddTask(SnapState *st)
{
	BacCopyTask *task;

	if (st->ntasks == st->maxtasks)
	{
		st->maxtasks *= 2;
		st->tasks = repalloc(st->tasks, sizeof(BacCopyTask) * st->maxtasks);
	}
	task = &st->tasks[st->ntasks++];
	memset(task, 0, sizeof(BacCopyTask));
	return task;
}

/*
 * SnapPlanTable
 *		The copy tasks of one table.  Tables are the units of parallel work.
 *		A table is cut into TID range slices only when it is more than one
 *		process's fair share of all the data (and at least twice
 *		BAC_SLICE_MIN_BLOCKS): slices go through the planner and a TID range
 *		scan, which costs a little more than a plain table scan, so they are
 *		used only where they shorten the critical path.
 */
static void
SnapPlanTable(SnapState *st, SnapService *s, int ti)
{
	SnapTable  *t = &st->tables[ti];
	Relation	rel = table_open(t->relid, NoLock);
	BlockNumber nblocks = 0;
	int			nslices = 1;
	int			k;

	t->name = pstrdup(RelationGetRelationName(rel));
	SnapCheckReadable(s, t);
	t->has_data = (rel->rd_rel->relkind == RELKIND_RELATION);
	if (t->has_data)
		nblocks = RelationGetNumberOfBlocks(rel);
	if (t->has_data && st->workers > 1 &&
		nblocks >= 2 * BAC_SLICE_MIN_BLOCKS &&
		(uint64) nblocks * st->workers > st->total_blocks)
		nslices = Min(nblocks / BAC_SLICE_MIN_BLOCKS, st->workers);

	for (k = 0; t->has_data && k < nslices; k++)
	{
		BacCopyTask *task = SnapAddTask(st);
		const char *ext = BacCompressionExtension(st->compression);
		char	   *rel_path;

		if (nslices == 1)
			rel_path = psprintf("%s/data/%03d.copy%s", s->dir, t->position, ext);
		else
			rel_path = psprintf("%s/data/%03d.%d.copy%s", s->dir, t->position,
								k + 1, ext);
		t->files = lappend(t->files, rel_path);
		task->relid = t->relid;
		task->table_index = ti;
		task->path = psprintf("%s/%s", st->tmpdir, rel_path);
		task->size_hint = nslices == 1 ? nblocks : nblocks / nslices;
		if (nslices > 1)
			task->sql = BacCopySliceQuery(rel, nblocks, k, nslices);
	}
	table_close(rel, NoLock);
}

/*
 * SnapPlanTasks
 *		The tables of every service in load order, and their copy tasks.
 */
static void
SnapPlanTasks(SnapState *st)
{
	ListCell   *lc;
	int			ti = 0;

	SnapCountBlocks(st);
	st->tables = palloc0(sizeof(SnapTable) * Max(st->ntables, 1));
	st->maxtasks = Max(st->ntables, 1) + 16;
	st->tasks = palloc0(sizeof(BacCopyTask) * st->maxtasks);
	foreach(lc, st->services)
	{
		SnapService *s = lfirst(lc);
		ListCell   *lc2;
		int			pos = 0;

		foreach(lc2, s->ddl->tables)
		{
			SnapTable  *t = &st->tables[ti];

			CHECK_FOR_INTERRUPTS();
			t->relid = lfirst_oid(lc2);
			t->service_index = foreach_current_index(lc);
			t->position = ++pos;
			SnapPlanTable(st, s, ti);
			ti++;
		}
	}
}

/*
 * SnapTaskCompare
 *		qsort comparator: biggest tasks first, so that the processes finish
 *		together; ties in plan order.
 */
static int
SnapTaskCompare(const void *a, const void *b)
{
	const BacCopyTask *ta = a;
	const BacCopyTask *tb = b;

	if (ta->size_hint != tb->size_hint)
		return ta->size_hint > tb->size_hint ? -1 : 1;
	if (ta->table_index != tb->table_index)
		return ta->table_index < tb->table_index ? -1 : 1;
	return strcmp(ta->path, tb->path);
}

/*
 * SnapDataTables
 *		How many of the tables have data to copy (for bac.progress).
 */
static int
SnapDataTables(SnapState *st)
{
	int			i;
	int			n = 0;

	for (i = 0; i < st->ntables; i++)
		n += st->tables[i].has_data ? 1 : 0;
	return n;
}

/*
 * SnapCopyData
 *		Release the relations without data (done with since the DDL
 *		capture), then copy every task under the same active snapshot and
 *		add the results up per table.
 */
static void
SnapCopyData(SnapState *st)
{
	ListCell   *lc;
	int			i;

	foreach(lc, st->locked)
	{
		Oid			oid = lfirst_oid(lc);
		bool		data = false;

		for (i = 0; i < st->ntables; i++)
		{
			if (st->tables[i].relid == oid && st->tables[i].has_data)
				data = true;
		}
		if (!data)
			BacReleaseRelationLocks(oid, st->preheld);
	}
	if (st->ntasks > 1)
		qsort(st->tasks, st->ntasks, sizeof(BacCopyTask), SnapTaskCompare);
	BacRunCopyTasks(st->tasks, st->ntasks, st->ntables, st->workers,
					st->compression, st->preheld, SnapTableDone, st);
	for (i = 0; i < st->ntasks; i++)
	{
		SnapTable  *t = &st->tables[st->tasks[i].table_index];

		t->rows += st->tasks[i].rows;
		t->bytes += st->tasks[i].bytes;
		t->raw_bytes += st->tasks[i].raw_bytes;
	}
}

/*
 * SnapTableFiles
 *		The manifest's file entries of one table's data files, in load
 *		order.
 */
static List *
SnapTableFiles(SnapState *st, int ti)
{
	List	   *files = NIL;
	ListCell   *lc;
	int			i;

	foreach(lc, st->tables[ti].files)
	{
		char	   *fp = lfirst(lc);

		for (i = 0; i < st->ntasks; i++)
		{
			BacCopyTask *task = &st->tasks[i];

			if (task->table_index == ti &&
				strcmp(task->path + strlen(st->tmpdir) + 1, fp) == 0)
			{
				BacManifestFile *f = palloc0(sizeof(BacManifestFile));

				f->path = fp;
				f->bytes = task->bytes;
				memcpy(f->sha256, task->sha256, sizeof(f->sha256));
				files = lappend(files, f);
			}
		}
	}
	return files;
}

/*
 * SnapWriteManifest
 *		Fill the manifest's services, tables, files and totals, and write
 *		manifest.json, last.
 */
static void
SnapWriteManifest(SnapState *st)
{
	BacManifest *m = st->manifest;
	ListCell   *lc;
	int			ti;
	char	   *text;

	foreach(lc, st->services)
	{
		SnapService *s = lfirst(lc);
		BacManifestService *ms = palloc0(sizeof(BacManifestService));

		ms->service = s->service;
		ms->schema = s->schema;
		ms->directory = s->dir;
		ms->owner = s->owner;
		ms->service_group = s->service_group;
		ms->pre_data = s->pre_path;
		ms->post_data = s->post_path;
		ms->extensions = s->ddl->extensions;
		ms->extension_info = s->ddl->extension_info;
		ms->uncaptured = s->ddl->uncaptured;
		ms->pre_order = s->ddl->pre_order;
		ms->post_order = s->ddl->post_order;
		m->services = lappend(m->services, ms);
	}
	for (ti = 0; ti < st->ntables; ti++)
	{
		SnapTable  *t = &st->tables[ti];
		BacManifestService *ms = list_nth(m->services, t->service_index);
		BacManifestTable *mt = palloc0(sizeof(BacManifestTable));

		mt->name = t->name;
		mt->rows = (int64) t->rows;
		mt->bytes = t->bytes;
		mt->raw_bytes = t->raw_bytes;
		mt->files = t->files;
		ms->tables = lappend(ms->tables, mt);
		m->files = list_concat(m->files, SnapTableFiles(st, ti));
		m->rows += mt->rows;
		m->bytes += mt->bytes;
	}
	m->tables = st->ntables;
	BacWritePlainScripts(m, st->tmpdir);
	m->duration_us = GetCurrentTimestamp() - st->started;
	text = BacManifestText(m);
	BacWriteNewFile(psprintf("%s/%s", st->tmpdir, BAC_MANIFEST_NAME),
					text, strlen(text));
}

/*
 * SnapPublish
 *		Make the snapshot durable, then visible: fsync every directory,
 *		rename the temporary directory into place, fsync the archive.
 */
static void
SnapPublish(SnapState *st)
{
	ListCell   *lc;

	foreach(lc, st->services)
	{
		SnapService *s = lfirst(lc);

		BacFsyncPath(psprintf("%s/%s/data", st->tmpdir, s->dir), true);
		BacFsyncPath(psprintf("%s/%s", st->tmpdir, s->dir), true);
	}
	BacFsyncPath(st->tmpdir, true);
	if (rename(st->tmpdir, st->finaldir) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename \"%s\" to \"%s\": %m",
						st->tmpdir, st->finaldir)));
	st->tmp_created = false;
	BacFsyncPath(st->archive, true);
}

/*
 * SnapResultRow
 *		bac.snapshot()'s one result row.
 */
static void
SnapResultRow(SnapState *st, ReturnSetInfo *rsinfo)
{
	BacManifest *m = st->manifest;
	Datum		values[8];
	bool		nulls[8] = {0};
	Datum	   *names = palloc(sizeof(Datum) * Max(list_length(st->services), 1));
	Interval   *iv = palloc0(sizeof(Interval));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, st->services)
	{
		Name		nm = palloc0(NAMEDATALEN);

		namestrcpy(nm, ((SnapService *) lfirst(lc))->service);
		names[i++] = NameGetDatum(nm);
	}
	iv->time = m->duration_us;
	values[0] = CStringGetTextDatum(st->id);
	if (st->label)
		values[1] = CStringGetTextDatum(st->label);
	else
		nulls[1] = true;
	values[2] = TimestampTzGetDatum(st->consistent_at);
	values[3] = PointerGetDatum(construct_array(names, i, NAMEOID, NAMEDATALEN,
												false, TYPALIGN_CHAR));
	values[4] = Int32GetDatum(m->tables);
	values[5] = Int64GetDatum(m->rows);
	values[6] = Int64GetDatum(m->bytes);
	values[7] = IntervalPGetDatum(iv);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
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
	SnapState  *st = palloc0(sizeof(SnapState));
	ListCell   *lc;

	st->started = GetCurrentTimestamp();
	st->manifest = palloc0(sizeof(BacManifest));
	SnapCheckArguments(fcinfo, st);
	InitMaterializedSRF(fcinfo, 0);
	st->services = SnapResolveServices(PG_ARGISNULL(0) ? NULL :
									   PG_GETARG_ARRAYTYPE_P(0));
	st->archive = BacArchiveDirectory(true);
	BacProgressBegin(BAC_PROGRESS_SNAPSHOT, NULL, NULL);
	foreach(lc, st->services)
		BacProgressAddService(((SnapService *) lfirst(lc))->service);
	BacProgressPhase("locking");
	SnapTakeInstant(st);
	SnapMakeTempDir(st);
	BacProgressSnapshotId(st->id);
	PG_TRY();
	{
		SnapReadIdentity(st);
		BacProgressPhase("capturing DDL");
		SnapCaptureDDL(st);
		SnapPlanTasks(st);
		BacProgressTotals(SnapDataTables(st), -1);
		BacProgressPhase("copying");
		SnapCopyData(st);
		BacProgressPhase("writing manifest");
		SnapWriteManifest(st);
		SnapPublish(st);
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		if (st->tmp_created && !rmtree(st->tmpdir, true))
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not remove temporary directory \"%s\"", st->tmpdir),
					 errhint("It is removed by a later pg_bac call once this session ends.")));
		RESUME_INTERRUPTS();
		PG_RE_THROW();
	}
	PG_END_TRY();
	AtEOXact_GUC(true, st->save_nestlevel);
	PopActiveSnapshot();
	UnregisterSnapshot(st->snap);
	SnapResultRow(st, (ReturnSetInfo *) fcinfo->resultinfo);
	BacProgressEnd();
	ereport(NOTICE,
			(errmsg("snapshot written: %d services, %d tables, " INT64_FORMAT " rows",
					list_length(st->services), st->manifest->tables,
					st->manifest->rows)));
	return (Datum) 0;
}
