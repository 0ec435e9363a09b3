/*-------------------------------------------------------------------------
 *
 * changes.c
 *		Change segments: the change archive's file format, its writer and
 *		its reader, side by side.
 *
 * Change archive format v1
 * ------------------------
 *
 *	<archive>/changes/<database oid>/<start LSN, 16 hex digits>.changes
 *
 * Segments are append-only; the one with the highest name is the one being
 * written; a new one is started at the next round once it passes
 * bac.change_segment_size.  Its name is the decoding position it was
 * started at; transactions never span two segments.  Integers are
 * big-endian.
 * A segment begins with a header:
 *
 *	"PGBACCHG"				8 bytes, magic
 *	u32 format				1
 *	u32 server_version_num
 *	u64 system identifier
 *	u32 database oid
 *	str database name		(str = u32 length + bytes, no terminator)
 *	u64 start LSN
 *	u32 CRC-32C of the header bytes before it
 *
 * then records, each "u32 length, payload, u32 CRC-32C of the payload";
 * the payload's first byte is its type:
 *
 *	'W' window start: u64 LSN, u64 consistent xid (full: the next xid when
 *		the slot became consistent), u64 time, str slot name
 *	'E' window end: u64 LSN, u64 time, str reason
 *	'P' progress: u64 archived-up-to LSN, u64 time, u64 last commit LSN,
 *		u64 window start LSN, u64 window consistent xid, u64 window start
 *		time, u8 window open.  Everything before it is complete; each
 *		segment starts with one, so the last segment alone tells the state.
 *	'B' begin: u64 full top-level xid, u64 commit LSN, u64 end LSN,
 *		u64 commit time (microseconds since 2000-01-01, as timestamptz)
 *	'R' relation: u32 relid, str schema, str table, u8 replica identity
 *		(d, n, f, i), u32 ncolumns, then per column: str name, u32 type
 *		oid, i32 typmod, str type (format_type), u8 key
 *	'I' insert: u32 relid, tuple
 *	'U' update: u32 relid, u8 has old, [tuple old (key or full row)],
 *		tuple new
 *	'D' delete: u32 relid, tuple old (key or full row)
 *	'T' truncate: u8 flags (1 cascade, 2 restart identity), u32 n, u32
 *		relid * n
 *	'M' DDL barrier: u64 LSN, str message (JSON from the event trigger)
 *	'C' commit: as begin
 *
 * A closed segment may have an index beside it (change_index.c).
 *
 * A tuple is u32 ncolumns, then per column u8 kind: 'n' null, 'u' unchanged
 * TOASTed value (keep the current one), 't' followed by str text (the
 * type's output function).  Relation ids are those at decoding time; a
 * relation is described in each transaction before its first change.
 * Columns are the live, non-generated ones in attnum order.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/changes.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pg_bac.h"
#include "pitr.h"

#define BAC_SEGMENT_MAGIC	"PGBACCHG"
#define BAC_SEGMENT_FORMAT	1
#define BAC_MAX_RECORD		(1024 * 1024 * 1024)
#define BAC_WRITE_BUFFER	(1024 * 1024)

/* the open segment being appended to */
struct BacSegmentWriter
{
	Oid			dboid;
	char	   *path;			/* absolute */
	int			fd;
	off_t		size;			/* bytes in the file, buffer excluded */
	StringInfoData buf;			/* records not yet written */
	XLogRecPtr	last_commit;	/* commit LSN of the last whole transaction */
	XLogRecPtr	upto;			/* last progress LSN */
	TimestampTz upto_time;
	XLogRecPtr	window_lsn;		/* the current window's start */
	uint64		window_xid;
	TimestampTz window_time;
	bool		window_open;
	bool		skipping;		/* inside a transaction already archived */
};

/* what the last writer of this process knew, to skip rescanning */
typedef struct ChgCache
{
	char		path[MAXPGPATH];
	off_t		size;
	XLogRecPtr	last_commit;
	XLogRecPtr	upto;
	TimestampTz upto_time;
	XLogRecPtr	window_lsn;
	uint64		window_xid;
	TimestampTz window_time;
	bool		window_open;
} ChgCache;

