/*-------------------------------------------------------------------------
 *
 * archiver.c
 *		Background workers that keep the change archive current: a launcher
 *		that finds the databases with a pg_bac slot, and one worker per such
 *		database that drains its slot in rounds.
 *
 * They run only when pg_bac is in shared_preload_libraries.  The launcher
 * needs no database: it looks at the replication slots every
 * BAC_LAUNCHER_NAPTIME ms and starts a worker for each slot named
 * pg_bac_<dboid> whose plugin is pg_bac and that has none.  A worker runs
 * pump rounds (pump.c) with a latch wait between them, and exits when its
 * slot is gone (bac.disable_pitr) or on SIGTERM.  After an error (a round
 * is all or nothing: nothing is confirmed before it is fsynced) the worker
 * exits and the launcher starts a new one.  A worker also prunes its
 * change archive (retention.c) whenever the number of segments changed and
 * every BAC_PRUNE_INTERVAL ms; a failed prune is reported and retried, it
 * does not stop the archiving.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/archiver.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pg_bac.h"
#include "pitr.h"

#define BAC_LAUNCHER_NAPTIME	2000	/* ms between looks at the slots */
#define BAC_WORKER_NAPTIME		1000	/* ms between idle rounds */
#define BAC_WORKER_SESSION		10000	/* ms one decoding context may serve */
#define BAC_MAX_ARCHIVERS		64
#define BAC_PRUNE_INTERVAL		(5 * 60 * 1000)	/* ms between prunes */

/* the launcher's view of the workers it started */
typedef struct ArcWorker
{
	Oid			dboid;
	BackgroundWorkerHandle *handle;
} ArcWorker;

static ArcWorker arc_workers[BAC_MAX_ARCHIVERS];
static int	arc_nworkers = 0;

PGDLLEXPORT void bac_archiver_launcher_main(Datum arg);
PGDLLEXPORT void bac_archiver_main(Datum arg);

/*
 * BacArchiverInit
 *		From _PG_init: register the launcher when preloaded.
 */
void
BacArchiverInit(void)
{
	BackgroundWorker bgw;

	if (!process_shared_preload_libraries_in_progress)
		return;
	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "pg_bac");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "bac_archiver_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "pg_bac change archive launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "pg_bac launcher");
	RegisterBackgroundWorker(&bgw);
}

/*
 * arc_slot_databases
 *		The databases that have a pg_bac slot.
 */
static List *
arc_slot_databases(void)
{
	List	   *result = NIL;
	int			i;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (i = 0; i < max_replication_slots; i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];

		if (!s->in_use || !OidIsValid(s->data.database))
			continue;
		if (strncmp(NameStr(s->data.name), BAC_PITR_SLOT_PREFIX,
					strlen(BAC_PITR_SLOT_PREFIX)) != 0 ||
			strcmp(NameStr(s->data.plugin), BAC_PITR_PLUGIN) != 0)
			continue;
		result = lappend_oid(result, s->data.database);
	}
	LWLockRelease(ReplicationSlotControlLock);
	return result;
}

/*
 * arc_start_worker
 *		Start the worker of one database.
 */
static void
arc_start_worker(Oid dboid, ArcWorker *slot)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "pg_bac");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "bac_archiver_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "pg_bac change archiver %u", dboid);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "pg_bac archiver");
	bgw.bgw_main_arg = ObjectIdGetDatum(dboid);
	bgw.bgw_notify_pid = MyProcPid;
	slot->dboid = dboid;
	if (!RegisterDynamicBackgroundWorker(&bgw, &slot->handle))
	{
		slot->handle = NULL;
		ereport(WARNING,
				(errmsg("could not start the pg_bac change archiver of database %u", dboid),
				 errhint("Raise max_worker_processes.")));
	}
}

/*
 * arc_launch_missing
 *		Start a worker for every database with a slot and no live worker.
 */
static void
arc_launch_missing(void)
{
	List	   *dbs = arc_slot_databases();
	ListCell   *lc;

	foreach(lc, dbs)
	{
		Oid			dboid = lfirst_oid(lc);
		int			i;
		pid_t		pid;

		for (i = 0; i < arc_nworkers; i++)
			if (arc_workers[i].dboid == dboid)
				break;
		if (i == arc_nworkers)
		{
			if (arc_nworkers == BAC_MAX_ARCHIVERS)
				continue;
			arc_nworkers++;
			arc_workers[i].handle = NULL;
		}
		if (arc_workers[i].handle != NULL &&
			GetBackgroundWorkerPid(arc_workers[i].handle, &pid) != BGWH_STOPPED)
			continue;
		arc_start_worker(dboid, &arc_workers[i]);
	}
	list_free(dbs);
}

/*
 * bac_archiver_launcher_main
 *		The launcher's loop.
 */
void
bac_archiver_launcher_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		arc_launch_missing();
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 BAC_LAUNCHER_NAPTIME, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * arc_round
 *		One pump round in a transaction of its own; false when the slot is
 *		gone.
 */
static bool
arc_round(Oid dboid, int64 *transactions)
{
	bool		found;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "pg_bac: archiving changes");
	found = BacPitrPumpRound(dboid, BAC_WORKER_SESSION, transactions);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return found;
}

/* when the worker last pruned, and how many segments there were then */
typedef struct ArcPruneState
{
	int			nsegments;		/* -1: never pruned */
	TimestampTz at;
} ArcPruneState;

/*
 * arc_prune
 *		Prune the change archive when its segments changed or the interval
 *		passed, in a transaction of its own; an error is logged and the
 *		worker goes on (the next prune retries).
 */
static void
arc_prune(ArcPruneState *ps)
{
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		int			n;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		n = list_length(BacListSegments(MyDatabaseId));
		if (n != ps->nsegments ||
			TimestampDifferenceExceeds(ps->at, now, BAC_PRUNE_INTERVAL))
		{
			BacPruneResult res;

			pgstat_report_activity(STATE_RUNNING, "pg_bac: pruning the change archive");
			BacPitrPrune(&res);
			if (res.removed > 0)
				ereport(LOG,
						(errmsg("removed %d change segments no kept snapshot needs", res.removed),
						 errdetail("%d segments are left; the change archive now starts at %X/%X.",
								   res.kept, LSN_FORMAT_ARGS(res.oldest_lsn))));
			ps->nsegments = res.kept;
			ps->at = now;
		}
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		RESUME_INTERRUPTS();
		ps->at = now;
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();
}

/*
 * bac_archiver_main
 *		A database's worker: rounds until its slot is gone.
 */
void
bac_archiver_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	ArcPruneState prune = {-1, 0};

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	for (;;)
	{
		int64		n = 0;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!arc_round(dboid, &n))
			break;
		arc_prune(&prune);
		if (n > 0)
			continue;
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 BAC_WORKER_NAPTIME, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}
