/*-------------------------------------------------------------------------
 *
 * restore.c
 *		Online, atomic restore of one service or a group of services from a
 *		snapshot, with the consequences for cross-service links reported:
 *		the SQL entry points and the driver.  The captured scripts are
 *		handled in restore_script.c, the schemas and the loading in
 *		restore_schema.c, the report in report.c.
 *
 * A restore runs entirely in the caller's transaction:
 *
 *	1. validate the arguments, read the manifest, refuse another archive
 *	   format version or another major server version;
 *	2. verify size and SHA-256 of every file it will read, parse the SQL
 *	   scripts and check the roles they name -- all before any change;
 *	3. in place: lock the service's schema and every relation in it
 *	   (ACCESS EXCLUSIVE, so lock_timeout applies), refuse with the list if
 *	   objects of other schemas depend on it, move the schema aside as
 *	   <schema>_before_<snapshot_id> (or to a transient name, dropped at the
 *	   end, when keep_previous is false);
 *	4. CREATE SCHEMA, run pre-data with search_path set to the new schema,
 *	   COPY each table's data file in (FREEZE where the server allows it),
 *	   run post-data (indexes, constraints, triggers, setval, grants);
 *	5. compute the consequences report (links and discarded rows), apply
 *	   on_broken_links, drop the old schema if keep_previous is false.
 *
 * dry_run does all of this inside an internal subtransaction and rolls it
 * back after the report is computed, so the report is exact and nothing
 * changes.  An error, a cancel or a crash at any point leaves the database
 * as it was, because nothing is committed before the caller commits.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/restore.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "progress.h"
#include "report_xmin.h"
#include "restore.h"

/*
 * RestoreParseOnBroken
 *		Decode on_broken_links; error listing the valid values otherwise.
 */
static BacOnBroken
RestoreParseOnBroken(const char *value)
{
	if (strcmp(value, "warn") == 0)
		return BAC_BROKEN_WARN;
	if (strcmp(value, "error") == 0)
		return BAC_BROKEN_ERROR;
	if (strcmp(value, "ignore") == 0)
		return BAC_BROKEN_IGNORE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for on_broken_links: \"%s\"", value),
			 errdetail("on_broken_links decides what a restore does when it leaves broken links."),
			 errhint("Valid values are \"warn\", \"error\" and \"ignore\".")));
	return BAC_BROKEN_WARN;		/* keep compiler quiet */
}

/*
 * RestoreParseMissingRoles
 *		Decode missing_roles; error listing the valid values otherwise.
 */
static BacMissingRoles
RestoreParseMissingRoles(const char *value)
{
	if (strcmp(value, "error") == 0)
		return BAC_ROLES_ERROR;
	if (strcmp(value, "current_user") == 0)
		return BAC_ROLES_CURRENT_USER;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for missing_roles: \"%s\"", value),
			 errdetail("missing_roles decides what a restore does with owner and grantee roles that do not exist here."),
			 errhint("Valid values are \"error\" and \"current_user\".")));
	return BAC_ROLES_ERROR;		/* keep compiler quiet */
}


/*
 * RestorePrepareServices
 *		For each service: the schema to restore into, the live schema now
 *		bearing its name (if any) and its owner, and the caller's privilege:
 *		owner of the live schema, or superuser to recreate a missing one;
 *		only a superuser restores a snapshot of another database.
 */
static void
RestorePrepareServices(RestoreState *st)
{
	ListCell   *lc;

	BacCheckSnapshotDatabase(st->manifest, "restore");
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		svc->target = st->into_schema ? pstrdup(st->into_schema) : svc->ms->schema;
		svc->live_nsp = get_namespace_oid(svc->ms->schema, true);
		if (OidIsValid(svc->live_nsp))
		{
			HeapTuple	tup = SearchSysCache1(NAMESPACEOID,
											  ObjectIdGetDatum(svc->live_nsp));

			if (!HeapTupleIsValid(tup))
				elog(ERROR, "cache lookup failed for schema %u", svc->live_nsp);
			svc->live_owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
			ReleaseSysCache(tup);
			svc->live_name = svc->ms->schema;
			BacCheckSchemaPrivilege(svc->live_nsp, "restore");
		}
		else if (!superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to restore service \"%s\"",
							svc->ms->service),
					 errdetail("Schema \"%s\" does not exist here; only a superuser may recreate it.",
							   svc->ms->schema),
					 errhint("Ask a superuser to restore it, or to create the schema with you as its owner.")));
		if (st->into_schema && OidIsValid(get_namespace_oid(st->into_schema, true)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_SCHEMA),
					 errmsg("schema \"%s\" already exists", st->into_schema),
					 errdetail("into_schema must name a schema that does not exist yet."),
					 errhint("Choose another name, or drop that schema first.")));
	}
}

