/*-------------------------------------------------------------------------
 *
 * progress.c
 *		bac.progress: one row per running pg_bac operation (snapshot,
 *		restore, export, verify), read from shared memory by any session.
 *
 * The operations call a small API: BacProgressBegin when they start,
 * BacProgressPhase at each named phase, BacProgressTotals once the work is
 * known, BacProgressTable / BacProgressAdvance per table and every few MB,
 * BacProgressEnd when done.  Each backend uses one slot of a fixed array
 * in shared memory, protected by a spinlock per slot; readers copy a slot
 * under its spinlock.
 *
 * Shared memory exists only when pg_bac is in shared_preload_libraries
 * (the request and startup hooks are installed from _PG_init then, chained
 * to any hooks installed before).  Without it every call here does
 * nothing and reading bac.progress is an error that says so.
 *
 * A slot is freed at the end of the operation whatever the outcome: by
 * BacProgressEnd; on ERROR or cancel by the abort of the (sub)transaction
 * the operation began in (transaction callbacks); on FATAL or backend exit
 * by a before_shmem_exit callback.  A backend that crashed takes the
 * whole server through crash recovery, which reinitialises shared memory;
 * in any case, a slot whose pid is no longer a live backend is neither
 * shown nor kept (it is reclaimed by the next operation that needs one).
 * Nested operations (bac.run_schedule's snapshot, a restore inside a
 * group restore) keep the outermost one's slot.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/progress.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "pg_bac.h"
#include "progress.h"

#define PROGRESS_TEXT		256
#define PROGRESS_NAME		(2 * NAMEDATALEN + 8)

/* one running operation */
typedef struct ProgressSlot
{
	slock_t		mutex;			/* protects every field below */
	int			pid;			/* 0: free */
	Oid			dboid;			/* database of the operation */
	Oid			userid;			/* role that runs it */
	BacProgressOp op;
	char		snapshot_id[64];
	char		services[PROGRESS_TEXT];	/* comma separated, truncated */
	char		phase[64];
	int			tables_done;
	int			tables_total;	/* -1: not known yet */
	int64		bytes_done;
	int64		bytes_total;	/* -1: not known yet */
	char		current_table[PROGRESS_NAME];
	TimestampTz started_at;
	TimestampTz updated_at;
} ProgressSlot;

/* the array in shared memory */
typedef struct ProgressShared
{
	int			nslots;
	ProgressSlot slots[FLEXIBLE_ARRAY_MEMBER];
} ProgressShared;

static ProgressShared *progress_shared = NULL;
static shmem_request_hook_type progress_prev_request = NULL;
static shmem_startup_hook_type progress_prev_startup = NULL;

/* this backend's slot, while an operation runs */
static ProgressSlot *progress_mine = NULL;
static int	progress_depth = 0; /* nesting of Begin/End */
static SubTransactionId progress_subid = InvalidSubTransactionId;
static bool progress_callbacks = false;

static int64 progress_pending = 0;	/* bytes not yet published */

static const char *const progress_op_names[] = {
	"snapshot", "restore", "export", "verify"
};

/*
 * ProgressSlots
 *		How many slots: one per backend that can run an operation.
 */
static int
ProgressSlots(void)
{
	return MaxConnections + max_worker_processes + 8;
}

/*
 * ProgressShmemSize
 *		Size of the shared array.
 */
static Size
ProgressShmemSize(void)
{
	return add_size(offsetof(ProgressShared, slots),
					mul_size(ProgressSlots(), sizeof(ProgressSlot)));
}

/*
 * ProgressShmemRequest
 *		shmem_request_hook: ask for the array.
 */
static void
ProgressShmemRequest(void)
{
	if (progress_prev_request)
		progress_prev_request();
	RequestAddinShmemSpace(ProgressShmemSize());
}

/*
 * ProgressShmemStartup
 *		shmem_startup_hook: create (postmaster) or attach to the array.
 */
