/*-------------------------------------------------------------------------
 *
 * pitr.h
 *		Point-in-time restore: the change archive (output plugin, change
 *		segments, draining, worker) and replay.
 *
 * The record format is documented at the top of src/changes.c.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/pitr.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BAC_PITR_H
#define PG_BAC_PITR_H

#include "postgres.h"

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

/* the output plugin's name is the library's: the slot is pg_bac_<dboid> */
#define BAC_PITR_PLUGIN			"pg_bac"
#define BAC_PITR_SLOT_PREFIX	"pg_bac_"
#define BAC_DDL_MESSAGE_PREFIX	"pg_bac.ddl"

/* record types: the first byte of every record's payload */
#define BAC_REC_RELATION	'R'		/* relation descriptor */
#define BAC_REC_BEGIN		'B'		/* begin of a committed transaction */
#define BAC_REC_INSERT		'I'
#define BAC_REC_UPDATE		'U'
#define BAC_REC_DELETE		'D'
#define BAC_REC_TRUNCATE	'T'
#define BAC_REC_BARRIER		'M'		/* DDL barrier (a pg_bac.ddl message) */
#define BAC_REC_COMMIT		'C'
#define BAC_REC_WINDOW		'W'		/* window start: enable_pitr */
#define BAC_REC_WINDOW_END	'E'		/* window end: disable, slot lost */
#define BAC_REC_PROGRESS	'P'		/* archived up to (LSN, time) */

/* column value kinds in a tuple */
#define BAC_VAL_NULL		'n'
#define BAC_VAL_UNCHANGED	'u'		/* unchanged TOASTed value: keep */
#define BAC_VAL_TEXT		't'

/* a relation descriptor as read back */
typedef struct BacChangeRel
{
	Oid			relid;			/* at decoding time: only a key */
	char	   *schema;
	char	   *table;
	char		replident;		/* pg_class.relreplident */
	int			natts;			/* live, non-generated columns */
	char	  **attnames;
	Oid		   *atttypes;
	int32	   *atttypmods;
	char	  **atttypnames;	/* format_type_with_typemod text */
	bool	   *attkey;			/* part of the replica identity */
} BacChangeRel;

/* a tuple as read back: one entry per column of its relation descriptor */
typedef struct BacChangeTuple
{
	int			natts;
	char	   *kinds;			/* BAC_VAL_* */
	char	  **values;			/* text, NULL unless BAC_VAL_TEXT */
} BacChangeTuple;

/* one record as read back (fields used depend on type) */
typedef struct BacChangeRecord
{
	char		type;
	/* begin, commit */
	uint64		xid;			/* full top-level xid */
	XLogRecPtr	commit_lsn;
	XLogRecPtr	end_lsn;
	TimestampTz commit_time;
	/* relation */
	BacChangeRel *rel;
	/* insert, update, delete */
	Oid			relid;
	bool		has_old;
	BacChangeTuple old;
	BacChangeTuple new;
	/* truncate */
	int			nrelids;
	Oid		   *relids;
	bool		cascade;
	bool		restart_seqs;
	/* barrier */
	XLogRecPtr	message_lsn;
	char	   *message;
	/* window, window end, progress */
	XLogRecPtr	lsn;
	uint64		consistent_xid;	/* window: next xid when consistent */
	TimestampTz at;
	char	   *reason;			/* window end */
} BacChangeRecord;

/* changes.c: the segment format, writer and reader */
typedef struct BacSegmentWriter BacSegmentWriter;
typedef struct BacSegmentReader BacSegmentReader;

/* a segment's file name: its start LSN (16 hex digits) and this suffix */
#define BAC_SEGMENT_SUFFIX	".changes"

extern char *BacChangesDirectory(Oid dboid, bool create);
extern BacSegmentWriter *BacSegmentWriterOpen(Oid dboid, XLogRecPtr start_lsn);
extern void BacSegmentAppend(BacSegmentWriter *w, const char *payload,
							 size_t len);
extern void BacSegmentSync(BacSegmentWriter *w);
extern void BacSegmentWriterClose(BacSegmentWriter *w);
extern XLogRecPtr BacSegmentLastCommit(BacSegmentWriter *w);
extern XLogRecPtr BacSegmentArchivedUpTo(BacSegmentWriter *w,
										 TimestampTz *at);
extern void BacAppendWindow(BacSegmentWriter *w, XLogRecPtr lsn,
							uint64 consistent_xid, const char *slot);
extern void BacAppendWindowEnd(BacSegmentWriter *w, XLogRecPtr lsn,
							   const char *reason);
extern void BacAppendProgress(BacSegmentWriter *w, XLogRecPtr lsn);

/* the state of a database's change archive, from its newest segment */
typedef struct BacChangesState
{
	bool		exists;			/* there is a segment */
	XLogRecPtr	upto;			/* archived up to (last progress) */
	TimestampTz upto_time;
	XLogRecPtr	last_commit;	/* commit LSN of the last transaction */
	XLogRecPtr	window_lsn;		/* the current (or last) window's start */
	uint64		window_xid;		/* its consistent xid */
	TimestampTz window_time;
	bool		window_open;	/* false: disabled or the slot was lost */
} BacChangesState;

