/*-------------------------------------------------------------------------
 *
 * decode.c
 *		pg_bac's logical decoding output plugin: the committed changes of
 *		the registered services' schemas, as change-archive records.
 *
 * The plugin turns each committed top-level transaction that touches a
 * registered schema into records (format at the top of changes.c): begin,
 * a relation descriptor before the first change of each relation in the
 * transaction, insert / update / delete / truncate, DDL barriers (messages
 * with prefix "pg_bac.ddl"), commit.  Each record is one OutputPluginWrite,
 * so pg_logical_slot_peek_binary_changes shows the records one per row,
 * and bac.pitr_pump appends them to the change segments.  The plugin writes
 * nothing itself: no file, no table (an output plugin must not assign an
 * xid).
 *
 * Which schemas are archived is read from bac.service under the decoding
 * snapshot (bac.service is a user catalog table for that reason), so a
 * service is archived from the transaction that registered it on.  The
 * answer per relation is cached, and forgotten on a relcache invalidation,
 * a schema rename, or a decoded change of bac.service.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/decode.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "parser/parse_relation.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "pg_bac.h"
#include "pitr.h"

/* per relation: is it in a registered schema? */
typedef struct DecRelEntry
{
	Oid			relid;			/* hash key */
	bool		archived;		/* in a registered schema */
} DecRelEntry;

/* the plugin's state for one decoding context */
typedef struct DecState
{
	MemoryContext context;		/* reset after every record */
	MemoryContext txn_context;	/* reset at every begin */
	bool		begin_sent;		/* the current transaction's begin record */
	List	   *rels_sent;		/* relids described in this transaction */
	TransactionId xid;			/* the current transaction */
} DecState;

/* process-wide caches (a process decodes one database) */
static HTAB *dec_rel_cache = NULL;
static List *dec_schemas = NIL; /* Oids of registered schemas */
static bool dec_schemas_valid = false;
static Oid	dec_registry_relid = InvalidOid;
static bool dec_callbacks_registered = false;

extern void _PG_output_plugin_init(OutputPluginCallbacks *cb);

/*
 * dec_invalidate_all
 *		Forget the registered schemas and every relation's answer.
 */
static void
dec_invalidate_all(void)
{
	HASH_SEQ_STATUS status;
	DecRelEntry *e;

	dec_schemas_valid = false;
	if (dec_rel_cache == NULL)
		return;
	hash_seq_init(&status, dec_rel_cache);
	while ((e = hash_seq_search(&status)) != NULL)
		hash_search(dec_rel_cache, &e->relid, HASH_REMOVE, NULL);
}

/*
 * dec_relcache_cb
 *		Relcache invalidation: forget one relation (or all).
 */
static void
dec_relcache_cb(Datum arg, Oid relid)
{
	if (dec_rel_cache == NULL)
		return;
	if (!OidIsValid(relid))
	{
		dec_invalidate_all();
		return;
	}
	hash_search(dec_rel_cache, &relid, HASH_REMOVE, NULL);
}

/*
 * dec_syscache_cb
 *		A schema changed (renamed, dropped): forget everything.
 */
static void
dec_syscache_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	dec_invalidate_all();
}

/*
 * dec_load_schemas
 *		Read bac.service under the current (decoding) snapshot: the Oids of
 *		the schemas of the registered services.
 */
static void
dec_load_schemas(void)
{
	Oid			bacnsp;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	AttrNumber	attno;
	MemoryContext old;

	list_free(dec_schemas);
	dec_schemas = NIL;
	dec_registry_relid = InvalidOid;
	dec_schemas_valid = true;

	bacnsp = get_namespace_oid("bac", true);
	if (OidIsValid(bacnsp))
		dec_registry_relid = get_relname_relid("service", bacnsp);
	if (!OidIsValid(dec_registry_relid))
		return;

	rel = table_open(dec_registry_relid, AccessShareLock);
	attno = attnameAttNum(rel, "schema_name", false);
	if (attno == InvalidAttrNumber)
		elog(ERROR, "bac.service has no column schema_name");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	old = MemoryContextSwitchTo(TopMemoryContext);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, attno, RelationGetDescr(rel), &isnull);
		Oid			nsp;

		if (isnull)
			continue;
		nsp = get_namespace_oid(NameStr(*DatumGetName(d)), true);
		if (OidIsValid(nsp))
			dec_schemas = lappend_oid(dec_schemas, nsp);
	}
	MemoryContextSwitchTo(old);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * dec_is_archived
 *		Is this relation in a registered schema?  Cached per relid.
 */
