/*-------------------------------------------------------------------------
 *
 * restore_pitr.c
 *		Restore to an instant: bac.restore(service, target_time |
 *		target_lsn, ...) and bac.restore_group_at(services, target_time |
 *		target_lsn, ...).
 *
 * The newest snapshot that holds the services, lies in the change
 * archive's window and was taken before the target is the base; it is
 * restored as bac.restore does (restore.c), then the archive is replayed
 * onto the restored schemas up to the target (replay.c), all in the
 * caller's transaction, before the consequences report is computed.  A
 * group restored to one target is consistent among itself: every service
 * sees exactly the transactions committed before the target.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/restore_pitr.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "manifest.h"
#include "pitr.h"
#include "restore.h"

/*
 * rpt_id_cmp
 *		Newest snapshot id first (ids sort by time).
 */
static int
rpt_id_cmp(const ListCell *a, const ListCell *b)
{
	return -strcmp((char *) lfirst(a), (char *) lfirst(b));
}

/*
 * rpt_snapshot_ids
 *		The ids of the snapshots in the archive, newest first.
 */
static List *
rpt_snapshot_ids(void)
{
	char	   *archive = BacArchiveDirectory(false);
	List	   *ids = NIL;
	DIR		   *dir = AllocateDir(archive);
	struct dirent *de;

	while ((de = ReadDir(dir, archive)) != NULL)
	{
		if (BacValidSnapshotId(de->d_name))
			ids = lappend(ids, pstrdup(de->d_name));
	}
	FreeDir(dir);
	list_sort(ids, rpt_id_cmp);
	return ids;
}

/*
 * rpt_holds_services
 *		Is the manifest of this database, and does it hold every service?
 */
static bool
rpt_holds_services(BacManifest *m, List *services)
{
	ListCell   *lc;
	char	   *db = get_database_name(MyDatabaseId);
	char		sysid[32];

	snprintf(sysid, sizeof(sysid), UINT64_FORMAT, GetSystemIdentifier());
	if (db == NULL || strcmp(m->database, db) != 0 ||
		strcmp(m->system_identifier, sysid) != 0)
		return false;
	foreach(lc, services)
	{
		ListCell   *ls;
		bool		found = false;

		foreach(ls, m->services)
		{
			if (strcmp(((BacManifestService *) lfirst(ls))->service, lfirst(lc)) == 0)
				found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

/*
 * rpt_before_target
 *		Was the snapshot taken before the target?
 */
static bool
rpt_before_target(BacManifest *m, BacReplayTarget *t)
{
	if (t->lsn != InvalidXLogRecPtr)
		return BacManifestInstantLsn(m) <= t->lsn;
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
												   CStringGetDatum(m->consistent_at),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1))) <= t->time;
}

/*
 * rpt_pick_base
 *		The newest snapshot holding the services and taken before the
 *		target; it must lie in the change archive's window.
 */
static char *
rpt_pick_base(List *services, BacReplayTarget *t)
{
	BacChangesState a;
	ListCell   *lc;

	BacChangeArchiveHold();
	BacChangesReadState(MyDatabaseId, &a);
	if (!a.exists || a.window_lsn == InvalidXLogRecPtr)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this database has no change archive"),
				 errdetail("A restore to an instant replays the archived changes after a snapshot."),
				 errhint("Run bac.enable_pitr(), then take a snapshot.")));
	BacReplayAwaitArchive(t);
	foreach(lc, rpt_snapshot_ids())
	{
		char	   *id = lfirst(lc);
		BacManifest *m = BacReadManifest(id, 0);
		uint64		xmin;

		CHECK_FOR_INTERRUPTS();
		if (!rpt_holds_services(m, services) || !rpt_before_target(m, t))
			continue;
		xmin = DatumGetUInt64(DirectFunctionCall1(pg_snapshot_xmin,
												  DirectFunctionCall1(pg_snapshot_in,
																	  CStringGetDatum(m->txid_snapshot))));
		if (xmin < a.window_xid || BacManifestInstantLsn(m) < a.window_lsn)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the newest snapshot before the target is not a valid base for point-in-time restore"),
					 errdetail("The newest snapshot before the target, \"%s\", was taken before the change archive's window began at %X/%X (%s).",
							   id, LSN_FORMAT_ARGS(a.window_lsn),
							   timestamptz_to_str(a.window_time)),
					 errhint("Choose a target after a snapshot taken since then.")));
		ereport(NOTICE,
				(errmsg("base snapshot \"%s\" (%s)", id, m->consistent_at)));
		return id;
	}
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("no snapshot of these services was taken before the target"),
			 errhint("See bac.snapshots(); the target must come after a snapshot holding every service restored.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * rpt_target
 *		target_time and target_lsn from arguments n and n + 1: exactly one.
 */
static BacReplayTarget *
rpt_target(FunctionCallInfo fcinfo, int n)
{
	BacReplayTarget *t = palloc0(sizeof(BacReplayTarget));

	if (PG_ARGISNULL(n) == PG_ARGISNULL(n + 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exactly one of target_time and target_lsn is needed"),
				 errhint("Pass target_time => '...' or target_lsn => '...'; to restore a snapshot as it is, pass its snapshot_id.")));
	if (!PG_ARGISNULL(n))
	{
		t->has_time = true;
		t->time = PG_GETARG_TIMESTAMPTZ(n);
	}
	else
		t->lsn = PG_GETARG_LSN(n + 1);
	return t;
}

/*
 * RestoreReplayTo
 *		After the base is built: replay the archive onto the restored
 *		schemas up to the target (the hook restore.c calls).
 */
void
RestoreReplayTo(RestoreState *st)
{
	List	   *schemas = NIL;
	List	   *into = NIL;
	ListCell   *lc;
	BacReplayResult res;

	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		schemas = lappend(schemas, svc->ms->schema);
		into = lappend(into, svc->target);
	}
	BacReplay(st->manifest->txid_snapshot, BacManifestInstantLsn(st->manifest),
			  schemas, into, st->pitr_target, &res);
	if (res.transactions > 0)
		ereport(NOTICE,
				(errmsg("replayed %lld transactions (%lld changes) after the snapshot, the last committed at %s (LSN %X/%X)",
						(long long) res.transactions, (long long) res.changes,
						timestamptz_to_str(res.last_commit_time),
						LSN_FORMAT_ARGS(res.last_commit_lsn))));
	else
		ereport(NOTICE,
				(errmsg("no archived transaction of these services lies between the snapshot and the target")));
}