static ChgCache chg_cache;

/* GUC bac.change_segment_size (kB): a new segment is started past it */
int			bac_change_segment_size = 16 * 1024;

/* a segment being read */
struct BacSegmentReader
{
	char	   *path;
	FILE	   *file;
	StringInfoData payload;
	off_t		offset;			/* of the next record */
};

/*
 * BacPutU8, BacPutU32, BacPutU64, BacPutStr
 *		Append big-endian integers and length-prefixed strings.
 */
void
BacPutU8(StringInfo buf, uint8 v)
{
	appendStringInfoCharMacro(buf, (char) v);
}

void
BacPutU32(StringInfo buf, uint32 v)
{
	uint32		n = pg_hton32(v);

	appendBinaryStringInfo(buf, (char *) &n, 4);
}

void
BacPutU64(StringInfo buf, uint64 v)
{
	uint64		n = pg_hton64(v);

	appendBinaryStringInfo(buf, (char *) &n, 8);
}

void
BacPutStr(StringInfo buf, const char *s)
{
	size_t		len = strlen(s);

	BacPutU32(buf, (uint32) len);
	appendBinaryStringInfo(buf, s, len);
}

/*
 * BacCursorNeed
 *		Are n more bytes there?  An error if not, unless the cursor is
 *		lenient.
 */
bool
BacCursorNeed(BacCursor *c, size_t n)
{
	if ((size_t) (c->end - c->p) >= n)
		return true;
	if (c->lenient)
	{
		c->short_read = true;
		c->p = c->end;
		return false;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("change record in %s is shorter than its content", c->where),
			 errdetail("The record's checksum matched, so it was written this way."),
			 errhint("Report this as a bug of pg_bac.")));
	return false;				/* keep the compiler quiet */
}

/*
 * BacGetU8, BacGetU32, BacGetU64, BacGetStr
 *		Read back what BacPut* wrote.
 */
uint8
BacGetU8(BacCursor *c)
{
	if (!BacCursorNeed(c, 1))
		return 0;
	return (uint8) *c->p++;
}

uint32
BacGetU32(BacCursor *c)
{
	uint32		n;

	if (!BacCursorNeed(c, 4))
		return 0;
	memcpy(&n, c->p, 4);
	c->p += 4;
	return pg_ntoh32(n);
}

uint64
BacGetU64(BacCursor *c)
{
	uint64		n;

	if (!BacCursorNeed(c, 8))
		return 0;
	memcpy(&n, c->p, 8);
	c->p += 8;
	return pg_ntoh64(n);
}

char *
BacGetStr(BacCursor *c)
{
	uint32		len = BacGetU32(c);
	char	   *s;

	if (!BacCursorNeed(c, len))
		return pstrdup("");
	s = palloc(len + 1);
	memcpy(s, c->p, len);
	s[len] = '\0';
	c->p += len;
	return s;
}

/*
 * chg_tuple
 *		Read a tuple's values.
 */
static void
chg_tuple(BacCursor *c, BacChangeTuple *t)
{
	int			i;

	t->natts = BacGetU32(c);
	t->kinds = palloc(t->natts + 1);
	t->values = palloc0(sizeof(char *) * (t->natts + 1));
	for (i = 0; i < t->natts; i++)
	{
		t->kinds[i] = BacGetU8(c);
		if (t->kinds[i] == BAC_VAL_TEXT)
			t->values[i] = BacGetStr(c);
		else if (t->kinds[i] != BAC_VAL_NULL && t->kinds[i] != BAC_VAL_UNCHANGED)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("change record in %s has a value of unknown kind %d",
							c->where, t->kinds[i])));
	}
}

/*
 * chg_relation
 *		Read a relation descriptor.
 */