static bool
dec_is_archived(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	DecRelEntry *e;
	bool		found;

	if (!dec_schemas_valid)
		dec_load_schemas();
	e = hash_search(dec_rel_cache, &relid, HASH_ENTER, &found);
	if (!found)
		e->archived = list_member_oid(dec_schemas,
									  RelationGetNamespace(rel));
	return e->archived;
}

/*
 * BacFullXid
 *		The 64-bit form of a recent xid (at most 2^31 behind the next xid).
 */
uint64
BacFullXid(TransactionId xid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	uint32		epoch = EpochFromFullTransactionId(next);

	if (xid > XidFromFullTransactionId(next))
		epoch--;
	return ((uint64) epoch << 32) | xid;
}

/*
 * dec_startup
 *		Binary output; set up the caches and the invalidation callbacks.
 */
static void
dec_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
			bool is_init)
{
	DecState   *st = palloc0(sizeof(DecState));

	st->context = AllocSetContextCreate(ctx->context, "pg_bac decode record",
										ALLOCSET_DEFAULT_SIZES);
	st->txn_context = AllocSetContextCreate(ctx->context,
											"pg_bac decode transaction",
											ALLOCSET_SMALL_SIZES);
	ctx->output_plugin_private = st;
	opt->output_type = OUTPUT_PLUGIN_BINARY_OUTPUT;
	opt->receive_rewrites = false;

	if (dec_rel_cache == NULL)
	{
		HASHCTL		hctl;

		hctl.keysize = sizeof(Oid);
		hctl.entrysize = sizeof(DecRelEntry);
		dec_rel_cache = hash_create("pg_bac decode relations", 128, &hctl,
									HASH_ELEM | HASH_BLOBS);
	}
	if (!dec_callbacks_registered)
	{
		CacheRegisterRelcacheCallback(dec_relcache_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, dec_syscache_cb, (Datum) 0);
		dec_callbacks_registered = true;
	}
	/* a new context may decode another point in time: start afresh */
	dec_invalidate_all();
}

/*
 * dec_begin
 *		Remember the transaction; its begin record waits for its first
 *		archived change (transactions of other schemas leave no trace).
 */
static void
dec_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	DecState   *st = ctx->output_plugin_private;

	MemoryContextReset(st->txn_context);
	st->rels_sent = NIL;
	st->begin_sent = false;
	st->xid = txn->xid;
}

/*
 * dec_put_txn
 *		A begin or commit record's body.
 */
static void
dec_put_txn(StringInfo out, char type, ReorderBufferTXN *txn)
{
	BacPutU8(out, type);
	BacPutU64(out, BacFullXid(txn->xid));
	BacPutU64(out, txn->final_lsn);
	BacPutU64(out, txn->end_lsn);
	BacPutU64(out, (uint64) txn->xact_time.commit_time);
}

/*
 * dec_ensure_begin
 *		Write the transaction's begin record once, before its first record.
 */
static void
dec_ensure_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	DecState   *st = ctx->output_plugin_private;

	if (st->begin_sent)
		return;
	OutputPluginPrepareWrite(ctx, false);
	dec_put_txn(ctx->out, BAC_REC_BEGIN, txn);
	OutputPluginWrite(ctx, false);
	st->begin_sent = true;
}

/*
 * dec_ensure_relation
 *		Describe a relation once per transaction, before its first change:
 *		schema, name, replica identity, and the live non-generated columns
 *		with their types and whether they are part of the replica identity.
 */
