/*-------------------------------------------------------------------------
 *
 * copy_out.c
 *		The data path of a snapshot: every table (or TID-range slice of a
 *		big table) is written by PostgreSQL's own COPY TO machinery under the
 *		snapshot's MVCC snapshot, optionally by parallel workers, then
 *		compressed, checksummed and fsynced.  Also the reader that gives the
 *		COPY text back (decompressed) to restore.
 *
 * Parallelism: workers => N runs N processes (the leader and N-1 parallel
 * workers of a parallel context, access/parallel.h).  A parallel context
 * hands the leader's active snapshot to every worker, so all of them read
 * the one instant; it works on a hot standby too.  The workers only read
 * tables and write files, which parallel mode allows.  Tasks are claimed
 * from a shared queue (an atomic counter) biggest first.
 *
 * Compression: PG15's BeginCopyTo writes only to a file or a program.  A
 * program would need a compressor binary and a shell; instead each task's
 * COPY goes to a temporary raw file that is then stream-compressed with
 * libzstd or liblz4 (frame format, readable by the zstd and lz4 tools) into
 * the final file, hashing the output on the way, and the raw file removed.
 * The cost is one extra sequential read of the raw file (mostly from the
 * OS cache).  Uncompressed files are hashed by reading them back once.
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
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "pg_bac.h"

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
 * BacWriteAll
 *		write() all of a buffer or raise an error (a full disk is an ERROR).
 */
void
BacWriteAll(int fd, const char *path, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		n = write(fd, p, len);

		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", path)));
		}
		p += n;
		len -= n;
	}
}

/*
 * BacHashUpdate
 *		Feed bytes to a SHA-256 context.
 */
static void
BacHashUpdate(pg_cryptohash_ctx *ctx, const void *buf, size_t len)
{
	if (pg_cryptohash_update(ctx, buf, len) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
}

/*
 * BacHashFinal
 *		Finish a SHA-256 context into hex.
 */
static void
BacHashFinal(pg_cryptohash_ctx *ctx, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	uint8		digest[32];
	int			i;

	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	for (i = 0; i < 32; i++)
	{
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0xf];
	}
	hex[64] = '\0';
}

/*
 * BacCompressFile
 *		Stream-compress src into dst (created 0600), hashing and fsyncing
 *		dst.  Returns the sizes of both.
 */
static void
BacCompressFile(const char *src, const char *dst, BacCompression comp,
				char *hex, int64 *bytes, int64 *raw_bytes)
{
	volatile int in = -1;
	volatile int out = -1;
	char	   *ibuf = palloc(BAC_IO_CHUNK);
	size_t		ocap;
	char	   *obuf;
	pg_cryptohash_ctx *hash = pg_cryptohash_create(PG_SHA256);
	ZSTD_CCtx  *volatile zctx = NULL;
	LZ4F_cctx  *volatile lctx = NULL;
	LZ4F_preferences_t prefs;
	int64		total_in = 0;
	int64		total_out = 0;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	if (comp == BAC_COMPRESSION_ZSTD)
		ocap = ZSTD_CStreamOutSize();
	else
		ocap = Max(LZ4F_compressBound(BAC_IO_CHUNK, &prefs), LZ4F_HEADER_SIZE_MAX);
	obuf = palloc(ocap);
	if (pg_cryptohash_init(hash) < 0)
		elog(ERROR, "could not initialize SHA-256");

	PG_TRY();
	{
		ssize_t		n;

		in = OpenTransientFile(src, O_RDONLY | PG_BINARY);
		if (in < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", src)));
		out = OpenTransientFilePerm(dst, O_CREAT | O_EXCL | O_WRONLY | PG_BINARY,
									S_IRUSR | S_IWUSR);
		if (out < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create file \"%s\": %m", dst)));

		if (comp == BAC_COMPRESSION_ZSTD)
		{
			zctx = ZSTD_createCCtx();
			if (zctx == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
			ZSTD_CCtx_setParameter(zctx, ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT);
			ZSTD_CCtx_setParameter(zctx, ZSTD_c_checksumFlag, 1);
		}
		else
		{
			size_t		r;

			LZ4F_cctx  *c = NULL;

			if (LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION)))
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
			lctx = c;
			r = LZ4F_compressBegin(lctx, obuf, ocap, &prefs);
			if (LZ4F_isError(r))
				elog(ERROR, "lz4 compression failed: %s", LZ4F_getErrorName(r));
			BacWriteAll(out, dst, obuf, r);
			BacHashUpdate(hash, obuf, r);
			total_out += r;
		}

		for (;;)
		{
			bool		last;

			CHECK_FOR_INTERRUPTS();
			n = read(in, ibuf, BAC_IO_CHUNK);
			if (n < 0)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not read file \"%s\": %m", src)));
			last = (n == 0);
			total_in += n;
			if (comp == BAC_COMPRESSION_ZSTD)
			{
				ZSTD_inBuffer zin = {ibuf, (size_t) n, 0};
				size_t		remaining;

				do
				{
					ZSTD_outBuffer zout = {obuf, ocap, 0};

					remaining = ZSTD_compressStream2(zctx, &zout, &zin,
													 last ? ZSTD_e_end : ZSTD_e_continue);
					if (ZSTD_isError(remaining))
						elog(ERROR, "zstd compression failed: %s",
							 ZSTD_getErrorName(remaining));
					BacWriteAll(out, dst, obuf, zout.pos);
					BacHashUpdate(hash, obuf, zout.pos);
					total_out += zout.pos;
				} while (last ? remaining != 0 : zin.pos < zin.size);
			}
			else
			{
				size_t		r;

				if (last)
					r = LZ4F_compressEnd(lctx, obuf, ocap, NULL);
				else
					r = LZ4F_compressUpdate(lctx, obuf, ocap, ibuf, n, NULL);
				if (LZ4F_isError(r))
					elog(ERROR, "lz4 compression failed: %s", LZ4F_getErrorName(r));
				BacWriteAll(out, dst, obuf, r);
				BacHashUpdate(hash, obuf, r);
				total_out += r;
			}
			if (last)
				break;
		}
		if (pg_fsync(out) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not fsync file \"%s\": %m", dst)));
	}
	PG_FINALLY();
	{
		if (zctx)
			ZSTD_freeCCtx(zctx);
		if (lctx)
			LZ4F_freeCompressionContext(lctx);
	}
	PG_END_TRY();

	BacHashFinal(hash, hex);
	pg_cryptohash_free(hash);
	CloseTransientFile(in);
	if (CloseTransientFile(out) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", dst)));
	pfree(ibuf);
	pfree(obuf);
	*bytes = total_out;
	*raw_bytes = total_in;
}

