/*-------------------------------------------------------------------------
 *
 * copy_out.c
 *		Parallel COPY TO of a snapshot: every table (or TID-range slice of
 *		a big table) is written by PostgreSQL's own COPY TO machinery under
 *		the snapshot's MVCC snapshot, optionally by parallel workers, then
 *		handed to datafile.c to be compressed, checksummed and fsynced.
 *
 * Parallelism: workers => N runs N processes (the leader and N-1 parallel
 * workers of a parallel context, access/parallel.h).  A parallel context
 * hands the leader's active snapshot to every worker, so all of them read
 * the one instant; it works on a hot standby too.  The workers only read
 * tables and write files, which parallel mode allows.  Tasks are claimed
 * from a shared queue (an atomic counter) biggest first.
 *
 * Compression: each task's COPY goes to a raw file (the final file when
 * uncompressed, "<file>.raw" otherwise) that BacDataFileFinish (datafile.c)
 * turns into the data file.
 *
 * Locks: a whole-table task opens the table with AccessShareLock and closes
 * it with the same mode, which releases the worker's lock at once.  A slice
 * goes through the planner (COPY (SELECT ... WHERE ctid ...) TO), which
 * also locks the table's indexes; BacReleaseRelationLocks drops every
 * AccessShareLock this process holds on the table and its indexes after
 * the slice.  See snapshot.c for why releasing early is safe.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/copy_out.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include <lz4frame.h>
#include <zstd.h>

#include "access/parallel.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "commands/copy.h"
#include "common/cryptohash.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_node.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/shm_toc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "pg_bac.h"
#include "progress.h"

#define BAC_COPY_SHARED_KEY		UINT64CONST(0xBAC0000000000001)
#define BAC_IO_CHUNK			(256 * 1024)

#define TASK_PENDING	0
#define TASK_DONE		2

/* a task as the processes share it (dynamic shared memory or local) */
typedef struct BacSharedTask
{
	Oid			relid;
	bool		sliced;
	uint32		sql_offset;		/* into the text area, slices only */
	char		path[MAXPGPATH];
	pg_atomic_uint32 state;
	uint64		rows;
	int64		bytes;
	int64		raw_bytes;
	char		sha256[65];
} BacSharedTask;

typedef struct BacCopyShared
{
	pg_atomic_uint32 next;
	int			ntasks;
	int			compression;
	Size		text_offset;	/* from the start of this struct */
	BacSharedTask tasks[FLEXIBLE_ARRAY_MEMBER];
} BacCopyShared;

PGDLLEXPORT void bac_copy_worker_main(dsm_segment *seg, shm_toc *toc);

/* in the leader during BacRunCopyTasks: locks the caller held before */
static List *bac_preheld = NIL;

/*
 * BacReleaseRelationLocks
 *		Drop every AccessShareLock this process took on a relation and on
 *		its indexes (the planner locks those for a slice's query).  Locks
 *		the caller's transaction held before the snapshot began (preheld,
 *		OIDs) are the caller's: they are left alone.
 */
void
BacReleaseRelationLocks(Oid relid, List *preheld)
{
	List	   *oids = NIL;
	Relation	rel;
	ListCell   *lc;

	rel = try_relation_open(relid, NoLock);
	if (rel != NULL)
	{
		oids = RelationGetIndexList(rel);
		relation_close(rel, NoLock);
	}
	oids = lcons_oid(relid, oids);
	foreach(lc, oids)
	{
		Oid			oid = lfirst_oid(lc);
		LOCKTAG		tag;

		if (list_member_oid(preheld, oid))
			continue;
		SET_LOCKTAG_RELATION(tag, MyDatabaseId, oid);
		while (LockHeldByMe(&tag, AccessShareLock))
		{
			if (!LockRelease(&tag, AccessShareLock, false))
				break;
		}
	}
	list_free(oids);
}

/*
 * BacCopySliceQuery
 *		The SELECT of slice k of nslices of a table of nblocks blocks: its
 *		stored columns (what COPY table TO writes), the rows of a TID range
 *		of blocks (the last slice is open-ended).
 */
char *
BacCopySliceQuery(Relation rel, BlockNumber nblocks, int k, int nslices)
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
					 quote_identifier(get_namespace_name(RelationGetNamespace(rel))),
					 quote_identifier(RelationGetRelationName(rel)), from);
	if (k < nslices - 1)
		appendStringInfo(&q, " AND ctid OPERATOR(pg_catalog.<) '(%u,0)'::pg_catalog.tid", to);
	return q.data;
}

/*
 * CopyOutErrorContext
 *		Name the file being written in any error (COPY's own "could not
 *		write to COPY file: No space left on device" names none).
 */
static void
CopyOutErrorContext(void *arg)
{
	errcontext("writing snapshot file \"%s\"", (const char *) arg);
}