static BacChangeRel *
chg_relation(BacCursor *c)
{
	BacChangeRel *r = palloc0(sizeof(BacChangeRel));
	int			i;

	r->relid = BacGetU32(c);
	r->schema = BacGetStr(c);
	r->table = BacGetStr(c);
	r->replident = (char) BacGetU8(c);
	r->natts = BacGetU32(c);
	r->attnames = palloc(sizeof(char *) * (r->natts + 1));
	r->atttypes = palloc(sizeof(Oid) * (r->natts + 1));
	r->atttypmods = palloc(sizeof(int32) * (r->natts + 1));
	r->atttypnames = palloc(sizeof(char *) * (r->natts + 1));
	r->attkey = palloc(sizeof(bool) * (r->natts + 1));
	for (i = 0; i < r->natts; i++)
	{
		r->attnames[i] = BacGetStr(c);
		r->atttypes[i] = BacGetU32(c);
		r->atttypmods[i] = (int32) BacGetU32(c);
		r->atttypnames[i] = BacGetStr(c);
		r->attkey[i] = BacGetU8(c) != 0;
	}
	return r;
}

/*
 * BacDecodeRecord
 *		Parse one record's payload into rec (allocated in the current memory
 *		context).  where names the file for messages.
 */
void
BacDecodeRecord(const char *payload, size_t len, BacChangeRecord *rec,
				const char *where)
{
	BacCursor	c = {payload, payload + len, where, false, false};
	int			i;

	memset(rec, 0, sizeof(BacChangeRecord));
	rec->type = (char) BacGetU8(&c);
	switch (rec->type)
	{
		case BAC_REC_BEGIN:
		case BAC_REC_COMMIT:
			rec->xid = BacGetU64(&c);
			rec->commit_lsn = BacGetU64(&c);
			rec->end_lsn = BacGetU64(&c);
			rec->commit_time = (TimestampTz) BacGetU64(&c);
			break;
		case BAC_REC_RELATION:
			rec->rel = chg_relation(&c);
			rec->relid = rec->rel->relid;
			break;
		case BAC_REC_INSERT:
			rec->relid = BacGetU32(&c);
			chg_tuple(&c, &rec->new);
			break;
		case BAC_REC_UPDATE:
			rec->relid = BacGetU32(&c);
			rec->has_old = BacGetU8(&c) != 0;
			if (rec->has_old)
				chg_tuple(&c, &rec->old);
			chg_tuple(&c, &rec->new);
			break;
		case BAC_REC_DELETE:
			rec->relid = BacGetU32(&c);
			rec->has_old = true;
			chg_tuple(&c, &rec->old);
			break;
		case BAC_REC_TRUNCATE:
			i = BacGetU8(&c);
			rec->cascade = (i & 1) != 0;
			rec->restart_seqs = (i & 2) != 0;
			rec->nrelids = BacGetU32(&c);
			rec->relids = palloc(sizeof(Oid) * (rec->nrelids + 1));
			for (i = 0; i < rec->nrelids; i++)
				rec->relids[i] = BacGetU32(&c);
			break;
		case BAC_REC_BARRIER:
			rec->message_lsn = BacGetU64(&c);
			rec->message = BacGetStr(&c);
			break;
		case BAC_REC_WINDOW:
			rec->lsn = BacGetU64(&c);
			rec->consistent_xid = BacGetU64(&c);
			rec->at = (TimestampTz) BacGetU64(&c);
			rec->reason = BacGetStr(&c);	/* the slot's name */
			break;
		case BAC_REC_WINDOW_END:
			rec->lsn = BacGetU64(&c);
			rec->at = (TimestampTz) BacGetU64(&c);
			rec->reason = BacGetStr(&c);
			break;
		case BAC_REC_PROGRESS:
			rec->lsn = BacGetU64(&c);
			rec->at = (TimestampTz) BacGetU64(&c);
			rec->commit_lsn = BacGetU64(&c);
			rec->message_lsn = BacGetU64(&c); /* window start LSN */
			rec->consistent_xid = BacGetU64(&c);
			rec->commit_time = (TimestampTz) BacGetU64(&c);	/* window start */
			rec->has_old = BacGetU8(&c) != 0; /* window open */
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("change record in %s has unknown type %d",
							where, rec->type)));
	}
	if (c.p != c.end)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("change record of type '%c' in %s has %d bytes too many",
						rec->type, where, (int) (c.end - c.p))));
}

