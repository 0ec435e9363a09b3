/*-------------------------------------------------------------------------
 *
 * pump.c
 *		Draining the database's logical slot into change segments, and the
 *		SQL functions bac.enable_pitr(), bac.disable_pitr(), bac.pitr_pump()
 *		and bac.pitr_state().
 *
 * One round does inside the backend what pg_logical_slot_get_changes does
 * (logicalfuncs.c): acquire the slot, create a decoding context from its
 * confirmed position, decode the WAL up to the flush position, then confirm.
 * Here the plugin's records go to the newest change segment, which is
 * fsynced before the slot's confirmed position advances; a transaction
 * decoded again after a crash is recognised by its commit LSN and dropped
 * (changes.c), so the archive has no gap and no duplicate.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/pump.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xlog.h"
#include "access/xlogutils.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "replication/decode.h"
#include "replication/logical.h"
#include "replication/slot.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"
#include "utils/xid8.h"
#include "utils/inval.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "pg_bac.h"
#include "pitr.h"

/* one round's state, reached from the decoding context's writer hooks */
typedef struct PumpState
{
	BacSegmentWriter *writer;
	int64		transactions;	/* commit records appended */
} PumpState;

/*
 * BacPitrSlotName
 *		The slot of a database: pg_bac_<oid>.
 */
char *
BacPitrSlotName(Oid dboid)
{
	return psprintf("%s%u", BAC_PITR_SLOT_PREFIX, dboid);
}

/*
 * pump_require_plugin_allowed
 *		Servers that have output_plugin_libraries (a list of the libraries
 *		allowed as output plugins) must name pg_bac in it: the operator
 *		decides, pg_bac does not work around it.
 */
static void
pump_require_plugin_allowed(void)
{
	const char *setting = GetConfigOption("output_plugin_libraries", true, false);
	char	   *copy;
	List	   *names;
	ListCell   *lc;

	if (setting == NULL)
		return;
	copy = pstrdup(setting);
	if (!SplitIdentifierString(copy, ',', &names))
		return;					/* the server reports a malformed list */
	foreach(lc, names)
	{
		if (strcmp(lfirst(lc), BAC_PITR_PLUGIN) == 0)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("pg_bac is not allowed as an output plugin on this server"),
			 errdetail("output_plugin_libraries is \"%s\"; the change archive is decoded by pg_bac's own output plugin.",
					   setting),
			 errhint("Add pg_bac to output_plugin_libraries in postgresql.conf and reload.")));
}

/*
 * pump_require_logical
 *		A clear error when wal_level is below logical.
 */
static void
pump_require_logical(void)
{
	if (wal_level < WAL_LEVEL_LOGICAL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("point-in-time restore needs wal_level = logical"),
				 errdetail("The change archive is decoded from the WAL, which holds the rows' changes only at wal_level = logical."),
				 errhint("Set wal_level = logical in postgresql.conf and restart the server.")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the change archive cannot be used during recovery"),
				 errhint("Enable it on the primary.")));
	pump_require_plugin_allowed();
}

/*
 * pump_prepare_write
 *		Nothing to prepare: ctx->out holds one record's payload.
 */
static void
pump_prepare_write(LogicalDecodingContext *ctx, XLogRecPtr lsn,
				   TransactionId xid, bool last_write)
{
	resetStringInfo(ctx->out);
}

/*
 * pump_write
 *		Append the plugin's record to the segment.
 */
static void
pump_write(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid,
		   bool last_write)
{
	PumpState  *ps = ctx->output_writer_private;

	BacSegmentAppend(ps->writer, ctx->out->data, ctx->out->len);
	if (ctx->out->len > 0 && ctx->out->data[0] == BAC_REC_COMMIT)
		ps->transactions++;
}

/*
 * pump_slot_lost
 *		Has the slot been invalidated (WAL removed under it)?
 */
static bool
pump_slot_lost(void)
{
	ReplicationSlot *s = MyReplicationSlot;
	bool		lost;

	SpinLockAcquire(&s->mutex);
	lost = s->data.invalidated_at != InvalidXLogRecPtr &&
		s->data.restart_lsn == InvalidXLogRecPtr;
	SpinLockRelease(&s->mutex);
	return lost;
}

/*
 * pump_pass
 *		Decode the WAL up to the flush position of now, append, make it
 *		durable, then confirm it to the slot; returns where it stopped.
 */