/*
 * BacHashAndSync
 *		Read a written file back once: SHA-256, size, and fsync.
 */
static void
BacHashAndSync(const char *path, char *hex, int64 *bytes)
{
	int			fd;

	BacSha256File(path, hex, bytes);
	fd = OpenTransientFile(path, O_RDWR | PG_BINARY);
	if (fd < 0 || pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", path)));
	CloseTransientFile(fd);
}

/*
 * BacRunTask
 *		Copy one table or slice to its file with COPY TO under the active
 *		snapshot, then compress/hash/fsync it.  Runs in the leader or in a
 *		worker.
 */
static void
BacRunTask(BacCopyShared *shared, BacSharedTask *t)
{
	BacCompression comp = (BacCompression) shared->compression;
	char		rawpath[MAXPGPATH];
	ParseState *pstate;
	CopyToState cstate;
	List	   *options;
	int			fd;
	uint64		rows;

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

	if (comp == BAC_COMPRESSION_NONE)
	{
		BacHashAndSync(t->path, t->sha256, &t->bytes);
		t->raw_bytes = t->bytes;
	}
	else
	{
		BacCompressFile(rawpath, t->path, comp, t->sha256, &t->bytes, &t->raw_bytes);
		if (unlink(rawpath) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not remove file \"%s\": %m", rawpath)));
	}
	t->rows = rows;
	pg_write_barrier();
	pg_atomic_write_u32(&t->state, TASK_DONE);
}

/*
 * BacClaimAndRun
 *		Take tasks from the shared queue until it is empty.  Returns after
 *		each task when once is set (the leader checks progress between).
 */
static bool
BacClaimAndRun(BacCopyShared *shared, MemoryContext cxt, bool once)
{
	for (;;)
	{
		uint32		i = pg_atomic_fetch_add_u32(&shared->next, 1);
		MemoryContext old;

		if (i >= (uint32) shared->ntasks)
			return false;
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(cxt);
		BacRunTask(shared, &shared->tasks[i]);
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

	(void) BacClaimAndRun(shared, cxt, false);
	MemoryContextDelete(cxt);
}

/*
 * BacReportDone
 *		Tell the caller about every table whose tasks are all done and that
 *		was not reported yet.
 */
static void
BacReportDone(BacCopyShared *shared, BacCopyTask *tasks, int ntasks,
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
		while (BacClaimAndRun(shared, cxt, true))
			BacReportDone(shared, tasks, ntasks, remaining, cb, arg);

		for (;;)
		{
			bool		all = true;

			BacReportDone(shared, tasks, ntasks, remaining, cb, arg);
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

/* --- reading a data file back --- */

/*
 * A data file is COPY text, plain or as one zstd or lz4 frame stream.  The
 * reader detects a damaged compressed file: a file that ends inside a frame
 * (truncated) and bytes after the last frame that are not a valid frame
 * (trailing garbage) are errors naming the file.
 */
struct BacDataReader
{
	int			fd;
	char	   *path;
	BacCompression compression;
	char	   *ibuf;
	size_t		ilen;			/* bytes in ibuf */
	size_t		ipos;			/* consumed */
	bool		eof;			/* the file has no more bytes */
	bool		frame_done;		/* the last frame decoded so far ended */
	ZSTD_DCtx  *zctx;
	LZ4F_dctx  *lctx;
};

/*
 * BacDataReaderOpen
 *		Open a data file of a snapshot for reading its COPY text back,
 *		decompressing on the fly.  Close it with BacDataReaderClose (also on
 *		error paths: it owns library memory outside palloc).
 */
BacDataReader *
BacDataReaderOpen(const char *path, BacCompression compression)
{
	BacDataReader *r = palloc0(sizeof(BacDataReader));

	r->path = pstrdup(path);
	r->compression = compression;
	r->frame_done = (compression == BAC_COMPRESSION_NONE);
	r->fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (r->fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open snapshot data file \"%s\": %m", path)));
	r->ibuf = palloc(BAC_IO_CHUNK);
	if (compression == BAC_COMPRESSION_ZSTD)
	{
		r->zctx = ZSTD_createDCtx();
		if (r->zctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory creating a zstd decompression context")));
	}
	else if (compression == BAC_COMPRESSION_LZ4)
	{
		LZ4F_dctx  *d = NULL;
		size_t		rc = LZ4F_createDecompressionContext(&d, LZ4F_VERSION);

		if (LZ4F_isError(rc))
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create an lz4 decompression context: %s",
							LZ4F_getErrorName(rc))));
		r->lctx = d;
	}
	return r;
}