static void
ProgressShmemStartup(void)
{
	bool		found;

	if (progress_prev_startup)
		progress_prev_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	progress_shared = ShmemInitStruct("pg_bac progress", ProgressShmemSize(), &found);
	if (!found)
	{
		int			i;

		progress_shared->nslots = ProgressSlots();
		for (i = 0; i < progress_shared->nslots; i++)
		{
			memset(&progress_shared->slots[i], 0, sizeof(ProgressSlot));
			SpinLockInit(&progress_shared->slots[i].mutex);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * BacProgressInit
 *		From _PG_init: install the shared memory hooks when preloaded.
 */
void
BacProgressInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	progress_prev_request = shmem_request_hook;
	shmem_request_hook = ProgressShmemRequest;
	progress_prev_startup = shmem_startup_hook;
	shmem_startup_hook = ProgressShmemStartup;
}

/*
 * ProgressRelease
 *		Free this backend's slot, if it has one.
 */
static void
ProgressRelease(void)
{
	ProgressSlot *slot = progress_mine;

	progress_mine = NULL;
	progress_depth = 0;
	progress_pending = 0;
	progress_subid = InvalidSubTransactionId;
	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->pid = 0;
	SpinLockRelease(&slot->mutex);
}

/*
 * ProgressXactCallback
 *		An operation that errors out (or is cancelled) ends with its
 *		transaction: free the slot.  Also at commit, should an operation
 *		not have called BacProgressEnd.
 */
static void
ProgressXactCallback(XactEvent event, void *arg)
{
	if (progress_mine != NULL &&
		(event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		 event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		 event == XACT_EVENT_PREPARE))
		ProgressRelease();
}

/*
 * ProgressSubXactCallback
 *		The abort of the subtransaction the operation began in (an error
 *		caught by an EXCEPTION block) frees the slot.
 */
static void
ProgressSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (progress_mine != NULL && event == SUBXACT_EVENT_ABORT_SUB &&
		mySubid == progress_subid)
		ProgressRelease();
}

/*
 * ProgressExit
 *		before_shmem_exit: a FATAL error or the end of the backend.
 */
static void
ProgressExit(int code, Datum arg)
{
	ProgressRelease();
}

/*
 * ProgressSetText
 *		Copy a string into a fixed field, truncated at a character boundary.
 */
static void
ProgressSetText(char *field, size_t size, const char *value)
{
	int			len;

	if (value == NULL)
	{
		field[0] = '\0';
		return;
	}
	len = pg_mbcliplen(value, strlen(value), size - 1);
	memcpy(field, value, len);
	field[len] = '\0';
}

/*
 * BacProgressBegin
 *		An operation starts: take a free slot (or one of a backend that is
 *		gone).  Nothing without shared memory, or when an operation of this
 *		backend is running already (nested operations count as the outer).
 */
void
BacProgressBegin(BacProgressOp op, const char *snapshot_id, const char *services)
{
	int			i;

	if (progress_shared == NULL)
		return;
	if (progress_mine != NULL)
	{
		progress_depth++;
		return;
	}
	if (!progress_callbacks)
	{
		RegisterXactCallback(ProgressXactCallback, NULL);
		RegisterSubXactCallback(ProgressSubXactCallback, NULL);
		before_shmem_exit(ProgressExit, (Datum) 0);
		progress_callbacks = true;
	}
	for (i = 0; i < progress_shared->nslots && progress_mine == NULL; i++)
	{
		ProgressSlot *slot = &progress_shared->slots[i];
		int			pid;

		SpinLockAcquire(&slot->mutex);
		pid = slot->pid;
		if (pid == 0)
			slot->pid = MyProcPid;
		SpinLockRelease(&slot->mutex);
		if (pid != 0 && pid != MyProcPid && BackendPidGetProc(pid) == NULL)
		{
			/* a slot left by a backend that is gone: take it over */
			SpinLockAcquire(&slot->mutex);
			if (slot->pid == pid)
			{
				slot->pid = MyProcPid;
				pid = 0;
			}
			SpinLockRelease(&slot->mutex);
		}
		if (pid == 0)
			progress_mine = slot;
	}
	if (progress_mine == NULL)
		return;					/* all in use: the operation runs unseen */
	progress_depth = 1;
	progress_subid = GetCurrentSubTransactionId();

	SpinLockAcquire(&progress_mine->mutex);
	progress_mine->dboid = MyDatabaseId;
	progress_mine->userid = GetUserId();
	progress_mine->op = op;
	ProgressSetText(progress_mine->snapshot_id, sizeof(progress_mine->snapshot_id),
					snapshot_id);
	ProgressSetText(progress_mine->services, sizeof(progress_mine->services), services);
	ProgressSetText(progress_mine->phase, sizeof(progress_mine->phase), "starting");
	progress_mine->tables_done = 0;
	progress_mine->tables_total = -1;
	progress_mine->bytes_done = 0;
	progress_mine->bytes_total = -1;
	progress_mine->current_table[0] = '\0';
	progress_mine->started_at = progress_mine->updated_at = GetCurrentTimestamp();
	SpinLockRelease(&progress_mine->mutex);
}

/*
 * BacProgressSnapshotId
 *		The snapshot id, once known (a snapshot's id is its instant).
 */
void
BacProgressSnapshotId(const char *snapshot_id)
{
	if (progress_mine == NULL || progress_depth > 1)
		return;
	SpinLockAcquire(&progress_mine->mutex);
	ProgressSetText(progress_mine->snapshot_id, sizeof(progress_mine->snapshot_id),
					snapshot_id);
	SpinLockRelease(&progress_mine->mutex);
}

/*
 * BacProgressPhase
 *		The operation enters a named phase.
 */
void
BacProgressPhase(const char *phase)
{
	if (progress_mine == NULL || progress_depth > 1)
		return;
	SpinLockAcquire(&progress_mine->mutex);
	ProgressSetText(progress_mine->phase, sizeof(progress_mine->phase), phase);
	progress_mine->updated_at = GetCurrentTimestamp();
	SpinLockRelease(&progress_mine->mutex);
}

/*
 * BacProgressTotals
 *		How many tables and bytes the operation will go through (-1:
 *		unknown).
 */
void
BacProgressTotals(int tables_total, int64 bytes_total)
{
	if (progress_mine == NULL || progress_depth > 1)
		return;
	SpinLockAcquire(&progress_mine->mutex);
	progress_mine->tables_total = tables_total;
	progress_mine->bytes_total = bytes_total;
	progress_mine->updated_at = GetCurrentTimestamp();
	SpinLockRelease(&progress_mine->mutex);
}

/*
 * BacProgressTable
 *		The table being worked on now (NULL: none).
 */
void
BacProgressTable(const char *table)
{
	if (progress_mine == NULL || progress_depth > 1)
		return;
	SpinLockAcquire(&progress_mine->mutex);
	ProgressSetText(progress_mine->current_table,
					sizeof(progress_mine->current_table), table);
	progress_mine->updated_at = GetCurrentTimestamp();
	SpinLockRelease(&progress_mine->mutex);
}

/*
 * BacProgressAdvance
 *		tables more done, bytes more done.  Bytes alone are published
 *		once BAC_PROGRESS_BYTES_STEP of them accumulated, or with a table.
 *		Only the process that began the operation reports (parallel
 *		workers do not).
 */
void
BacProgressAdvance(int tables, int64 bytes)
{
	ProgressSlot *slot = progress_mine;

	if (slot == NULL || progress_depth > 1)
		return;
	progress_pending += bytes;
	if (tables == 0 && progress_pending < BAC_PROGRESS_BYTES_STEP)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->tables_done += tables;
	slot->bytes_done += progress_pending;
	slot->updated_at = GetCurrentTimestamp();
	SpinLockRelease(&slot->mutex);
	progress_pending = 0;
}

/*
 * BacProgressAddService
 *		One more service the operation works on.
 */
void
BacProgressAddService(const char *service)
{
	size_t		len;

	if (progress_mine == NULL || progress_depth > 1)
		return;
	SpinLockAcquire(&progress_mine->mutex);
	len = strlen(progress_mine->services);
	if (len > 0 && len + 2 < sizeof(progress_mine->services))
	{
		progress_mine->services[len++] = ',';
		progress_mine->services[len] = '\0';
	}
	ProgressSetText(progress_mine->services + len,
					sizeof(progress_mine->services) - len, service);
	SpinLockRelease(&progress_mine->mutex);
}

/*
 * BacProgressVerified
 *		A file checked by bac.verify_snapshot (only that operation counts
 *		the files it checks: restore and export verify too, in their own
 *		units).
 */
void
BacProgressVerified(int64 bytes)
{
	if (progress_mine == NULL || progress_depth > 1 ||
		progress_mine->op != BAC_PROGRESS_VERIFY)
		return;
	BacProgressAdvance(1, bytes);
}

/*
 * BacProgressEnd
 *		The operation is over: free the slot (the outermost End only).
 */
void
BacProgressEnd(void)
{
	if (progress_mine == NULL)
		return;
	if (--progress_depth > 0)
		return;
	ProgressRelease();
}

/*
 * bac.progress_rows() RETURNS SETOF record
 *		The running operations, one row each, for view bac.progress.  Rows
 *		of other roles' operations are shown to roles with the privileges
 *		of pg_read_all_stats (and superusers) only, as in
 *		pg_stat_progress_*.
 */
PG_FUNCTION_INFO_V1(bac_progress_rows);
Datum
bac_progress_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	int			i;

	if (progress_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bac.progress needs pg_bac in shared_preload_libraries"),
				 errdetail("The progress of pg_bac operations is kept in shared memory, which only a preloaded library can have."),
				 errhint("Add pg_bac to shared_preload_libraries in postgresql.conf and restart the server.")));
	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < progress_shared->nslots; i++)
	{
		ProgressSlot *slot = &progress_shared->slots[i];
		ProgressSlot copy;
		Datum		values[13];
		bool		nulls[13] = {0};
		char	   *dbname;

		CHECK_FOR_INTERRUPTS();
		SpinLockAcquire(&slot->mutex);
		memcpy(&copy, slot, sizeof(ProgressSlot));
		SpinLockRelease(&slot->mutex);
		if (copy.pid == 0 || BackendPidGetProc(copy.pid) == NULL)
			continue;
		if (!all && copy.userid != GetUserId())
			continue;
		values[0] = Int32GetDatum(copy.pid);
		dbname = get_database_name(copy.dboid);
		if (dbname)
			values[1] = CStringGetTextDatum(dbname);
		else
			nulls[1] = true;
		values[2] = CStringGetTextDatum(progress_op_names[copy.op]);
		values[3] = CStringGetTextDatum(copy.snapshot_id);
		nulls[3] = copy.snapshot_id[0] == '\0';
		values[4] = CStringGetTextDatum(copy.services);
		nulls[4] = copy.services[0] == '\0';
		values[5] = CStringGetTextDatum(copy.phase);
		values[6] = Int32GetDatum(copy.tables_done);
		values[7] = Int32GetDatum(copy.tables_total);
		nulls[7] = copy.tables_total < 0;
		values[8] = Int64GetDatum(copy.bytes_done);
		values[9] = Int64GetDatum(copy.bytes_total);
		nulls[9] = copy.bytes_total < 0;
		values[10] = CStringGetTextDatum(copy.current_table);
		nulls[10] = copy.current_table[0] == '\0';
		values[11] = TimestampTzGetDatum(copy.started_at);
		values[12] = TimestampTzGetDatum(copy.updated_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