/*
 * BacChangesDirectory
 *		<archive>/changes/<dboid>, created (and made durable) if asked.
 */
char *
BacChangesDirectory(Oid dboid, bool create)
{
	char	   *archive = BacArchiveDirectory(create);
	char	   *changes = psprintf("%s/changes", archive);
	char	   *dir = psprintf("%s/%u", changes, dboid);

	if (create && MakePGDirectory(changes) == 0)
		BacFsyncPath(archive, true);
	if (create && MakePGDirectory(dir) == 0)
		BacFsyncPath(changes, true);
	return dir;
}

/*
 * chg_segment_cmp
 *		Sort segment names (fixed width hex) in LSN order.
 */
static int
chg_segment_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp((char *) lfirst(a), (char *) lfirst(b));
}

/*
 * BacListSegments
 *		Absolute paths of a database's segments, oldest first.
 */
List *
BacListSegments(Oid dboid)
{
	char	   *dir = BacChangesDirectory(dboid, false);
	List	   *result = NIL;
	DIR		   *d;
	struct dirent *de;

	d = AllocateDir(dir);
	if (d == NULL && errno == ENOENT)
		return NIL;
	while ((de = ReadDir(d, dir)) != NULL)
	{
		size_t		n = strlen(de->d_name);

		if (n == 16 + strlen(BAC_SEGMENT_SUFFIX) &&
			strcmp(de->d_name + 16, BAC_SEGMENT_SUFFIX) == 0 &&
			strspn(de->d_name, "0123456789ABCDEF") == 16)
			result = lappend(result, psprintf("%s/%s", dir, de->d_name));
	}
	FreeDir(d);
	list_sort(result, chg_segment_cmp);
	return result;
}

/*
 * chg_header
 *		The header bytes of a new segment.
 */
static void
chg_header(StringInfo buf, Oid dboid, XLogRecPtr start)
{
	pg_crc32c	crc;
	char	   *dbname = get_database_name(dboid);

	appendBinaryStringInfo(buf, BAC_SEGMENT_MAGIC, 8);
	BacPutU32(buf, BAC_SEGMENT_FORMAT);
	BacPutU32(buf, PG_VERSION_NUM);
	BacPutU64(buf, GetSystemIdentifier());
	BacPutU32(buf, dboid);
	BacPutStr(buf, dbname ? dbname : "");
	BacPutU64(buf, start);
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, buf->data, buf->len);
	FIN_CRC32C(crc);
	BacPutU32(buf, crc);
}

/*
 * chg_write_now
 *		Write the buffered bytes to the file.
 */
static void
chg_write_now(BacSegmentWriter *w)
{
	if (w->buf.len == 0)
		return;
	BacWriteAll(w->fd, w->path, w->buf.data, w->buf.len);
	w->size += w->buf.len;
	resetStringInfo(&w->buf);
}

/*
 * chg_frame
 *		Buffer one record: length, payload, CRC.
 */
static void
chg_frame(BacSegmentWriter *w, const char *payload, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, payload, len);
	FIN_CRC32C(crc);
	BacPutU32(&w->buf, (uint32) len);
	appendBinaryStringInfo(&w->buf, payload, len);
	BacPutU32(&w->buf, crc);
	if (w->buf.len >= BAC_WRITE_BUFFER)
		chg_write_now(w);
}

/*
 * chg_scan_state
 *		Read a segment written by an earlier writer: take the state from its
 *		records and find where the last complete unit ends (a partial record
 *		or a transaction without its commit is cut off there).
 */