static void
dec_ensure_relation(LogicalDecodingContext *ctx, Relation rel)
{
	DecState   *st = ctx->output_plugin_private;
	TupleDesc	desc = RelationGetDescr(rel);
	Bitmapset  *key;
	StringInfo	out = ctx->out;
	int			natts = 0;
	int			i;
	MemoryContext old;

	if (list_member_oid(st->rels_sent, RelationGetRelid(rel)))
		return;
	key = RelationGetIdentityKeyBitmap(rel);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && !att->attgenerated)
			natts++;
	}
	OutputPluginPrepareWrite(ctx, false);
	BacPutU8(out, BAC_REC_RELATION);
	BacPutU32(out, RelationGetRelid(rel));
	BacPutStr(out, get_namespace_name(RelationGetNamespace(rel)));
	BacPutStr(out, RelationGetRelationName(rel));
	BacPutU8(out, rel->rd_rel->relreplident);
	BacPutU32(out, natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		iskey;

		if (att->attisdropped || att->attgenerated)
			continue;
		iskey = rel->rd_rel->relreplident == REPLICA_IDENTITY_FULL ||
			bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber,
						  key);
		BacPutStr(out, NameStr(att->attname));
		BacPutU32(out, att->atttypid);
		BacPutU32(out, (uint32) att->atttypmod);
		BacPutStr(out, format_type_with_typemod(att->atttypid, att->atttypmod));
		BacPutU8(out, iskey ? 1 : 0);
	}
	OutputPluginWrite(ctx, false);

	old = MemoryContextSwitchTo(st->txn_context);
	st->rels_sent = lappend_oid(st->rels_sent, RelationGetRelid(rel));
	MemoryContextSwitchTo(old);
}

/*
 * dec_put_tuple
 *		A tuple's live non-generated columns as text values; an unchanged
 *		TOASTed value (not in the WAL) is marked as such.
 */
static void
dec_put_tuple(StringInfo out, TupleDesc desc, HeapTuple tuple)
{
	int			natts = 0;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && !att->attgenerated)
			natts++;
	}
	BacPutU32(out, natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		isnull;
		Datum		d;
		Oid			outfn;
		bool		varlena;

		if (att->attisdropped || att->attgenerated)
			continue;
		d = heap_getattr(tuple, i + 1, desc, &isnull);
		if (isnull)
		{
			BacPutU8(out, BAC_VAL_NULL);
			continue;
		}
		if (att->attlen == -1 &&
			VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(d)))
		{
			BacPutU8(out, BAC_VAL_UNCHANGED);
			continue;
		}
		getTypeOutputInfo(att->atttypid, &outfn, &varlena);
		BacPutU8(out, BAC_VAL_TEXT);
		BacPutStr(out, OidOutputFunctionCall(outfn, d));
	}
}

/*
 * dec_change
 *		Insert, update or delete of a row of an archived relation.
 */
static void
dec_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
		   Relation rel, ReorderBufferChange *change)
{
	DecState   *st = ctx->output_plugin_private;
	TupleDesc	desc = RelationGetDescr(rel);
	ReorderBufferTupleBuf *oldtup = change->data.tp.oldtuple;
	ReorderBufferTupleBuf *newtup = change->data.tp.newtuple;
	MemoryContext old;

	if (RelationGetRelid(rel) == dec_registry_relid)
		dec_invalidate_all();
	if (!dec_is_archived(rel))
		return;

	old = MemoryContextSwitchTo(st->context);
	dec_ensure_begin(ctx, txn);
	dec_ensure_relation(ctx, rel);
	OutputPluginPrepareWrite(ctx, false);
	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			BacPutU8(ctx->out, BAC_REC_INSERT);
			BacPutU32(ctx->out, RelationGetRelid(rel));
			dec_put_tuple(ctx->out, desc, &newtup->tuple);
			break;
		case REORDER_BUFFER_CHANGE_UPDATE:
			BacPutU8(ctx->out, BAC_REC_UPDATE);
			BacPutU32(ctx->out, RelationGetRelid(rel));
			BacPutU8(ctx->out, oldtup != NULL ? 1 : 0);
			if (oldtup != NULL)
				dec_put_tuple(ctx->out, desc, &oldtup->tuple);
			dec_put_tuple(ctx->out, desc, &newtup->tuple);
			break;
		case REORDER_BUFFER_CHANGE_DELETE:
			if (oldtup == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot archive a delete from table \"%s.%s\" without a replica identity",
								get_namespace_name(RelationGetNamespace(rel)),
								RelationGetRelationName(rel)),
						 errdetail("The WAL holds no key of the deleted row."),
						 errhint("Give the table a primary key or set REPLICA IDENTITY FULL.")));
			BacPutU8(ctx->out, BAC_REC_DELETE);
			BacPutU32(ctx->out, RelationGetRelid(rel));
			dec_put_tuple(ctx->out, desc, &oldtup->tuple);
			break;
		default:
			elog(ERROR, "unexpected change action %d", change->action);
	}
	OutputPluginWrite(ctx, false);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->context);
}