/*
 * CopyOutRunTask
 *		Copy one table or slice to its file with COPY TO under the active
 *		snapshot, then compress/hash/fsync it.  Runs in the leader or in a
 *		worker.
 */
static void
CopyOutRunTask(BacCopyShared *shared, BacSharedTask *t)
{
	BacCompression comp = (BacCompression) shared->compression;
	char		rawpath[MAXPGPATH];
	ParseState *pstate;
	CopyToState cstate;
	List	   *options;
	int			fd;
	uint64		rows;
	ErrorContextCallback errcb;

	if (comp == BAC_COMPRESSION_NONE)
		strlcpy(rawpath, t->path, sizeof(rawpath));
	else
		snprintf(rawpath, sizeof(rawpath), "%s.raw", t->path);

	/*
	 * Create the file 0600 ourselves: COPY TO opens it with fopen("w"),
	 * which keeps the mode of an existing file (it would create it 0644).
	 */
	fd = OpenTransientFilePerm(rawpath, O_CREAT | O_EXCL | O_WRONLY | PG_BINARY,
							   S_IRUSR | S_IWUSR);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", rawpath)));
	CloseTransientFile(fd);
	errcb.callback = CopyOutErrorContext;
	errcb.arg = rawpath;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	/* COPY text in the database encoding, whatever the client's */
	options = list_make1(makeDefElem("encoding",
									 (Node *) makeString(pstrdup(GetDatabaseEncodingName())),
									 -1));
	pstate = make_parsestate(NULL);
	if (!t->sliced)
	{
		Relation	rel = table_open(t->relid, AccessShareLock);

		cstate = BeginCopyTo(pstate, rel, NULL, InvalidOid, rawpath, false,
							 NIL, options);
		rows = DoCopyTo(cstate);
		EndCopyTo(cstate);
		table_close(rel, AccessShareLock);
	}
	else
	{
		const char *sql = (const char *) shared + shared->text_offset + t->sql_offset;
		RawStmt    *raw;

		pstate->p_sourcetext = sql;
		raw = linitial_node(RawStmt, raw_parser(sql, RAW_PARSE_DEFAULT));
		cstate = BeginCopyTo(pstate, NULL, raw, InvalidOid, rawpath, false,
							 NIL, options);
		rows = DoCopyTo(cstate);
		EndCopyTo(cstate);
		BacReleaseRelationLocks(t->relid, bac_preheld);
	}
	free_parsestate(pstate);

	BacDataFileFinish(rawpath, t->path, comp, t->sha256, &t->bytes,
					  &t->raw_bytes);
	error_context_stack = errcb.previous;
	t->rows = rows;
	pg_write_barrier();
	pg_atomic_write_u32(&t->state, TASK_DONE);
}

/*
 * CopyOutClaimAndRun
 *		Take tasks from the shared queue until it is empty.  Returns after
 *		each task when once is set (the leader checks progress between).
 */
static bool
CopyOutClaimAndRun(BacCopyShared *shared, MemoryContext cxt, bool once)
{
	for (;;)
	{
		uint32		i = pg_atomic_fetch_add_u32(&shared->next, 1);
		MemoryContext old;

		if (i >= (uint32) shared->ntasks)
			return false;
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(cxt);
		CopyOutRunTask(shared, &shared->tasks[i]);
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
		if (once)
			return true;
	}
}

/*
 * bac_copy_worker_main
 *		Entry point of a parallel worker: the parallel infrastructure has
 *		restored the leader's transaction and active snapshot.
 */
void
bac_copy_worker_main(dsm_segment *seg, shm_toc *toc)
{
	BacCopyShared *shared = shm_toc_lookup(toc, BAC_COPY_SHARED_KEY, false);
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "pg_bac copy task",
											  ALLOCSET_DEFAULT_SIZES);

	(void) CopyOutClaimAndRun(shared, cxt, false);
	MemoryContextDelete(cxt);
}

/*
 * CopyOutReportDone
 *		Tell the caller about every table whose tasks are all done and that
 *		was not reported yet.
 */
static void
CopyOutReportDone(BacCopyShared *shared, BacCopyTask *tasks, int ntasks,
			  int *remaining, BacTableDoneCallback cb, void *arg)
{
	int			i;

	for (i = 0; i < ntasks; i++)
	{
		BacSharedTask *t = &shared->tasks[i];

		if (tasks[i].reported || pg_atomic_read_u32(&t->state) != TASK_DONE)
			continue;
		pg_read_barrier();
		tasks[i].reported = true;
		tasks[i].rows = t->rows;
		tasks[i].bytes = t->bytes;
		tasks[i].raw_bytes = t->raw_bytes;
		memcpy(tasks[i].sha256, t->sha256, sizeof(tasks[i].sha256));
		BacProgressAdvance(0, t->raw_bytes);
		if (--remaining[tasks[i].table_index] == 0 && cb)
			cb(tasks[i].table_index, arg);
	}
}

