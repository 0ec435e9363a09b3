/*-------------------------------------------------------------------------
 *
 * change_index.c
 *		The index of a closed change segment: its format, its writer and its
 *		reader, and the removal of a segment with its index.
 *
 * Segment index format v1
 * -----------------------
 *
 * A closed change segment (not the newest) has an index beside it,
 * <start LSN>.index, written by the pruning pass that follows (in the
 * archiver worker, after drop_snapshot and prune_snapshots) or by the
 * function that closed it (bac.pitr_pump, enable_pitr, disable_pitr), and
 * read by pruning and replay to avoid reading the segment:
 *
 *	"PGBACIDX"				8 bytes, magic
 *	u32 format				1
 *	u64 segment size		the bytes of the segment it describes
 *	u64 start LSN, u64 end LSN (its last progress record)
 *	u64 transactions, u64 min xid, u64 max xid (full top-level xids)
 *	u64 first commit LSN, u64 last commit LSN, u64 first commit time,
 *	u64 last commit time
 *	u8 windows				1 if it holds a window start or end
 *	u32 n, str schema * n	schemas its relation descriptors name
 *	u32 n, then per DDL barrier: u64 commit LSN, u64 commit time, str message
 *	u32 CRC-32C of everything before it
 *
 * An index that is missing, damaged (checksum), of another format or
 * segment size, or whose content does not parse, is ignored: the segment is
 * read instead, and the index written again.
 *
 * Integers are big-endian and strings length-prefixed, as in the segments
 * (changes.c).
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/change_index.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "pg_bac.h"
#include "pitr.h"

#define BAC_INDEX_MAGIC		"PGBACIDX"
#define BAC_INDEX_FORMAT	1
#define BAC_INDEX_SUFFIX	".index"

/*
 * idx_path
 *		The index file of a segment: its name with .index.
 */
static char *
idx_path(const char *segment)
{
	size_t		n = strlen(segment) - strlen(BAC_SEGMENT_SUFFIX);

	return psprintf("%.*s%s", (int) n, segment, BAC_INDEX_SUFFIX);
}

/*
 * idx_add_schema
 *		Remember a schema the segment touches (once).
 */
static void
idx_add_schema(BacSegmentIndex *idx, const char *schema)
{
	ListCell   *lc;

	foreach(lc, idx->schemas)
	{
		if (strcmp(lfirst(lc), schema) == 0)
			return;
	}
	idx->schemas = lappend(idx->schemas, pstrdup(schema));
}

/*
 * BacSegmentIndexScan
 *		Build a segment's index by reading the segment (allocated in the
 *		current memory context).
 */
void
BacSegmentIndexScan(const char *path, BacSegmentIndex *idx)
{
	BacSegmentReader *r = BacSegmentReaderOpen(path);
	BacChangeRecord rec;
	BacChangeRecord begin = {0};
	bool		in_txn = false;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "pg_bac segment index",
											  ALLOCSET_DEFAULT_SIZES);

	memset(idx, 0, sizeof(BacSegmentIndex));
	idx->start_lsn = BacSegmentStartLsn(path);
	idx->end_lsn = idx->start_lsn;
	MemoryContextSwitchTo(tmp);
	while (BacSegmentReadRecord(r, &rec))
	{
		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(outer);
		switch (rec.type)
		{
			case BAC_REC_BEGIN:
				in_txn = true;
				begin = rec;
				break;
			case BAC_REC_COMMIT:
				if (!in_txn)
					break;
				in_txn = false;
				if (idx->transactions == 0)
				{
					idx->min_xid = idx->max_xid = rec.xid;
					idx->first_commit = rec.commit_lsn;
					idx->first_time = rec.commit_time;
				}
				idx->transactions++;
				idx->min_xid = Min(idx->min_xid, rec.xid);
				idx->max_xid = Max(idx->max_xid, rec.xid);
				idx->last_commit = rec.commit_lsn;
				idx->last_time = rec.commit_time;
				break;
			case BAC_REC_RELATION:
				idx_add_schema(idx, rec.rel->schema);
				break;
			case BAC_REC_BARRIER:
				{
					BacSegmentBarrier *b = palloc(sizeof(BacSegmentBarrier));

					b->commit_lsn = begin.commit_lsn;
					b->commit_time = begin.commit_time;
					b->message = pstrdup(rec.message);
					idx->barriers = lappend(idx->barriers, b);
				}
				break;
			case BAC_REC_WINDOW:
			case BAC_REC_WINDOW_END:
				idx->windows = true;
				break;
			case BAC_REC_PROGRESS:
				idx->end_lsn = Max(idx->end_lsn, rec.lsn);
				break;
		}
		MemoryContextSwitchTo(tmp);
		MemoryContextReset(tmp);
	}
	MemoryContextSwitchTo(outer);
	idx->size = BacSegmentReaderOffset(r);
	BacSegmentReaderClose(r);
	MemoryContextDelete(tmp);
}

/*
 * BacSegmentIndexWrite
 *		Write a closed segment's index beside it, durably (a temporary file
 *		renamed over it).
 */