/*
 * dec_truncate
 *		TRUNCATE of archived relations (the others are left out).
 */
static void
dec_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			 int nrelations, Relation relations[], ReorderBufferChange *change)
{
	DecState   *st = ctx->output_plugin_private;
	List	   *relids = NIL;
	ListCell   *lc;
	int			i;
	MemoryContext old = MemoryContextSwitchTo(st->context);

	for (i = 0; i < nrelations; i++)
	{
		if (!dec_is_archived(relations[i]))
			continue;
		dec_ensure_begin(ctx, txn);
		dec_ensure_relation(ctx, relations[i]);
		relids = lappend_oid(relids, RelationGetRelid(relations[i]));
	}
	if (relids != NIL)
	{
		OutputPluginPrepareWrite(ctx, false);
		BacPutU8(ctx->out, BAC_REC_TRUNCATE);
		BacPutU8(ctx->out, (change->data.truncate.cascade ? 1 : 0) |
				 (change->data.truncate.restart_seqs ? 2 : 0));
		BacPutU32(ctx->out, list_length(relids));
		foreach(lc, relids)
			BacPutU32(ctx->out, lfirst_oid(lc));
		OutputPluginWrite(ctx, false);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->context);
}

/*
 * dec_message
 *		A transactional "pg_bac.ddl" message (written by pg_bac's event
 *		trigger) becomes a DDL barrier at its place in the transaction.
 */
static void
dec_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			XLogRecPtr lsn, bool transactional, const char *prefix,
			Size sz, const char *message)
{
	if (!transactional || strcmp(prefix, BAC_DDL_MESSAGE_PREFIX) != 0)
		return;
	dec_ensure_begin(ctx, txn);
	OutputPluginPrepareWrite(ctx, false);
	BacPutU8(ctx->out, BAC_REC_BARRIER);
	BacPutU64(ctx->out, lsn);
	BacPutU32(ctx->out, (uint32) sz);
	appendBinaryStringInfo(ctx->out, message, sz);
	OutputPluginWrite(ctx, false);
}

/*
 * dec_commit
 *		The commit record of a transaction that had archived records.
 */
static void
dec_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
		   XLogRecPtr commit_lsn)
{
	DecState   *st = ctx->output_plugin_private;

	if (!st->begin_sent)
		return;
	OutputPluginPrepareWrite(ctx, true);
	dec_put_txn(ctx->out, BAC_REC_COMMIT, txn);
	OutputPluginWrite(ctx, true);
	st->begin_sent = false;
}

/*
 * dec_shutdown
 *		Nothing to release: the contexts go with the decoding context.
 */
static void
dec_shutdown(LogicalDecodingContext *ctx)
{
	ctx->output_plugin_private = NULL;
}

/*
 * _PG_output_plugin_init
 *		The output plugin's callbacks.  No streaming and no two-phase
 *		callbacks: only committed top-level transactions are decoded.
 */
void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = dec_startup;
	cb->begin_cb = dec_begin;
	cb->change_cb = dec_change;
	cb->truncate_cb = dec_truncate;
	cb->message_cb = dec_message;
	cb->commit_cb = dec_commit;
	cb->shutdown_cb = dec_shutdown;
}