static XLogRecPtr
pump_pass(PumpState *ps, LogicalDecodingContext *ctx)
{
	XLogRecPtr	end_of_wal = GetFlushRecPtr(NULL);
	XLogRecPtr	end;

	while (ctx->reader->EndRecPtr < end_of_wal)
	{
		char	   *errm = NULL;
		XLogRecord *record = XLogReadRecord(ctx->reader, &errm);

		if (errm)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not read WAL for the change archive: %s", errm)));
		if (record != NULL)
			LogicalDecodingProcessRecord(ctx, ctx->reader);
		CHECK_FOR_INTERRUPTS();
	}
	end = ctx->reader->EndRecPtr;
	if (end > BacSegmentArchivedUpTo(ps->writer, NULL))
		BacAppendProgress(ps->writer, end);
	BacSegmentSync(ps->writer);
	if (end != InvalidXLogRecPtr)
	{
		LogicalConfirmReceivedLocation(end);
		ReplicationSlotMarkDirty();
	}
	return end;
}

/*
 * pump_decode
 *		Decode from the slot's restart position with one decoding context:
 *		one pass, then (for the worker, session_ms > 0) more passes while
 *		new WAL keeps coming, for up to session_ms, so that a busy server
 *		does not create a decoding context (and log its start) for every
 *		few transactions.  A full segment is closed between passes.
 */
static void
pump_decode(PumpState *ps, Oid dboid, int session_ms)
{
	LogicalDecodingContext *ctx;
	TimestampTz start = GetCurrentTimestamp();
	XLogRecPtr	end;

	ctx = CreateDecodingContext(InvalidXLogRecPtr, NIL, false,
								XL_ROUTINE(.page_read = read_local_xlog_page,
										   .segment_open = wal_segment_open,
										   .segment_close = wal_segment_close),
								pump_prepare_write, pump_write, NULL);
	ctx->output_writer_private = ps;
	XLogBeginRead(ctx->reader, MyReplicationSlot->data.restart_lsn);
	for (;;)
	{
		end = pump_pass(ps, ctx);
		if (session_ms <= 0 || GetFlushRecPtr(NULL) <= end ||
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), session_ms))
			break;
		if (BacSegmentFull(ps->writer))
		{
			BacSegmentWriterClose(ps->writer);
			ps->writer = BacSegmentWriterOpen(dboid, end);
		}
	}
	FreeDecodingContext(ctx);
}

/*
 * BacPitrPumpRound
 *		One round for a database; false when the database has no slot (the
 *		archive is not enabled).  A lost slot ends the window (a gap) once.
 *		When end_reason is set, the window is then ended with that reason,
 *		still holding the slot (so no round runs in between).
 */
static bool
pump_round(Oid dboid, const char *end_reason, int session_ms,
		   int64 *transactions)
{
	char	   *slot = BacPitrSlotName(dboid);
	PumpState	ps = {0};

	if (SearchNamedReplicationSlot(slot, true) == NULL)
		return false;
	ReplicationSlotAcquire(slot, false);
	PG_TRY();
	{
		ps.writer = BacSegmentWriterOpen(dboid,
										 MyReplicationSlot->data.confirmed_flush);
		if (!BacSegmentWindowOpen(ps.writer))
			 /* disabled or lost: append nothing */ ;
		else if (pump_slot_lost())
		{
			BacAppendWindowEnd(ps.writer,
							   BacSegmentArchivedUpTo(ps.writer, NULL),
							   "slot invalidated: WAL was removed before it was archived");
			BacSegmentSync(ps.writer);
			ereport(WARNING,
					(errmsg("the change archive of this database has a gap: slot \"%s\" was invalidated",
							slot),
					 errhint("Raise max_slot_wal_keep_size, run bac.disable_pitr() and bac.enable_pitr(), then take a snapshot.")));
		}
		else if (end_reason == NULL &&
				 MyReplicationSlot->data.confirmed_flush >= GetFlushRecPtr(NULL))
			 /* no new WAL: no decoding context, no log lines */ ;
		else
		{
			pump_decode(&ps, dboid, session_ms);
			if (end_reason != NULL)
			{
				BacAppendWindowEnd(ps.writer,
								   BacSegmentArchivedUpTo(ps.writer, NULL),
								   end_reason);
				BacSegmentSync(ps.writer);
			}
		}
		BacSegmentWriterClose(ps.writer);
		ReplicationSlotRelease();
		InvalidateSystemCaches();
	}
	PG_CATCH();
	{
		InvalidateSystemCaches();
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (transactions)
		*transactions = ps.transactions;
	return true;
}

/*
 * BacPitrPumpRound
 *		One round for a database (the worker's loop): one decoding context
 *		for up to session_ms while new WAL keeps coming.
 */
bool
BacPitrPumpRound(Oid dboid, int session_ms, int64 *transactions)
{
	pump_require_logical();
	return pump_round(dboid, NULL, session_ms, transactions);
}

/*
 * bac.pitr_pump() RETURNS bigint
 *		Drain this database's slot once, now, then index the closed
 *		segments; returns the number of transactions appended to the change
 *		archive.
 */
PG_FUNCTION_INFO_V1(bac_pitr_pump);
Datum
bac_pitr_pump(PG_FUNCTION_ARGS)
{
	int64		n = 0;

	BacRequireSuperuser("bac.pitr_pump", "manage the change archive");
	pump_require_logical();
	if (!pump_round(MyDatabaseId, NULL, 0, &n))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("point-in-time restore is not enabled in this database"),
				 errhint("Run bac.enable_pitr() first.")));
	BacSegmentIndexClosed(MyDatabaseId);
	PG_RETURN_INT64(n);
}