static off_t
chg_scan_state(BacSegmentWriter *w)
{
	BacSegmentReader *r = BacSegmentReaderOpen(w->path);
	BacChangeRecord rec;
	off_t		good = r->offset;
	bool		in_txn = false;
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "pg_bac segment scan",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);

	while (BacSegmentReadRecord(r, &rec))
	{
		CHECK_FOR_INTERRUPTS();
		switch (rec.type)
		{
			case BAC_REC_BEGIN:
				in_txn = true;
				break;
			case BAC_REC_COMMIT:
				in_txn = false;
				w->last_commit = rec.commit_lsn;
				break;
			case BAC_REC_PROGRESS:
				w->upto = rec.lsn;
				w->upto_time = rec.at;
				w->last_commit = Max(w->last_commit, rec.commit_lsn);
				w->window_lsn = rec.message_lsn;
				w->window_xid = rec.consistent_xid;
				w->window_time = rec.commit_time;
				w->window_open = rec.has_old;
				break;
			case BAC_REC_WINDOW:
				w->window_lsn = rec.lsn;
				w->window_xid = rec.consistent_xid;
				w->window_time = rec.at;
				w->window_open = true;
				break;
			case BAC_REC_WINDOW_END:
				w->window_open = false;
				break;
		}
		if (!in_txn)
			good = r->offset;
		MemoryContextReset(tmp);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	BacSegmentReaderClose(r);
	return good;
}

/*
 * chg_create_segment
 *		Start a new segment named by start: header, then a progress record
 *		carrying the state, made durable with its directory entry.
 */
static void
chg_create_segment(BacSegmentWriter *w, XLogRecPtr start)
{
	char	   *dir = BacChangesDirectory(w->dboid, true);

	w->path = psprintf("%s/%08X%08X%s", dir, LSN_FORMAT_ARGS(start),
					   BAC_SEGMENT_SUFFIX);
	w->fd = OpenTransientFile(w->path, O_RDWR | O_CREAT | O_EXCL | PG_BINARY);
	if (w->fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create change segment \"%s\": %m", w->path)));
	w->size = 0;
	chg_header(&w->buf, w->dboid, start);
	if (w->upto < start)
		w->upto = start;
	BacAppendProgress(w, w->upto);
	chg_write_now(w);
	BacFsyncPath(w->path, false);
	BacFsyncPath(dir, true);
}

/*
 * chg_open_last
 *		Open the newest segment for appending, restoring the state from the
 *		cache when the file is as this process left it, else by a scan that
 *		also cuts off an incomplete tail.
 */
static void
chg_open_last(BacSegmentWriter *w, const char *path)
{
	struct stat st;
	off_t		good;

	w->path = pstrdup(path);
	w->fd = OpenTransientFile(w->path, O_RDWR | PG_BINARY);
	if (w->fd < 0 || fstat(w->fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open change segment \"%s\": %m", w->path)));
	if (strcmp(chg_cache.path, path) == 0 && chg_cache.size == st.st_size)
	{
		w->last_commit = chg_cache.last_commit;
		w->upto = chg_cache.upto;
		w->upto_time = chg_cache.upto_time;
		w->window_lsn = chg_cache.window_lsn;
		w->window_xid = chg_cache.window_xid;
		w->window_time = chg_cache.window_time;
		w->window_open = chg_cache.window_open;
		w->size = st.st_size;
		return;
	}
	good = chg_scan_state(w);
	if (good < st.st_size)
	{
		ereport(LOG,
				(errmsg("cutting incomplete tail of change segment \"%s\" at %lld of %lld bytes",
						w->path, (long long) good, (long long) st.st_size)));
		if (ftruncate(w->fd, good) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not truncate change segment \"%s\": %m", w->path)));
		BacFsyncPath(w->path, false);
	}
	w->size = good;
}

/*
 * BacSegmentWriterOpen
 *		Open a database's change archive for appending: the newest segment,
 *		or a new one named by start_lsn when there is none or it is full.
 */