/*
 * RestoreVerifyAndRead
 *		Before any change: size and SHA-256 of every file to be read, the
 *		scripts read and parsed, the roles they name checked.
 */
static void
RestoreVerifyAndRead(RestoreState *st)
{
	List	   *paths = NIL;
	ListCell   *lc;
	instr_time	start,
				elapsed;

	INSTR_TIME_SET_CURRENT(start);
	foreach(lc, st->services)
		paths = list_concat(paths,
							BacManifestServiceFiles(st->manifest, ((RestoreService *) lfirst(lc))->ms));
	BacVerifyFilesOrError(st->manifest, paths);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	ereport(NOTICE,
			(errmsg("verified %d files of snapshot \"%s\" in %.3f s",
					list_length(paths), st->manifest->snapshot_id,
					INSTR_TIME_GET_DOUBLE(elapsed))));
	foreach(lc, st->services)
		RestoreReadScripts(st, (RestoreService *) lfirst(lc));
	RestoreCheckRoles(st);
}

/*
 * RestoreMoveAside
 *		In place: lock every live schema, refuse when objects of other
 *		schemas depend on them, and rename each out of the way.
 */
static void
RestoreMoveAside(RestoreState *st)
{
	ListCell   *lc;

	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		if (OidIsValid(svc->live_nsp))
			RestoreLockSchema(svc->live_nsp, svc->ms->schema);
	}
	RestoreCheckOtherDatabase(st);
	RestoreCheckExtensions(st);
	RestoreCheckForeignDependents(st->services);
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		if (!OidIsValid(svc->live_nsp))
			continue;
		svc->aside = RestoreAsideName(svc->ms->schema, st->manifest->snapshot_id,
									  st->keep_previous);
		if (OidIsValid(get_namespace_oid(svc->aside, true)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_SCHEMA),
					 errmsg("schema \"%s\" already exists", svc->aside),
					 errdetail("The live schema \"%s\" would be kept under that name.",
							   svc->ms->schema),
					 errhint("Drop schema \"%s\" first, or pass keep_previous => false.",
							 svc->aside)));
		RestoreSchemaCommand(psprintf("ALTER SCHEMA %s RENAME TO %s",
									  quote_identifier(svc->ms->schema),
									  quote_identifier(svc->aside)), true);
		ereport(DEBUG1,
				(errmsg("schema %s moved aside as %s",
						quote_identifier(svc->ms->schema),
						quote_identifier(svc->aside))));
	}
}

/* GUC: maintenance_work_mem (kB) of a restore's post-data; <= 0: unchanged */
int			bac_restore_maintenance_work_mem = BAC_RESTORE_MWM_DEFAULT;

/*
 * RestorePostDataMemory
 *		Raise maintenance_work_mem to bac.restore_maintenance_work_mem (when
 *		that is larger) for the post-data scripts, whose index builds run
 *		in this transaction: a btree build gets one parallel worker per 32 MB
 *		of it beyond the leader's share (up to
 *		max_parallel_maintenance_workers), and sorts in memory when the
 *		index fits.  Returns the GUC nest level to hand to AtEOXact_GUC(true,
 *		level), which sets the value back (an error does too).
 */