/*
 * BacPitrEnabled
 *		Does this database have its pg_bac slot (bac.enable_pitr)?
 */
bool
BacPitrEnabled(void)
{
	return SearchNamedReplicationSlot(BacPitrSlotName(MyDatabaseId), true) != NULL;
}

/*
 * BacPitrWarnUnreplayable
 *		Name the tables of registered schemas (of schema alone, when not
 *		NULL) whose updates and deletes cannot be archived: no primary key
 *		and no replica identity.  The caller is connected to SPI; enable_pitr
 *		and register_service call this.
 */
void
BacPitrWarnUnreplayable(const char *schema)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	char		nulls[1] = {' '};
	StringInfoData names;
	uint64		i;

	values[0] = schema ? CStringGetTextDatum(schema) : (Datum) 0;
	nulls[0] = schema ? ' ' : 'n';
	if (SPI_execute_with_args("SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)"
							  " FROM pg_catalog.pg_class c"
							  " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
							  " WHERE n.nspname IN (SELECT s.schema_name FROM bac.service s)"
							  "   AND ($1 IS NULL OR n.nspname OPERATOR(pg_catalog.=) $1::pg_catalog.name)"
							  "   AND c.relkind = 'r'"
							  "   AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS"
							  "        (SELECT FROM pg_catalog.pg_index i"
							  "         WHERE i.indrelid = c.oid AND i.indisprimary)))"
							  " ORDER BY 1",
							  1, argtypes, values, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the tables without a replica identity");
	if (SPI_processed == 0)
		return;
	initStringInfo(&names);
	for (i = 0; i < SPI_processed; i++)
		appendStringInfo(&names, "%s%s", i ? ", " : "",
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	ereport(WARNING,
			(errmsg("%d tables of registered services cannot be replayed: %s",
					(int) SPI_processed, names.data),
			 errdetail("They have no primary key and no replica identity, so the WAL holds no key of an updated or deleted row; the change archive stops at their first update or delete."),
			 errhint("Add a primary key, or ALTER TABLE ... REPLICA IDENTITY FULL.")));
}

/*
 * pump_create_slot
 *		Create the database's slot with pg_bac's plugin; its consistent LSN.
 */
static XLogRecPtr
pump_create_slot(const char *slot)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(slot)};
	bool		isnull;
	XLogRecPtr	lsn;

	if (SPI_execute_with_args("SELECT lsn FROM pg_catalog.pg_create_logical_replication_slot("
							  "$1::pg_catalog.name, 'pg_bac', false, false)",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not create replication slot \"%s\"", slot);
	lsn = DatumGetLSN(SPI_getbinval(SPI_tuptable->vals[0],
									SPI_tuptable->tupdesc, 1, &isnull));
	return lsn;
}

/*
 * bac.enable_pitr(OUT slot_name name, OUT start_lsn pg_lsn,
 *				   OUT consistent_xid xid8)
 *		Create this database's slot and open a window of the change archive:
 *		from start_lsn on, every transaction whose xid >= consistent_xid is
 *		archived, so a snapshot whose xmin >= consistent_xid is a valid base.
 */
PG_FUNCTION_INFO_V1(bac_enable_pitr);
Datum
bac_enable_pitr(PG_FUNCTION_ARGS)
{
	char	   *slot = BacPitrSlotName(MyDatabaseId);
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	XLogRecPtr	lsn;
	uint64		xid;
	BacSegmentWriter *w;

	BacRequireSuperuser("bac.enable_pitr", "manage the change archive");
	pump_require_logical();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (BacPitrEnabled())
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("point-in-time restore is already enabled in this database"),
				 errdetail("Replication slot \"%s\" exists.", slot),
				 errhint("See bac.pitr_status.")));
	BacChangesDirectory(MyDatabaseId, true);

	SPI_connect();
	BacPitrWarnUnreplayable(NULL);
	lsn = pump_create_slot(slot);
	xid = U64FromFullTransactionId(ReadNextFullTransactionId());
	SPI_finish();

	ReplicationSlotAcquire(slot, false);
	w = BacSegmentWriterOpen(MyDatabaseId, lsn);
	BacAppendWindow(w, lsn, xid, slot);
	BacSegmentSync(w);
	BacSegmentWriterClose(w);
	ReplicationSlotRelease();
	BacSegmentIndexClosed(MyDatabaseId);	/* a full segment may have closed */

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(slot));
	values[1] = LSNGetDatum(lsn);
	values[2] = FullTransactionIdGetDatum(FullTransactionIdFromU64(xid));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * bac.disable_pitr() RETURNS pg_lsn
 *		Drain the slot a last time, end the window there (returned) and drop
 *		the slot.  The archived changes stay.
 */