/*
 * BacRunCopyTasks
 *		Run every copy task with the given number of processes (leader
 *		included), all under the active snapshot, which must be the
 *		snapshot's instant.  cb is called in the leader once per table when
 *		all its tasks are done (to release its lock and report progress).
 *		Results are stored into the tasks.  On error, workers are stopped
 *		before the error propagates, so no process writes into the snapshot
 *		directory any more when the caller cleans it up.
 */
void
BacRunCopyTasks(BacCopyTask *tasks, int ntasks, int ntables, int workers,
				BacCompression compression, List *preheld,
				BacTableDoneCallback cb, void *arg)
{
	Size		text_len = 0;
	Size		size;
	BacCopyShared *shared;
	ParallelContext *volatile pcxt = NULL;
	int		   *remaining = palloc0(sizeof(int) * Max(ntables, 1));
	MemoryContext cxt;
	int			i;
	char	   *text;

	for (i = 0; i < ntasks; i++)
	{
		if (tasks[i].sql)
			text_len += strlen(tasks[i].sql) + 1;
		remaining[tasks[i].table_index]++;
	}
	size = add_size(offsetof(BacCopyShared, tasks),
					add_size(mul_size(sizeof(BacSharedTask), ntasks), text_len));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_bac copy task",
								ALLOCSET_DEFAULT_SIZES);
	bac_preheld = preheld;
	PG_TRY();
	{
		if (workers > 1 && ntasks > 1)
		{
			EnterParallelMode();
			pcxt = CreateParallelContext("pg_bac", "bac_copy_worker_main",
										 Min(workers - 1, ntasks - 1));
			shm_toc_estimate_chunk(&pcxt->estimator, size);
			shm_toc_estimate_keys(&pcxt->estimator, 1);
			InitializeParallelDSM(pcxt);
			shared = shm_toc_allocate(pcxt->toc, size);
		}
		else
			shared = palloc(size);

		memset(shared, 0, size);
		pg_atomic_init_u32(&shared->next, 0);
		shared->ntasks = ntasks;
		shared->compression = compression;
		shared->text_offset = offsetof(BacCopyShared, tasks) +
			sizeof(BacSharedTask) * ntasks;
		text = (char *) shared + shared->text_offset;
		text_len = 0;
		for (i = 0; i < ntasks; i++)
		{
			BacSharedTask *t = &shared->tasks[i];

			t->relid = tasks[i].relid;
			t->sliced = (tasks[i].sql != NULL);
			strlcpy(t->path, tasks[i].path, sizeof(t->path));
			pg_atomic_init_u32(&t->state, TASK_PENDING);
			if (tasks[i].sql)
			{
				t->sql_offset = text_len;
				strcpy(text + text_len, tasks[i].sql);
				text_len += strlen(tasks[i].sql) + 1;
			}
			tasks[i].reported = false;
		}

		if (pcxt)
		{
			shm_toc_insert(pcxt->toc, BAC_COPY_SHARED_KEY, shared);
			LaunchParallelWorkers(pcxt);
			if (pcxt->nworkers_launched < pcxt->nworkers)
				ereport(NOTICE,
						(errmsg("%d of %d parallel workers could be started; the others' share is done by the remaining processes",
								pcxt->nworkers_launched, pcxt->nworkers)));
		}

		/* the leader works too, and reports tables as they complete */
		while (CopyOutClaimAndRun(shared, cxt, true))
			CopyOutReportDone(shared, tasks, ntasks, remaining, cb, arg);

		for (;;)
		{
			bool		all = true;

			CopyOutReportDone(shared, tasks, ntasks, remaining, cb, arg);
			for (i = 0; i < ntasks; i++)
			{
				if (!tasks[i].reported)
				{
					all = false;
					break;
				}
			}
			if (all)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 20, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}

		if (pcxt)
		{
			WaitForParallelWorkersToFinish(pcxt);
			DestroyParallelContext(pcxt);
			pcxt = NULL;
			ExitParallelMode();
		}
	}
	PG_CATCH();
	{
		/*
		 * Stop the workers now (not at transaction abort), so that the
		 * caller can remove the temporary directory with nobody writing in
		 * it any more.
		 */
		HOLD_INTERRUPTS();
		bac_preheld = NIL;
		if (pcxt)
			DestroyParallelContext(pcxt);
		RESUME_INTERRUPTS();
		PG_RE_THROW();
	}
	PG_END_TRY();
	bac_preheld = NIL;
	MemoryContextDelete(cxt);
	pfree(remaining);
}