static int
RestorePostDataMemory(void)
{
	int			level = NewGUCNestLevel();
	int			kb = Max(bac_restore_maintenance_work_mem, 1024);

	if (bac_restore_maintenance_work_mem > 0 && kb > maintenance_work_mem)
	{
		(void) set_config_option("maintenance_work_mem", psprintf("%d", kb),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
		ereport(DEBUG1,
				(errmsg("post-data runs with maintenance_work_mem = %d kB", kb)));
	}
	return level;
}

/*
 * RestoreBuild
 *		Create every schema (moving the extensions installed in a schema it
 *		replaces into it) and run its pre-data script; then load the data of
 *		every service; then run every post-data script.  Services restored
 *		together from a snapshot that recorded one order over them run their
 *		scripts interleaved in that order (restore_order.c).
 */
static void
RestoreBuild(RestoreState *st)
{
	ListCell   *lc;
	bool		in_order = RestoreHasOrder(st);
	int			nestlevel;

	BacProgressPhase("pre-data");
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		if (OidIsValid(svc->live_nsp) && st->into_schema == NULL)
		{
			/* the same owner as the schema it replaces */
			RestoreSchemaCommand(psprintf("CREATE SCHEMA %s AUTHORIZATION %s",
										  quote_identifier(svc->target),
										  quote_identifier(GetUserNameFromId(svc->live_owner, false))),
								 true);
		}
		else
			RestoreSchemaCommand(psprintf("CREATE SCHEMA %s",
										  quote_identifier(svc->target)), false);
		RestoreMoveExtensions(st, svc);
		if (!in_order)
			RestoreRunScript(svc, "pre-data", svc->pre_sql, svc->pre_stmts,
							 st->missing_roles);
	}
	BacProgressPhase("loading");
	if (in_order)
		RestoreRunInOrder(st, false);
	foreach(lc, st->services)
		RestoreLoadData(st->manifest, (RestoreService *) lfirst(lc));
	BacProgressPhase("post-data");
	BacProgressTable(NULL);
	nestlevel = RestorePostDataMemory();
	if (in_order)
		RestoreRunInOrder(st, true);
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		if (!in_order)
			RestoreRunScript(svc, "post-data", svc->post_sql, svc->post_stmts,
							 st->missing_roles);
		ereport(DEBUG1,
				(errmsg("service \"%s\" restored into schema %s from snapshot \"%s\"",
						svc->ms->service, quote_identifier(svc->target),
						st->manifest->snapshot_id)));
	}
	AtEOXact_GUC(true, nestlevel);
}

/*
 * RestoreComputeReport
 *		The consequences report, computed as the extension owner (it counts
 *		rows of other services' tables; it shows only counts).
 */
static void
RestoreComputeReport(RestoreState *st)
{
	Oid			save_userid;
	int			save_sec;
	instr_time	start,
				elapsed;

	INSTR_TIME_SET_CURRENT(start);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	RestoreBecomeAdmin();
	BacXminPrepare(st->manifest);
	st->broken = RestoreReport(st->services, st->ts, st->desc);
	SetUserIdAndSecContext(save_userid, save_sec);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	ereport(DEBUG1,
			(errmsg("computed the consequences report in %.3f s",
					INSTR_TIME_GET_DOUBLE(elapsed))));
}

/*
 * RestoreConclude
 *		Apply on_broken_links, and drop the old copies when they are not
 *		kept.
 */
static void
RestoreConclude(RestoreState *st)
{
	ListCell   *lc;
	int			nestlevel;

	if (st->broken > 0 && st->on_broken == BAC_BROKEN_ERROR && !st->dry_run)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("restore would leave %lld broken links", (long long) st->broken),
				 errdetail("Rows of one service would refer to rows of another that do not exist."),
				 errhint("Run it with dry_run => true to see the report, restore the linked services together with bac.restore_group(), or pass on_broken_links => 'warn'.")));
	if (st->broken > 0 && st->on_broken != BAC_BROKEN_IGNORE)
		ereport(WARNING,
				(errmsg(st->dry_run ? "the restore would leave %lld broken links" :
						"the restore leaves %lld broken links",
						(long long) st->broken),
				 errhint("See the rows with direction 'outgoing' or 'incoming' of the report.")));
	if (st->keep_previous || st->into_schema != NULL)
		return;
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("client_min_messages", "warning",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		if (svc->aside)
			RestoreSchemaCommand(psprintf("DROP SCHEMA %s CASCADE",
										  quote_identifier(svc->aside)),
								 true);
	}
	AtEOXact_GUC(true, nestlevel);
}

/*
 * RestoreChanges
 *		Every step that changes the database, in order.
 */