BacSegmentWriter *
BacSegmentWriterOpen(Oid dboid, XLogRecPtr start_lsn)
{
	BacSegmentWriter *w = palloc0(sizeof(BacSegmentWriter));
	List	   *segments = BacListSegments(dboid);

	w->dboid = dboid;
	w->fd = -1;
	initStringInfo(&w->buf);
	if (segments != NIL)
	{
		chg_open_last(w, llast(segments));
		if (!BacSegmentFull(w))
		{
			if (lseek(w->fd, w->size, SEEK_SET) < 0)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not seek in change segment \"%s\": %m", w->path)));
			return w;
		}
		CloseTransientFile(w->fd);
		w->fd = -1;
	}
	chg_create_segment(w, Max(start_lsn, w->upto));
	return w;
}

/*
 * BacSegmentAppend
 *		Append one record from the output plugin.  A transaction whose
 *		commit LSN is not after the last archived commit is dropped whole:
 *		a round that was cut off before the slot confirmed it decodes it
 *		again, and it must not be there twice.
 */
void
BacSegmentAppend(BacSegmentWriter *w, const char *payload, size_t len)
{
	if (len == 0)
		return;
	if (payload[0] == BAC_REC_BEGIN)
	{
		BacChangeRecord rec;

		BacDecodeRecord(payload, len, &rec, w->path);
		w->skipping = rec.commit_lsn <= w->last_commit;
	}
	if (!w->skipping)
		chg_frame(w, payload, len);
	if (payload[0] == BAC_REC_COMMIT)
	{
		BacChangeRecord rec;

		BacDecodeRecord(payload, len, &rec, w->path);
		if (!w->skipping)
			w->last_commit = rec.commit_lsn;
		w->skipping = false;
	}
}

/*
 * BacAppendProgress
 *		Everything before this record is complete: archived up to lsn.
 */
void
BacAppendProgress(BacSegmentWriter *w, XLogRecPtr lsn)
{
	StringInfoData p;

	w->upto = lsn;
	w->upto_time = GetCurrentTimestamp();
	initStringInfo(&p);
	BacPutU8(&p, BAC_REC_PROGRESS);
	BacPutU64(&p, lsn);
	BacPutU64(&p, (uint64) w->upto_time);
	BacPutU64(&p, w->last_commit);
	BacPutU64(&p, w->window_lsn);
	BacPutU64(&p, w->window_xid);
	BacPutU64(&p, (uint64) w->window_time);
	BacPutU8(&p, w->window_open ? 1 : 0);
	chg_frame(w, p.data, p.len);
	pfree(p.data);
}

/*
 * BacAppendWindow
 *		A window starts: the slot is consistent at lsn, and every transaction
 *		with an xid >= consistent_xid is in the archive from here on.
 */
void
BacAppendWindow(BacSegmentWriter *w, XLogRecPtr lsn, uint64 consistent_xid,
				const char *slot)
{
	StringInfoData p;

	w->window_lsn = lsn;
	w->window_xid = consistent_xid;
	w->window_time = GetCurrentTimestamp();
	w->window_open = true;
	initStringInfo(&p);
	BacPutU8(&p, BAC_REC_WINDOW);
	BacPutU64(&p, lsn);
	BacPutU64(&p, consistent_xid);
	BacPutU64(&p, (uint64) w->window_time);
	BacPutStr(&p, slot);
	chg_frame(w, p.data, p.len);
	pfree(p.data);
	BacAppendProgress(w, Max(lsn, w->upto));
}

/*
 * BacAppendWindowEnd
 *		The window ends at lsn (disable_pitr, or the slot was lost).
 */
void
BacAppendWindowEnd(BacSegmentWriter *w, XLogRecPtr lsn, const char *reason)
{
	StringInfoData p;

	w->window_open = false;
	initStringInfo(&p);
	BacPutU8(&p, BAC_REC_WINDOW_END);
	BacPutU64(&p, lsn);
	BacPutU64(&p, (uint64) GetCurrentTimestamp());
	BacPutStr(&p, reason);
	chg_frame(w, p.data, p.len);
	pfree(p.data);
	BacAppendProgress(w, w->upto);
}