extern void BacChangesReadState(Oid dboid, BacChangesState *st);
extern bool BacSegmentWindowOpen(BacSegmentWriter *w);
extern bool BacSegmentFull(BacSegmentWriter *w);
extern List *BacListSegments(Oid dboid);
extern BacSegmentReader *BacSegmentReaderOpen(const char *path);
extern bool BacSegmentReadRecord(BacSegmentReader *r, BacChangeRecord *rec);
extern void BacSegmentReaderClose(BacSegmentReader *r);
extern void BacDecodeRecord(const char *payload, size_t len,
							BacChangeRecord *rec, const char *where);
extern XLogRecPtr BacSegmentStartLsn(const char *path);
extern off_t BacSegmentReaderOffset(BacSegmentReader *r);

/* GUC bac.change_segment_size, in kB */
extern int	bac_change_segment_size;

/* a DDL barrier as a segment's index lists it */
typedef struct BacSegmentBarrier
{
	XLogRecPtr	commit_lsn;		/* of its transaction */
	TimestampTz commit_time;
	char	   *message;
} BacSegmentBarrier;

/* the index of a closed segment (format at the top of change_index.c) */
typedef struct BacSegmentIndex
{
	uint64		size;			/* bytes of the segment it describes */
	XLogRecPtr	start_lsn;		/* the segment's name */
	XLogRecPtr	end_lsn;		/* its last progress record */
	int64		transactions;
	uint64		min_xid;		/* full top-level xids; 0 without any */
	uint64		max_xid;
	XLogRecPtr	first_commit;
	XLogRecPtr	last_commit;
	TimestampTz first_time;
	TimestampTz last_time;
	bool		windows;		/* holds a window start or end */
	List	   *schemas;		/* char *: schemas its changes touch */
	List	   *barriers;		/* BacSegmentBarrier * */
} BacSegmentIndex;

extern void BacSegmentIndexScan(const char *path, BacSegmentIndex *idx);
extern void BacSegmentIndexWrite(const char *path, const BacSegmentIndex *idx);
extern bool BacSegmentIndexRead(const char *path, BacSegmentIndex *idx);
extern void BacSegmentIndexGet(const char *path, BacSegmentIndex *idx);
extern void BacSegmentIndexClosed(Oid dboid);
extern bool BacSegmentRemove(const char *path);

/* retention.c: pruning segments no kept base snapshot needs */
typedef struct BacPruneResult
{
	int			removed;		/* segments removed */
	int			kept;			/* segments left */
	XLogRecPtr	oldest_lsn;		/* start of the oldest segment left */
	const char *why;			/* why nothing more was removed */
} BacPruneResult;

extern void BacPitrPrune(BacPruneResult *res);
extern void BacPitrPruneNotice(void);
extern void BacChangeArchiveHold(void);

/* encoding helpers shared by the plugin and the writer */
extern void BacPutU8(StringInfo buf, uint8 v);
extern void BacPutU32(StringInfo buf, uint32 v);
extern void BacPutU64(StringInfo buf, uint64 v);
extern void BacPutStr(StringInfo buf, const char *s);

/*
 * A cursor over bytes BacPut* wrote, for the getters that read them back.
 * Reading past the end is an error, unless lenient: then the getters give
 * zeros and empty strings and short is set (for derived files such as a
 * segment index, which are rebuilt rather than trusted).
 */
typedef struct BacCursor
{
	const char *p;
	const char *end;
	const char *where;			/* for error messages */
	bool		lenient;
	bool		short_read;		/* lenient, and the bytes ran out */
} BacCursor;

extern bool BacCursorNeed(BacCursor *c, size_t n);
extern uint8 BacGetU8(BacCursor *c);
extern uint32 BacGetU32(BacCursor *c);
extern uint64 BacGetU64(BacCursor *c);
extern char *BacGetStr(BacCursor *c);

/* decode.c: the output plugin */
extern uint64 BacFullXid(TransactionId xid);

/* pump.c: draining a slot into segments */
extern char *BacPitrSlotName(Oid dboid);
extern bool BacPitrEnabled(void);
extern void BacPitrWarnUnreplayable(const char *schema);
extern bool BacPitrPumpRound(Oid dboid, int session_ms,
							 int64 *transactions);

/* archiver.c: background workers */
extern void BacArchiverInit(void);

/* replay.c */
typedef struct BacReplayTarget
{
	XLogRecPtr	lsn;			/* InvalidXLogRecPtr: none */
	bool		has_time;
	TimestampTz time;
	char	   *txid_snapshot;	/* NULL: none; else apply only visible */
	XLogRecPtr	snapshot_lsn;	/* the WAL position of that snapshot */
	XLogRecPtr	complete_lsn;	/* the archive must reach this to hold every
								 * transaction before the target (set by
								 * BacReplayAwaitArchive) */
} BacReplayTarget;

typedef struct BacReplayResult
{
	int64		transactions;
	int64		changes;
	XLogRecPtr	last_commit_lsn;
	TimestampTz last_commit_time;
} BacReplayResult;

extern void BacReplayAwaitArchive(BacReplayTarget *target);
extern void BacReplay(const char *base_txid_snapshot, XLogRecPtr base_lsn,
					  List *schemas, List *into_schemas,
					  BacReplayTarget *target, BacReplayResult *result);

#endif							/* PG_BAC_PITR_H */