/*
 * bac.restore(service name, target_time timestamptz DEFAULT NULL,
 *			   target_lsn pg_lsn DEFAULT NULL, into_schema name DEFAULT NULL,
 *			   keep_previous boolean DEFAULT true, dry_run boolean DEFAULT
 *			   false, on_broken_links text DEFAULT 'warn', missing_roles text
 *			   DEFAULT 'error')
 *	RETURNS TABLE (link name, direction text, broken bigint, orphaned bigint,
 *				   detail text)
 *
 *	Restore one service as it was at target_time or target_lsn (one of
 *	them): the newest valid snapshot before it, plus the archived changes.
 *	The other arguments are those of bac.restore(snapshot_id, service, ...).
 */
PG_FUNCTION_INFO_V1(bac_restore_at);
Datum
bac_restore_at(PG_FUNCTION_ARGS)
{
	RestoreState *st = palloc0(sizeof(RestoreState));
	char	   *service;

	BacRequireSuperuser("bac.restore", "restore to an instant");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("service must not be NULL")));
	service = NameStr(*PG_GETARG_NAME(0));
	st->pitr_target = rpt_target(fcinfo, 1);
	RestoreArgOptions(fcinfo, 4, st);
	if (!PG_ARGISNULL(3))
		st->into_schema = pstrdup(NameStr(*PG_GETARG_NAME(3)));

	RestoreOneService(st, rpt_pick_base(list_make1(service), st->pitr_target),
					  service);
	return (Datum) 0;
}

/*
 * bac.restore_group_at(services name[], target_time timestamptz DEFAULT NULL,
 *					 target_lsn pg_lsn DEFAULT NULL, keep_previous boolean
 *					 DEFAULT true, dry_run boolean DEFAULT false,
 *					 on_broken_links text DEFAULT 'warn', missing_roles text
 *					 DEFAULT 'error')
 *	RETURNS TABLE (link name, direction text, broken bigint, orphaned bigint,
 *				   detail text)
 *
 *	Restore several services in place, all as they were at the same
 *	target_time or target_lsn.
 */
PG_FUNCTION_INFO_V1(bac_restore_group_at);
Datum
bac_restore_group_at(PG_FUNCTION_ARGS)
{
	RestoreState *st = palloc0(sizeof(RestoreState));
	List	   *names = NIL;
	List	   *services;
	ListCell   *lc;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	int			nestlevel;

	BacRequireSuperuser("bac.restore_group_at", "restore to an instant");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("services must not be NULL"),
				 errhint("Name the services to restore to the instant.")));
	st->pitr_target = rpt_target(fcinfo, 1);
	RestoreArgOptions(fcinfo, 3, st);
	n = BacNameArrayElements(PG_GETARG_ARRAYTYPE_P(0), "services",
							 "Pass services => '{orders,billing}'.", &elems, &nulls);
	for (i = 0; i < n; i++)
		if (!nulls[i])
			names = lappend(names, NameStr(*DatumGetName(elems[i])));

	nestlevel = RestoreBegin(st, rpt_pick_base(names, st->pitr_target));
	services = RestoreNamedServices(st->manifest, PG_GETARG_ARRAYTYPE_P(0));
	foreach(lc, services)
		st->services = lappend(st->services, RestoreNewService(lfirst(lc)));
	RestoreServices(st);
	RestoreEnd(nestlevel);
	return (Datum) 0;
}