static void
RestoreChanges(RestoreState *st)
{
	BacProgressPhase("moving aside");
	if (st->into_schema == NULL)
		RestoreMoveAside(st);
	RestoreBuild(st);
	if (st->pitr_target != NULL)
	{
		BacProgressPhase("replay");
		RestoreReplayTo(st);
	}
	BacProgressPhase("report");
	RestoreComputeReport(st);
	BacProgressPhase("concluding");
	RestoreConclude(st);
}

/*
 * RestoreDryRun
 *		The changes inside an internal subtransaction rolled back after the
 *		report is computed: the report is exact and nothing changes.  An
 *		error rolls the subtransaction back too, then is rethrown, so the
 *		caller's transaction sees one ordinary error.
 */
static void
RestoreDryRun(RestoreState *st)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction("bac_restore_dry_run");
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		RestoreChanges(st);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ReThrowError(edata);
	}
	PG_END_TRY();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	ereport(NOTICE,
			(errmsg("dry run: nothing was changed")));
}

/*
 * RestoreProgressTotals
 *		The services, tables and bytes of data files the restore goes
 *		through, for bac.progress.
 */
static void
RestoreProgressTotals(RestoreState *st)
{
	ListCell   *lc;
	ListCell   *lf;
	int			tables = 0;
	int64		bytes = 0;

	foreach(lc, st->services)
	{
		BacManifestService *ms = ((RestoreService *) lfirst(lc))->ms;

		BacProgressAddService(ms->service);
		tables += list_length(ms->tables);
	}
	foreach(lf, st->manifest->files)
	{
		BacManifestFile *f = lfirst(lf);

		foreach(lc, st->services)
		{
			BacManifestService *ms = ((RestoreService *) lfirst(lc))->ms;

			if (strncmp(f->path, ms->directory, strlen(ms->directory)) == 0 &&
				strncmp(f->path + strlen(ms->directory), "/data/", 6) == 0)
				bytes += f->bytes;
		}
	}
	BacProgressTotals(tables, bytes);
}

/*
 * RestoreSummary
 *		The one NOTICE of a restore: what was restored, from where, and
 *		where the previous schemas are.
 */
static void
RestoreSummary(RestoreState *st)
{
	ListCell   *lc;
	ListCell   *lt;
	StringInfoData names;
	StringInfoData aside;
	int			tables = 0;
	int64		rows = 0;

	initStringInfo(&names);
	initStringInfo(&aside);
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		appendStringInfo(&names, "%s%s", names.len ? ", " : "",
						 quote_identifier(svc->target));
		if (svc->aside && st->keep_previous)
			appendStringInfo(&aside, "%s%s", aside.len ? ", " : "",
							 quote_identifier(svc->aside));
		foreach(lt, svc->ms->tables)
		{
			tables++;
			rows += ((BacManifestTable *) lfirst(lt))->rows;
		}
	}
	ereport(NOTICE,
			(errmsg("restored schema%s %s from snapshot \"%s\": %d tables, " INT64_FORMAT " rows",
					list_length(st->services) > 1 ? "s" : "", names.data,
					st->manifest->snapshot_id, tables, rows),
			 aside.len ? errdetail("The previous contents are kept as %s.", aside.data) : 0));
}

/*
 * RestoreServices
 *		The restore proper; see the file header for the order of steps.  The
 *		caller is connected to SPI.
 */
void
RestoreServices(RestoreState *st)
{
	RestorePrepareServices(st);
	RestoreProgressTotals(st);
	BacProgressPhase("verifying");
	RestoreVerifyAndRead(st);
	if (st->dry_run)
		RestoreDryRun(st);
	else
	{
		RestoreChanges(st);
		RestoreSummary(st);
	}
}

/*
 * RestoreBegin
 *		What both entry points do first: connect to SPI, pin search_path
 *		to pg_catalog, pg_temp (no object of the caller's search_path can
 *		capture an operator or function the restore's own queries use) and
 *		turn JIT off (catalog queries look expensive to the planner;
 *		compiling them costs seconds), then read the manifest, once.
 *		Returns the GUC nest level for RestoreEnd.
 */