void
BacSegmentIndexWrite(const char *path, const BacSegmentIndex *idx)
{
	char	   *ipath = idx_path(path);
	char	   *tmp = psprintf("%s.tmp", ipath);
	StringInfoData buf;
	pg_crc32c	crc;
	ListCell   *lc;
	int			fd;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, BAC_INDEX_MAGIC, 8);
	BacPutU32(&buf, BAC_INDEX_FORMAT);
	BacPutU64(&buf, idx->size);
	BacPutU64(&buf, idx->start_lsn);
	BacPutU64(&buf, idx->end_lsn);
	BacPutU64(&buf, (uint64) idx->transactions);
	BacPutU64(&buf, idx->min_xid);
	BacPutU64(&buf, idx->max_xid);
	BacPutU64(&buf, idx->first_commit);
	BacPutU64(&buf, idx->last_commit);
	BacPutU64(&buf, (uint64) idx->first_time);
	BacPutU64(&buf, (uint64) idx->last_time);
	BacPutU8(&buf, idx->windows ? 1 : 0);
	BacPutU32(&buf, list_length(idx->schemas));
	foreach(lc, idx->schemas)
		BacPutStr(&buf, lfirst(lc));
	BacPutU32(&buf, list_length(idx->barriers));
	foreach(lc, idx->barriers)
	{
		BacSegmentBarrier *b = lfirst(lc);

		BacPutU64(&buf, b->commit_lsn);
		BacPutU64(&buf, (uint64) b->commit_time);
		BacPutStr(&buf, b->message);
	}
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, buf.data, buf.len);
	FIN_CRC32C(crc);
	BacPutU32(&buf, crc);

	fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create \"%s\": %m", tmp)));
	BacWriteAll(fd, tmp, buf.data, buf.len);
	if (pg_fsync(fd) != 0)
		ereport(data_sync_elevel(ERROR),
				(errcode_for_file_access(),
				 errmsg("could not fsync \"%s\": %m", tmp)));
	CloseTransientFile(fd);
	durable_rename(tmp, ipath, ERROR);
	pfree(buf.data);
}

/*
 * BacSegmentIndexRead
 *		Read a segment's index; false (and nothing to trust in idx) when it
 *		is missing, damaged, of another format or describes another size of
 *		the segment.  The caller then reads the segment.
 */
bool
BacSegmentIndexRead(const char *path, BacSegmentIndex *idx)
{
	char	   *ipath = idx_path(path);
	struct stat st;
	size_t		len;
	char	   *data;
	uint32		crc_read;
	pg_crc32c	crc;
	BacCursor	c;
	uint32		n;

	memset(idx, 0, sizeof(BacSegmentIndex));
	if (stat(path, &st) != 0)
		return false;
	data = BacReadWholeFile(ipath, "change segment index", true, &len);
	if (data == NULL || len < 8 + 4 + 4 || memcmp(data, BAC_INDEX_MAGIC, 8) != 0)
		return false;
	memcpy(&crc_read, data + len - 4, 4);
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len - 4);
	FIN_CRC32C(crc);
	if (pg_ntoh32(crc_read) != crc)
		return false;

	/* the checksum matched; what does not parse means: read the segment */
	c.p = data + 8;
	c.end = data + len - 4;
	c.where = ipath;
	c.lenient = true;
	c.short_read = false;
	if (BacGetU32(&c) != BAC_INDEX_FORMAT)
		return false;
	idx->size = BacGetU64(&c);
	if (idx->size != (uint64) st.st_size)
		return false;
	idx->start_lsn = BacGetU64(&c);
	idx->end_lsn = BacGetU64(&c);
	idx->transactions = (int64) BacGetU64(&c);
	idx->min_xid = BacGetU64(&c);
	idx->max_xid = BacGetU64(&c);
	idx->first_commit = BacGetU64(&c);
	idx->last_commit = BacGetU64(&c);
	idx->first_time = (TimestampTz) BacGetU64(&c);
	idx->last_time = (TimestampTz) BacGetU64(&c);
	idx->windows = BacGetU8(&c) != 0;
	for (n = BacGetU32(&c); n > 0 && !c.short_read; n--)
		idx->schemas = lappend(idx->schemas, BacGetStr(&c));
	for (n = BacGetU32(&c); n > 0 && !c.short_read; n--)
	{
		BacSegmentBarrier *b = palloc(sizeof(BacSegmentBarrier));

		b->commit_lsn = BacGetU64(&c);
		b->commit_time = (TimestampTz) BacGetU64(&c);
		b->message = BacGetStr(&c);
		idx->barriers = lappend(idx->barriers, b);
	}
	if (c.short_read || c.p != c.end ||
		idx->start_lsn != BacSegmentStartLsn(path) ||
		idx->transactions < 0 || idx->min_xid > idx->max_xid)
		return false;
	return true;
}

/*
 * BacSegmentIndexGet
 *		A closed segment's index: from its file, or built by reading the
 *		segment and written beside it when missing or not to be trusted.
 */
void
BacSegmentIndexGet(const char *path, BacSegmentIndex *idx)
{
	if (BacSegmentIndexRead(path, idx))
		return;
	BacSegmentIndexScan(path, idx);
	BacSegmentIndexWrite(path, idx);
}

/*
 * BacSegmentIndexClosed
 *		Give every closed segment of a database (all but the newest) its
 *		index where it has none.
 */
void
BacSegmentIndexClosed(Oid dboid)
{
	List	   *segments = BacListSegments(dboid);
	ListCell   *lc;

	foreach(lc, segments)
	{
		BacSegmentIndex idx;

		if (lnext(segments, lc) == NULL)
			break;
		CHECK_FOR_INTERRUPTS();
		BacSegmentIndexGet(lfirst(lc), &idx);
	}
}

/*
 * BacSegmentRemove
 *		Delete a closed segment and its index (the index first, so that no
 *		index outlives its segment); false if it was already gone.  The
 *		caller fsyncs the directory.
 */
bool
BacSegmentRemove(const char *path)
{
	char	   *ipath = idx_path(path);

	if (unlink(ipath) != 0 && errno != ENOENT)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove \"%s\": %m", ipath)));
	if (unlink(path) != 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove change segment \"%s\": %m", path)));
	}
	return true;
}