PG_FUNCTION_INFO_V1(bac_disable_pitr);
Datum
bac_disable_pitr(PG_FUNCTION_ARGS)
{
	char	   *slot = BacPitrSlotName(MyDatabaseId);
	BacChangesState st;

	BacRequireSuperuser("bac.disable_pitr", "manage the change archive");
	if (!pump_round(MyDatabaseId, "disabled", 0, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("point-in-time restore is not enabled in this database"),
				 errhint("See bac.pitr_status.")));
	ReplicationSlotDrop(slot, false);
	BacSegmentIndexClosed(MyDatabaseId);	/* no worker will do it now */
	BacChangesReadState(MyDatabaseId, &st);
	PG_RETURN_LSN(st.upto);
}

/*
 * bac.pitr_state() RETURNS TABLE (slot_name name, enabled boolean,
 *		slot_lost boolean, archived_lsn pg_lsn, archived_at timestamptz,
 *		last_commit_lsn pg_lsn, lag_bytes numeric, window_start_lsn pg_lsn,
 *		window_start_at timestamptz, window_consistent_xid xid8,
 *		window_open boolean, gap text, segments int, oldest_lsn pg_lsn)
 *		The state of this database's change archive (view bac.pitr_status).
 */
PG_FUNCTION_INFO_V1(bac_pitr_state);
Datum
bac_pitr_state(PG_FUNCTION_ARGS)
{
	char	   *slot = BacPitrSlotName(MyDatabaseId);
	ReplicationSlot *s = SearchNamedReplicationSlot(slot, true);
	BacChangesState st;
	TupleDesc	tupdesc;
	Datum		v[14];
	bool		n[14] = {0};
	List	   *segments;
	bool		lost = false;
	XLogRecPtr	now = RecoveryInProgress() ? InvalidXLogRecPtr : GetXLogInsertRecPtr();

	BacRequireSuperuser("bac.pitr_state", "manage the change archive");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (s != NULL)
	{
		SpinLockAcquire(&s->mutex);
		lost = s->data.invalidated_at != InvalidXLogRecPtr &&
			s->data.restart_lsn == InvalidXLogRecPtr;
		SpinLockRelease(&s->mutex);
	}
	BacChangesReadState(MyDatabaseId, &st);
	v[0] = DirectFunctionCall1(namein, CStringGetDatum(slot));
	v[1] = BoolGetDatum(s != NULL && !lost && st.window_open);
	v[2] = BoolGetDatum(lost);
	v[3] = LSNGetDatum(st.upto);
	n[3] = !st.exists;
	v[4] = TimestampTzGetDatum(st.upto_time);
	n[4] = !st.exists;
	v[5] = LSNGetDatum(st.last_commit);
	n[5] = !st.exists || st.last_commit == InvalidXLogRecPtr;
	v[6] = DirectFunctionCall1(int8_numeric,
							   Int64GetDatum(now > st.upto ? (int64) (now - st.upto) : 0));
	n[6] = !st.exists || s == NULL || now == InvalidXLogRecPtr;
	v[7] = LSNGetDatum(st.window_lsn);
	v[8] = TimestampTzGetDatum(st.window_time);
	v[9] = FullTransactionIdGetDatum(FullTransactionIdFromU64(st.window_xid));
	n[7] = n[8] = n[9] = !st.exists || st.window_lsn == InvalidXLogRecPtr;
	v[10] = BoolGetDatum(st.window_open);
	n[10] = !st.exists;
	if (lost || (st.exists && !st.window_open && s != NULL))
		v[11] = CStringGetTextDatum(psprintf("the slot lost WAL after %X/%X: changes after it are not archived",
											 LSN_FORMAT_ARGS(st.upto)));
	else
		n[11] = true;
	segments = BacListSegments(MyDatabaseId);
	v[12] = Int32GetDatum(list_length(segments));
	v[13] = segments ? LSNGetDatum(BacSegmentStartLsn(linitial(segments))) : (Datum) 0;
	n[13] = segments == NIL;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, v, n)));
}