int
RestoreBegin(RestoreState *st, const char *snapshot_id)
{
	int			nestlevel;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nestlevel = BacPinSearchPath();
	(void) set_config_option("jit", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	st->manifest = BacReadManifest(snapshot_id, BAC_MANIFEST_SAME_MAJOR);
	BacProgressBegin(BAC_PROGRESS_RESTORE, st->manifest->snapshot_id, NULL);
	return nestlevel;
}

/*
 * RestoreEnd
 *		Undo RestoreBegin.
 */
void
RestoreEnd(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
	SPI_finish();
	BacProgressEnd();
}

/*
 * RestoreNewService
 *		A service of the manifest as a service to restore.
 */
RestoreService *
RestoreNewService(BacManifestService *ms)
{
	RestoreService *svc = palloc0(sizeof(RestoreService));

	svc->ms = ms;
	return svc;
}

/*
 * RestoreArgText
 *		A text argument that must not be NULL.
 */
char *
RestoreArgText(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what),
				 errhint("Pass a value, or leave the argument out to get its default.")));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * RestoreArgBool
 *		A boolean argument that must not be NULL.
 */
static bool
RestoreArgBool(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what),
				 errhint("Pass true or false, or leave the argument out to get its default.")));
	return PG_GETARG_BOOL(n);
}

/*
 * RestoreArgOptions
 *		keep_previous, dry_run, on_broken_links and missing_roles, the
 *		arguments both entry points share, from argument first on; and the
 *		report's tuplestore.
 */
void
RestoreArgOptions(FunctionCallInfo fcinfo, int first, RestoreState *st)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	st->keep_previous = RestoreArgBool(fcinfo, first, "keep_previous");
	st->dry_run = RestoreArgBool(fcinfo, first + 1, "dry_run");
	st->on_broken = RestoreParseOnBroken(RestoreArgText(fcinfo, first + 2,
														"on_broken_links"));
	st->missing_roles = RestoreParseMissingRoles(RestoreArgText(fcinfo, first + 3,
																"missing_roles"));
	InitMaterializedSRF(fcinfo, 0);
	st->ts = rsinfo->setResult;
	st->desc = rsinfo->setDesc;
}

/*
 * RestoreWarnGroup
 *		A service of a group restored in place without the rest of its
 *		group: warn, naming the others.
 */
static void
RestoreWarnGroup(BacManifest *m, BacManifestService *ms)
{
	StringInfoData mates;
	ListCell   *lc;

	initStringInfo(&mates);
	foreach(lc, m->services)
	{
		BacManifestService *o = lfirst(lc);

		if (o != ms && o->service_group &&
			strcmp(o->service_group, ms->service_group) == 0)
			appendStringInfo(&mates, "%s%s", mates.len ? ", " : "",
							 quote_identifier(o->service));
	}
	if (mates.len > 0)
		ereport(WARNING,
				(errmsg("service \"%s\" belongs to group \"%s\" and is restored without %s",
						ms->service, ms->service_group, mates.data),
				 errdetail("The services of a group are meant to be restored together."),
				 errhint("Use bac.restore_group() to restore the whole group to the same instant.")));
}

/*
 * RestoreOneService
 *		Restore one service of a snapshot with the options already in st,
 *		warning when it leaves its group behind.
 */
void
RestoreOneService(RestoreState *st, const char *snapshot_id,
				  const char *service)
{
	BacManifestService *ms;
	int			nestlevel;

	nestlevel = RestoreBegin(st, snapshot_id);
	ms = BacManifestFindService(st->manifest, service);
	if (st->into_schema && strcmp(st->into_schema, ms->schema) == 0)
		st->into_schema = NULL;
	if (ms->service_group != NULL && st->into_schema == NULL)
		RestoreWarnGroup(st->manifest, ms);
	st->services = list_make1(RestoreNewService(ms));
	RestoreServices(st);
	RestoreEnd(nestlevel);
}

/*
 * bac.restore(snapshot_id text, service name, into_schema name DEFAULT NULL,
 *			   keep_previous boolean DEFAULT true, dry_run boolean DEFAULT false,
 *			   on_broken_links text DEFAULT 'warn',
 *			   missing_roles text DEFAULT 'error')
 *	RETURNS TABLE (link name, direction text, broken bigint, orphaned bigint,
 *				   detail text)
 *
 *	Restore one service of a snapshot, in place (into_schema NULL) or beside
 *	the live schema under the name into_schema, in the caller's transaction.
 *	keep_previous keeps the replaced schema as <schema>_before_<snapshot_id>;
 *	dry_run reports without changing anything; on_broken_links is 'warn',
 *	'error' or 'ignore'; missing_roles is 'error' or 'current_user'.
 */