/*
 * BacSegmentSync
 *		Write and fsync what is buffered; only after this may the slot's
 *		confirmed position advance.
 */
void
BacSegmentSync(BacSegmentWriter *w)
{
	chg_write_now(w);
	if (pg_fsync(w->fd) != 0)
		ereport(data_sync_elevel(ERROR),
				(errcode_for_file_access(),
				 errmsg("could not fsync change segment \"%s\": %m", w->path)));
	strlcpy(chg_cache.path, w->path, MAXPGPATH);
	chg_cache.size = w->size;
	chg_cache.last_commit = w->last_commit;
	chg_cache.upto = w->upto;
	chg_cache.upto_time = w->upto_time;
	chg_cache.window_lsn = w->window_lsn;
	chg_cache.window_xid = w->window_xid;
	chg_cache.window_time = w->window_time;
	chg_cache.window_open = w->window_open;
}

/*
 * BacSegmentWriterClose
 *		Close the file (unsynced buffered records are dropped).
 */
void
BacSegmentWriterClose(BacSegmentWriter *w)
{
	if (w->fd >= 0)
		CloseTransientFile(w->fd);
	w->fd = -1;
}

/*
 * BacSegmentLastCommit
 *		Commit LSN of the last transaction in the archive.
 */
XLogRecPtr
BacSegmentLastCommit(BacSegmentWriter *w)
{
	return w->last_commit;
}

/*
 * BacSegmentArchivedUpTo
 *		The last progress LSN (and its time).
 */
XLogRecPtr
BacSegmentArchivedUpTo(BacSegmentWriter *w, TimestampTz *at)
{
	if (at)
		*at = w->upto_time;
	return w->upto;
}

/*
 * BacSegmentWindowOpen
 *		Is a window open (enable_pitr and no end since)?  Nothing is
 *		appended while it is not.
 */
bool
BacSegmentWindowOpen(BacSegmentWriter *w)
{
	return w->window_open;
}

/*
 * BacSegmentFull
 *		Has the segment passed bac.change_segment_size (a new one is due)?
 */
bool
BacSegmentFull(BacSegmentWriter *w)
{
	return w->size + w->buf.len >= (off_t) bac_change_segment_size * 1024;
}

/*
 * BacChangesReadState
 *		The state of a database's change archive, read from its newest
 *		segment without changing anything.
 */
void
BacChangesReadState(Oid dboid, BacChangesState *st)
{
	List	   *segments = BacListSegments(dboid);
	BacSegmentWriter w;

	memset(st, 0, sizeof(BacChangesState));
	if (segments == NIL)
		return;
	memset(&w, 0, sizeof(w));
	w.path = llast(segments);
	chg_scan_state(&w);
	st->exists = true;
	st->upto = w.upto;
	st->upto_time = w.upto_time;
	st->last_commit = w.last_commit;
	st->window_lsn = w.window_lsn;
	st->window_xid = w.window_xid;
	st->window_time = w.window_time;
	st->window_open = w.window_open;
}

/*
 * chg_read_exact
 *		Read n bytes; false at a clean or torn end of file.
 */
static bool
chg_read_exact(BacSegmentReader *r, void *buf, size_t n)
{
	size_t		got = fread(buf, 1, n, r->file);

	if (got == n)
	{
		r->offset += n;
		return true;
	}
	if (ferror(r->file))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read change segment \"%s\": %m", r->path)));
	return false;
}

/*
 * BacSegmentReaderOpen
 *		Open a segment and check its header.
 */