/*
 * BacReaderFill
 *		Refill the input buffer when it is used up; false at end of file.
 */
static bool
BacReaderFill(BacDataReader *r)
{
	ssize_t		n;

	if (r->ipos < r->ilen)
		return true;
	if (r->eof)
		return false;
	n = read(r->fd, r->ibuf, BAC_IO_CHUNK);
	if (n < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", r->path)));
	r->ilen = n;
	r->ipos = 0;
	if (n == 0)
		r->eof = true;
	return n > 0;
}

/*
 * BacReaderDecompress
 *		Run the decompressor once on the unconsumed input (none at the end of
 *		the file, to flush what it still holds) into buf; returns the number
 *		of bytes produced and notes whether a frame just ended.
 */
static size_t
BacReaderDecompress(BacDataReader *r, void *buf, size_t len)
{
	if (r->compression == BAC_COMPRESSION_ZSTD)
	{
		ZSTD_inBuffer zin = {r->ibuf, r->ilen, r->ipos};
		ZSTD_outBuffer zout = {buf, len, 0};
		size_t		rc = ZSTD_decompressStream(r->zctx, &zout, &zin);

		if (ZSTD_isError(rc))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not decompress zstd data file \"%s\": %s",
							r->path, ZSTD_getErrorName(rc))));
		r->frame_done = (rc == 0);
		r->ipos = zin.pos;
		return zout.pos;
	}
	else
	{
		size_t		dst = len;
		size_t		src = r->ilen - r->ipos;
		size_t		rc = LZ4F_decompress(r->lctx, buf, &dst,
										 r->ibuf + r->ipos, &src, NULL);

		if (LZ4F_isError(rc))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not decompress lz4 data file \"%s\": %s",
							r->path, LZ4F_getErrorName(rc))));
		r->frame_done = (rc == 0);
		r->ipos += src;
		return dst;
	}
}

/*
 * BacDataReaderRead
 *		Read up to len bytes of COPY text; returns 0 at the end.  A
 *		compressed file that ends in the middle of a frame is an error.
 */
size_t
BacDataReaderRead(BacDataReader *r, void *buf, size_t len)
{
	if (r->compression == BAC_COMPRESSION_NONE)
	{
		ssize_t		n = read(r->fd, buf, len);

		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", r->path)));
		return n;
	}
	if (len == 0)
		return 0;
	for (;;)
	{
		size_t		n;

		CHECK_FOR_INTERRUPTS();
		if (!BacReaderFill(r))
		{
			if (r->frame_done)
				return 0;
			/* the decompressor may still hold output of the last block */
			n = BacReaderDecompress(r, buf, len);
			if (n > 0)
				return n;
			if (r->frame_done)
				return 0;
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("%s data file \"%s\" ends in the middle of a frame",
							BacCompressionName(r->compression), r->path)));
		}
		n = BacReaderDecompress(r, buf, len);
		if (n > 0)
			return n;
	}
}

/*
 * BacDataReaderCheckEnd
 *		For a reader whose consumer stopped before BacDataReaderRead returned
 *		0 (COPY stops at its end-of-data marker): error if the compressed
 *		input read so far holds bytes after the copy data, or a frame is
 *		left unfinished.
 */
void
BacDataReaderCheckEnd(BacDataReader *r)
{
	if (r->compression != BAC_COMPRESSION_NONE &&
		(r->ipos < r->ilen || !r->frame_done))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot data file \"%s\" has data after the end of the copy data",
						r->path)));
}

/*
 * BacDataReaderClose
 *		Close the file and free the decompressor.
 */
void
BacDataReaderClose(BacDataReader *r)
{
	if (r->zctx)
		ZSTD_freeDCtx(r->zctx);
	if (r->lctx)
		LZ4F_freeDecompressionContext(r->lctx);
	if (r->fd >= 0)
		CloseTransientFile(r->fd);
	pfree(r->ibuf);
	pfree(r->path);
	pfree(r);
}