PG_FUNCTION_INFO_V1(bac_restore);
Datum
bac_restore(PG_FUNCTION_ARGS)
{
	RestoreState *st = palloc0(sizeof(RestoreState));
	char	   *snapshot_id = RestoreArgText(fcinfo, 0, "snapshot_id");

	RestoreArgOptions(fcinfo, 3, st);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("service must not be NULL"),
				 errhint("Name the service to restore; bac.restore_group() restores several.")));
	if (!PG_ARGISNULL(2))
		st->into_schema = pstrdup(NameStr(*PG_GETARG_NAME(2)));

	RestoreOneService(st, snapshot_id, NameStr(*PG_GETARG_NAME(1)));
	return (Datum) 0;
}

/*
 * RestoreNamedServices
 *		The services a restore_group() array names, each once, then the
 *		other services of their groups.
 */
List *
RestoreNamedServices(BacManifest *m, ArrayType *arr)
{
	List	   *named = NIL;
	List	   *result;
	Datum	   *names;
	bool	   *nulls;
	int			n,
				i;
	ListCell   *lc,
			   *lo;

	deconstruct_array(arr, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
					  &names, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("services must not be empty"),
				 errhint("Pass NULL to restore every service of the snapshot.")));
	for (i = 0; i < n; i++)
	{
		BacManifestService *ms;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("services must not contain NULL"),
					 errhint("Name each service to restore.")));
		ms = BacManifestFindService(m, NameStr(*DatumGetName(names[i])));
		if (list_member_ptr(named, ms))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("service \"%s\" is named twice", ms->service),
					 errhint("Name each service once.")));
		named = lappend(named, ms);
	}

	/* a service brings its whole group along */
	result = list_copy(named);
	foreach(lc, named)
	{
		BacManifestService *ms = lfirst(lc);

		if (ms->service_group == NULL)
			continue;
		foreach(lo, m->services)
		{
			BacManifestService *o = lfirst(lo);

			if (o->service_group && strcmp(o->service_group, ms->service_group) == 0 &&
				!list_member_ptr(result, o))
			{
				result = lappend(result, o);
				ereport(NOTICE,
						(errmsg("service \"%s\" is restored too: it is in group \"%s\" with \"%s\"",
								o->service, ms->service_group, ms->service)));
			}
		}
	}
	return result;
}

/*
 * bac.restore_group(snapshot_id text, services name[] DEFAULT NULL,
 *					 keep_previous boolean DEFAULT true,
 *					 dry_run boolean DEFAULT false,
 *					 on_broken_links text DEFAULT 'warn',
 *					 missing_roles text DEFAULT 'error')
 *	RETURNS TABLE (link name, direction text, broken bigint, orphaned bigint,
 *				   detail text)
 *
 *	Restore several services of one snapshot in place, to the same instant,
 *	in one transaction.  services NULL means every service of the snapshot.
 */
PG_FUNCTION_INFO_V1(bac_restore_group);
Datum
bac_restore_group(PG_FUNCTION_ARGS)
{
	RestoreState *st = palloc0(sizeof(RestoreState));
	char	   *snapshot_id = RestoreArgText(fcinfo, 0, "snapshot_id");
	List	   *services;
	ListCell   *lc;
	int			nestlevel;

	RestoreArgOptions(fcinfo, 2, st);
	nestlevel = RestoreBegin(st, snapshot_id);
	if (PG_ARGISNULL(1))
		services = st->manifest->services;
	else
		services = RestoreNamedServices(st->manifest, PG_GETARG_ARRAYTYPE_P(1));
	if (services == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("snapshot \"%s\" holds no services", snapshot_id),
				 errhint("Pick another snapshot.")));
	foreach(lc, services)
		st->services = lappend(st->services, RestoreNewService(lfirst(lc)));
	RestoreServices(st);
	RestoreEnd(nestlevel);
	return (Datum) 0;
}