BacSegmentReader *
BacSegmentReaderOpen(const char *path)
{
	BacSegmentReader *r = palloc0(sizeof(BacSegmentReader));
	char		fixed[8 + 4 + 4 + 8 + 4 + 4];
	StringInfoData hdr;
	uint32		namelen;
	uint32		crc_read;
	pg_crc32c	crc;
	uint64		tail;

	r->path = pstrdup(path);
	r->file = AllocateFile(path, PG_BINARY_R);
	if (r->file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open change segment \"%s\": %m", path)));
	initStringInfo(&r->payload);
	initStringInfo(&hdr);
	if (!chg_read_exact(r, fixed, sizeof(fixed)) ||
		memcmp(fixed, BAC_SEGMENT_MAGIC, 8) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("\"%s\" is not a pg_bac change segment", path)));
	appendBinaryStringInfo(&hdr, fixed, sizeof(fixed));
	memcpy(&namelen, fixed + 28, 4);
	namelen = pg_ntoh32(namelen);
	enlargeStringInfo(&hdr, namelen + 12);
	if (namelen > NAMEDATALEN ||
		!chg_read_exact(r, hdr.data + hdr.len, namelen + 8))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("change segment \"%s\" has a damaged header", path)));
	hdr.len += namelen + 8;
	if (!chg_read_exact(r, &crc_read, 4))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("change segment \"%s\" has a damaged header", path)));
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, hdr.data, hdr.len);
	FIN_CRC32C(crc);
	if (pg_ntoh32(crc_read) != crc)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("change segment \"%s\" has a damaged header", path),
				 errdetail("The header's checksum does not match.")));
	memcpy(&tail, fixed + 16, 8);
	if (pg_ntoh64(tail) != GetSystemIdentifier())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("change segment \"%s\" belongs to another cluster", path),
				 errdetail("Its system identifier is %llu.",
						   (unsigned long long) pg_ntoh64(tail))));
	pfree(hdr.data);
	return r;
}

/*
 * BacSegmentReadRecord
 *		The next record, or false at the end.  A record cut short at the end
 *		of the file (a write in progress or interrupted) is the end; a record
 *		whose checksum does not match anywhere else is an error.
 */
bool
BacSegmentReadRecord(BacSegmentReader *r, BacChangeRecord *rec)
{
	uint32		len;
	uint32		crc_read;
	pg_crc32c	crc;
	off_t		start = r->offset;

	if (!chg_read_exact(r, &len, 4))
		return false;
	len = pg_ntoh32(len);
	if (len == 0 || len > BAC_MAX_RECORD)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("change segment \"%s\" is damaged at offset %lld",
						r->path, (long long) start),
				 errdetail("A record claims %u bytes.", len)));
	resetStringInfo(&r->payload);
	enlargeStringInfo(&r->payload, len);
	if (!chg_read_exact(r, r->payload.data, len) ||
		!chg_read_exact(r, &crc_read, 4))
	{
		r->offset = start;
		return false;
	}
	r->payload.len = len;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, r->payload.data, len);
	FIN_CRC32C(crc);
	if (pg_ntoh32(crc_read) != crc)
	{
		/* a torn last record is the end; a bad one in the middle is not */
		if (fgetc(r->file) == EOF)
		{
			r->offset = start;
			return false;
		}
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("change segment \"%s\" is damaged at offset %lld",
						r->path, (long long) start),
				 errdetail("The record's checksum does not match.")));
	}
	BacDecodeRecord(r->payload.data, len, rec, r->path);
	return true;
}

/*
 * BacSegmentReaderClose
 *		Close the file.
 */
void
BacSegmentReaderClose(BacSegmentReader *r)
{
	FreeFile(r->file);
	pfree(r->payload.data);
}

/*
 * BacSegmentStartLsn
 *		The start LSN a segment's file name gives.
 */
XLogRecPtr
BacSegmentStartLsn(const char *path)
{
	const char *name = last_dir_separator(path);
	uint32		hi,
				lo;

	name = name ? name + 1 : path;
	if (sscanf(name, "%08X%08X", &hi, &lo) != 2)
		elog(ERROR, "\"%s\" is not named like a change segment", path);
	return ((uint64) hi << 32) | lo;
}

/*
 * BacSegmentReaderOffset
 *		Bytes of the segment read so far (its size once read to the end).
 */
off_t
BacSegmentReaderOffset(BacSegmentReader *r)
{
	return r->offset;
}
