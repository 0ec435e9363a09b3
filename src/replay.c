/*-------------------------------------------------------------------------
 *
 * replay.c
 *		Replay of the change archive onto a service restored from a base
 *		snapshot, up to a target LSN, time or snapshot, and the SQL function
 *		bac.pitr_replay().
 *
 * Exactly the transactions whose top-level xid is not visible in the base's
 * txid snapshot are applied, in commit-LSN order (the archive's order), up
 * to the target.  Changes are applied at executor level as the logical
 * replication apply worker does (ExecSimpleRelationInsert / Update /
 * Delete, rows found through the replica identity index, or by a full
 * comparison for REPLICA IDENTITY FULL), with session_replication_role =
 * replica so that ordinary triggers and foreign-key checks do not fire a
 * second time.  A DDL barrier of a replayed schema in a transaction to apply
 * stops the replay with an error naming it.  Everything happens in the
 * caller's transaction.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/replay.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "parser/parse_relation.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/xid8.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "pg_bac.h"
#include "manifest.h"
#include "pitr.h"

/* how long a restore waits for the archiver to reach its target */
#define RPL_AWAIT_ARCHIVE_MS	60000

/* a relation of the archive, as described in the current transaction */
typedef struct RplRel
{
	Oid			relid;			/* hash key: relid at decoding time */
	BacChangeRel *desc;			/* NULL: not described yet */
	Oid			target;			/* InvalidOid: not a replayed schema */
	AttrNumber *attmap;			/* archive column -> target attnum */
	FmgrInfo   *infuncs;		/* archive column -> its input function */
	Oid		   *ioparams;		/* archive column -> that function's param */
} RplRel;

/* the state of one replay */
typedef struct RplState
{
	List	   *schemas;		/* char *: archived schema names */
	List	   *into;			/* char *: the matching target schemas */
	Datum		base;			/* pg_snapshot of the base */
	Datum		target_snap;	/* pg_snapshot of the target, or 0 */
	BacReplayTarget *target;
	BacChangesState archive;
	HTAB	   *rels;			/* RplRel by decode-time relid */
	MemoryContext replay_cxt;	/* what lives for the whole replay */
	MemoryContext change_cxt;	/* each record is read and applied in it;
								 * reset after each */
	bool		in_window;		/* past the window's start record */
	bool		applying;		/* inside a transaction being applied */
	int64		changes_before; /* result->changes at its begin */
	BacChangeRecord txn;		/* its begin record */
	BacReplayResult *result;
} RplState;

/*
 * rpl_visible
 *		Is a full xid visible in a pg_snapshot?
 */
static bool
rpl_visible(uint64 xid, Datum snap)
{
	return DatumGetBool(DirectFunctionCall2(pg_visible_in_snapshot,
											FullTransactionIdGetDatum(FullTransactionIdFromU64(xid)),
											snap));
}

/*
 * rpl_wanted
 *		Does a transaction belong to the replay: not visible in the base, and
 *		before the target?
 */
static bool
rpl_wanted(RplState *st, BacChangeRecord *b)
{
	BacReplayTarget *t = st->target;

	if (rpl_visible(b->xid, st->base))
		return false;
	if (t->lsn != InvalidXLogRecPtr && b->commit_lsn >= t->lsn)
		return false;
	if (t->has_time && b->commit_time > t->time)
		return false;
	if (t->txid_snapshot != NULL && !rpl_visible(b->xid, st->target_snap))
		return false;
	return true;
}

/*
 * rpl_target_schema
 *		The target schema of an archived schema, or NULL if not replayed.
 */
static char *
rpl_target_schema(RplState *st, const char *schema)
{
	ListCell   *a,
			   *b;

	forboth(a, st->schemas, b, st->into)
	{
		if (strcmp(lfirst(a), schema) == 0)
			return lfirst(b);
	}
	return NULL;
}

/*
 * rpl_copy_rel
 *		A relation descriptor copied into the current memory context (the
 *		record it came with lives only until the next one).
 */
static BacChangeRel *
rpl_copy_rel(BacChangeRel *d)
{
	BacChangeRel *c = palloc(sizeof(BacChangeRel));
	int			n = d->natts;
	int			i;

	*c = *d;
	c->schema = pstrdup(d->schema);
	c->table = pstrdup(d->table);
	c->attnames = palloc(sizeof(char *) * (n + 1));
	c->atttypnames = palloc(sizeof(char *) * (n + 1));
	c->atttypes = palloc(sizeof(Oid) * (n + 1));
	c->atttypmods = palloc(sizeof(int32) * (n + 1));
	c->attkey = palloc(sizeof(bool) * (n + 1));
	for (i = 0; i < n; i++)
	{
		c->attnames[i] = pstrdup(d->attnames[i]);
		c->atttypnames[i] = pstrdup(d->atttypnames[i]);
		c->atttypes[i] = d->atttypes[i];
		c->atttypmods[i] = d->atttypmods[i];
		c->attkey[i] = d->attkey[i];
	}
	return c;
}

/*
 * rpl_same_rel
 *		Do two descriptors of a relation describe the same columns?
 */
static bool
rpl_same_rel(BacChangeRel *a, BacChangeRel *b)
{
	int			i;

	if (strcmp(a->schema, b->schema) != 0 || strcmp(a->table, b->table) != 0 ||
		a->natts != b->natts || a->replident != b->replident)
		return false;
	for (i = 0; i < a->natts; i++)
	{
		if (strcmp(a->attnames[i], b->attnames[i]) != 0 ||
			a->atttypes[i] != b->atttypes[i] || a->attkey[i] != b->attkey[i])
			return false;
	}
	return true;
}

/*
 * rpl_same_type
 *		Is a target column's type the one the archive names?  The same type,
 *		or the restored copy of a type of a replayed schema: restoring
 *		creates those anew (new OIDs) in the target schemas, so the type of
 *		that name in one of them stands for the archived one.
 */
static bool
rpl_same_type(RplState *st, Oid target, Oid archived)
{
	HeapTuple	tt;
	HeapTuple	at;
	bool		same = false;

	if (target == archived)
		return true;
	tt = SearchSysCache1(TYPEOID, ObjectIdGetDatum(target));
	at = SearchSysCache1(TYPEOID, ObjectIdGetDatum(archived));
	if (HeapTupleIsValid(tt) && HeapTupleIsValid(at) &&
		strcmp(NameStr(((Form_pg_type) GETSTRUCT(tt))->typname),
			   NameStr(((Form_pg_type) GETSTRUCT(at))->typname)) == 0)
	{
		Oid			nsp = ((Form_pg_type) GETSTRUCT(tt))->typnamespace;
		ListCell   *lc;

		foreach(lc, st->into)
		{
			if (BacSchemaOid(lfirst(lc), true) == nsp)
				same = true;
		}
	}
	if (HeapTupleIsValid(tt))
		ReleaseSysCache(tt);
	if (HeapTupleIsValid(at))
		ReleaseSysCache(at);
	return same;
}

/*
 * rpl_describe
 *		A relation descriptor: find (and open, once) the target table and map
 *		the archive's columns onto it by name, checking their types; look up
 *		their input functions once.  Kept in the replay's memory context.
 */
static void
rpl_describe(RplState *st, BacChangeRel *rdesc)
{
	RplRel	   *r;
	bool		found;
	char	   *into = rpl_target_schema(st, rdesc->schema);
	Oid			relid;
	Relation	rel;
	int			i;
	Oid			infn;
	MemoryContext old;
	BacChangeRel *desc;

	r = hash_search(st->rels, &rdesc->relid, HASH_FIND, NULL);
	if (r != NULL && r->desc != NULL && rpl_same_rel(r->desc, rdesc))
		return;					/* described by an earlier transaction */
	old = MemoryContextSwitchTo(st->replay_cxt);
	desc = rpl_copy_rel(rdesc);
	r = hash_search(st->rels, &desc->relid, HASH_ENTER, &found);
	r->desc = desc;
	r->target = InvalidOid;
	if (into == NULL)
	{
		MemoryContextSwitchTo(old);
		return;
	}
	relid = get_relname_relid(desc->table, BacSchemaOid(into, false));
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("cannot replay changes of table \"%s.%s\": there is no table \"%s\" in schema \"%s\"",
						desc->schema, desc->table, desc->table, into),
				 errdetail("The table was created after the base snapshot without a DDL barrier."),
				 errhint("Take a snapshot after the change of the schema and restore from it.")));
	rel = table_open(relid, RowExclusiveLock);
	r->attmap = palloc(sizeof(AttrNumber) * (desc->natts + 1));
	r->infuncs = palloc0(sizeof(FmgrInfo) * (desc->natts + 1));
	r->ioparams = palloc(sizeof(Oid) * (desc->natts + 1));
	for (i = 0; i < desc->natts; i++)
	{
		AttrNumber	attno = attnameAttNum(rel, desc->attnames[i], false);
		Oid			atttypid = InvalidOid;

		if (attno > 0)
			atttypid = TupleDescAttr(RelationGetDescr(rel), attno - 1)->atttypid;
		if (attno <= 0 || !rpl_same_type(st, atttypid, desc->atttypes[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("cannot replay changes of table \"%s.%s\": column \"%s\" of type %s does not match",
							desc->schema, desc->table, desc->attnames[i],
							desc->atttypnames[i]),
					 errdetail("The table was changed after the base snapshot without a DDL barrier."),
					 errhint("Take a snapshot after the change of the schema and restore from it.")));
		r->attmap[i] = attno;
		/* the target's type reads the text: an enum's labels are its own */
		getTypeInputInfo(atttypid, &infn, &r->ioparams[i]);
		fmgr_info_cxt(infn, &r->infuncs[i], st->replay_cxt);
	}
	table_close(rel, NoLock);
	r->target = relid;
	MemoryContextSwitchTo(old);
}

/*
 * rpl_rel
 *		The relation a change refers to, or NULL if it is not replayed.
 */
static RplRel *
rpl_rel(RplState *st, Oid relid)
{
	RplRel	   *r = hash_search(st->rels, &relid, HASH_FIND, NULL);

	if (r == NULL || r->desc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("change archive has a change of relation %u before its descriptor", relid)));
	return OidIsValid(r->target) ? r : NULL;
}

/*
 * rpl_fill_slot
 *		Store an archived tuple's values into a slot of the target table;
 *		unchanged TOASTed values and columns the archive does not carry are
 *		taken from base (may be NULL: then they are NULL).
 */
static void
rpl_fill_slot(RplRel *r, BacChangeTuple *t, TupleTableSlot *slot,
			  TupleTableSlot *base)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	int			i;

	ExecClearTuple(slot);
	if (base != NULL)
	{
		slot_getallattrs(base);
		memcpy(slot->tts_values, base->tts_values, sizeof(Datum) * desc->natts);
		memcpy(slot->tts_isnull, base->tts_isnull, sizeof(bool) * desc->natts);
	}
	else
		memset(slot->tts_isnull, true, sizeof(bool) * desc->natts);
	for (i = 0; i < t->natts && i < r->desc->natts; i++)
	{
		int			a = r->attmap[i] - 1;
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (t->kinds[i] == BAC_VAL_UNCHANGED)
			continue;
		if (t->kinds[i] == BAC_VAL_NULL)
		{
			slot->tts_isnull[a] = true;
			continue;
		}
		slot->tts_values[a] = InputFunctionCall(&r->infuncs[i], t->values[i],
												r->ioparams[i], att->atttypmod);
		slot->tts_isnull[a] = false;
	}
	ExecStoreVirtualTuple(slot);
}

/*
 * rpl_key_text
 *		The replica identity values of a tuple, for messages.
 */
static char *
rpl_key_text(RplRel *r, BacChangeTuple *t)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < t->natts && i < r->desc->natts; i++)
	{
		if (!r->desc->attkey[i])
			continue;
		appendStringInfo(&s, "%s%s = %s", s.len ? ", " : "", r->desc->attnames[i],
						 t->kinds[i] == BAC_VAL_TEXT ? t->values[i] : "NULL");
	}
	return s.data;
}

/*
 * rpl_apply_change
 *		Apply one insert, update or delete to its target table.
 */
static void
rpl_apply_change(RplState *st, BacChangeRecord *rec)
{
	RplRel	   *r = rpl_rel(st, rec->relid);
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	RangeTblEntry *rte;
	EPQState	epq;
	TupleDesc	desc;
	TupleTableSlot *remote,
			   *local,
			   *search;
	Oid			idx;
	bool		found;

	if (r == NULL)
		return;
	rel = table_open(r->target, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = r->target;
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(estate, list_make1(rte));
	estate->es_output_cid = GetCurrentCommandId(true);
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	AfterTriggerBeginQuery();
	remote = ExecInitExtraTupleSlot(estate, desc, &TTSOpsVirtual);

	if (rec->type == BAC_REC_INSERT)
	{
		rpl_fill_slot(r, &rec->new, remote, NULL);
		ExecSimpleRelationInsert(rri, estate, remote);
	}
	else
	{
		BacChangeTuple *key = rec->has_old ? &rec->old : &rec->new;

		search = ExecInitExtraTupleSlot(estate, desc, &TTSOpsVirtual);
		local = table_slot_create(rel, &estate->es_tupleTable);
		rpl_fill_slot(r, key, search, NULL);
		idx = RelationGetReplicaIndex(rel);
		if (OidIsValid(idx))
			found = RelationFindReplTupleByIndex(rel, idx, LockTupleExclusive,
												 search, local);
		else
		{
			if (desc->constr && desc->constr->has_generated_stored)
				ExecComputeStoredGenerated(rri, estate, search, CMD_INSERT);
			found = RelationFindReplTupleSeq(rel, LockTupleExclusive,
											 search, local);
		}
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("cannot replay %s of a row of table \"%s.%s\": the row is not there",
							rec->type == BAC_REC_UPDATE ? "an update" : "a delete",
							get_namespace_name(RelationGetNamespace(rel)),
							RelationGetRelationName(rel)),
					 errdetail("Key: %s; transaction committed at %s (LSN %X/%X).",
							   rpl_key_text(r, key),
							   timestamptz_to_str(st->txn.commit_time),
							   LSN_FORMAT_ARGS(st->txn.commit_lsn)),
					 errhint("The table was changed outside the archived stream since the base snapshot.")));
		EvalPlanQualInit(&epq, estate, NULL, NIL, -1);
		if (rec->type == BAC_REC_UPDATE)
		{
			rpl_fill_slot(r, &rec->new, remote, local);
			ExecSimpleRelationUpdate(rri, estate, &epq, local, remote);
		}
		else
			ExecSimpleRelationDelete(rri, estate, &epq, local);
		EvalPlanQualEnd(&epq);
	}
	AfterTriggerEndQuery(estate);
	ExecCloseIndices(rri);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	st->result->changes++;
}

/*
 * rpl_truncate
 *		TRUNCATE ONLY the replayed relations of a truncate record together.
 */
static void
rpl_truncate(RplState *st, BacChangeRecord *rec)
{
	StringInfoData sql;
	int			i;
	int			n = 0;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "TRUNCATE ONLY ");
	for (i = 0; i < rec->nrelids; i++)
	{
		RplRel	   *r = rpl_rel(st, rec->relids[i]);

		if (r == NULL)
			continue;
		appendStringInfo(&sql, "%s%s", n++ ? ", " : "",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(r->target)),
													get_rel_name(r->target)));
	}
	if (n == 0)
		return;
	if (rec->restart_seqs)
		appendStringInfoString(&sql, " RESTART IDENTITY");
	SPI_connect();
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not replay a truncate: %s", sql.data);
	SPI_finish();
	CommandCounterIncrement();
	st->result->changes++;
}

/*
 * rpl_barrier
 *		A DDL barrier in a transaction to apply: refuse if it touches a
 *		replayed schema.
 */
static void
rpl_barrier(RplState *st, BacChangeRecord *rec)
{
	Jsonb	   *j = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
													   CStringGetDatum(rec->message)));
	JsonbValue	k;
	JsonbValue *schemas;
	int			i;

	k.type = jbvString;
	k.val.string.val = "schemas";
	k.val.string.len = 7;
	schemas = findJsonbValueFromContainer(&j->root, JB_FOBJECT, &k);
	if (schemas == NULL || schemas->type != jbvBinary)
		return;
	for (i = 0; i < JsonContainerSize(schemas->val.binary.data); i++)
	{
		JsonbValue *s = getIthJsonbValueFromContainer(schemas->val.binary.data, i);
		char	   *name;

		if (s == NULL || s->type != jbvString)
			continue;
		name = pnstrdup(s->val.string.val, s->val.string.len);
		if (rpl_target_schema(st, name) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot replay across a DDL barrier of schema \"%s\"", name),
					 errdetail("The transaction committed at %s (LSN %X/%X) changed the schema's definition: %s.",
							   timestamptz_to_str(st->txn.commit_time),
							   LSN_FORMAT_ARGS(st->txn.commit_lsn), rec->message),
					 errhint("Choose a target before %s, or restore from a snapshot taken after it.",
							 timestamptz_to_str(st->txn.commit_time))));
	}
}

/*
 * rpl_record
 *		Act on one record of the archive.  Returns false when the replay is
 *		past its target (nothing later can belong to it).
 */
static bool
rpl_record(RplState *st, BacChangeRecord *rec)
{
	switch (rec->type)
	{
		case BAC_REC_WINDOW:
			st->in_window = rec->lsn == st->archive.window_lsn &&
				rec->consistent_xid == st->archive.window_xid;
			return true;
		case BAC_REC_PROGRESS:
			/* a segment starts with one: its window start may be pruned */
			st->in_window = rec->has_old &&
				rec->message_lsn == st->archive.window_lsn &&
				rec->consistent_xid == st->archive.window_xid;
			return true;
		case BAC_REC_BEGIN:
			if (!st->in_window)
				return true;
			if (rec->commit_lsn >= st->archive.upto)
				return false;
			if (st->target->lsn != InvalidXLogRecPtr &&
				rec->commit_lsn >= st->target->lsn)
				return false;
			st->applying = rpl_wanted(st, rec);
			st->txn = *rec;
			st->changes_before = st->result->changes;
			return true;
		case BAC_REC_COMMIT:
			if (st->applying && st->result->changes > st->changes_before)
			{
				st->result->transactions++;
				st->result->last_commit_lsn = rec->commit_lsn;
				st->result->last_commit_time = rec->commit_time;
			}
			st->applying = false;
			return true;
		case BAC_REC_RELATION:
			if (st->applying)
				rpl_describe(st, rec->rel);
			return true;
		case BAC_REC_INSERT:
		case BAC_REC_UPDATE:
		case BAC_REC_DELETE:
			if (st->applying)
				rpl_apply_change(st, rec);
			return true;
		case BAC_REC_TRUNCATE:
			if (st->applying)
				rpl_truncate(st, rec);
			return true;
		case BAC_REC_BARRIER:
			if (st->applying)
				rpl_barrier(st, rec);
			return true;
		default:
			return true;
	}
}

/*
 * rpl_skip_segment
 *		May a closed segment go unread?  When its index (written by pruning)
 *		shows that every transaction in it is visible in the base (below the
 *		base's xmin) and it holds no window record, it has nothing to replay.
 *		The segment after it starts with a progress record, which sets the
 *		window state again.
 */
static bool
rpl_skip_segment(RplState *st, const char *path, bool last)
{
	BacSegmentIndex idx;
	Datum		xmin;
	uint64		base_xmin;

	if (last || !BacSegmentIndexRead(path, &idx) || idx.windows)
		return false;
	xmin = DirectFunctionCall1(pg_snapshot_xmin, st->base);
	base_xmin = U64FromFullTransactionId(DatumGetFullTransactionId(xmin));
	return idx.transactions == 0 || idx.max_xid < base_xmin;
}

/*
 * rpl_check_window
 *		The archive must reach the target and the base must lie in its
 *		window.
 */
static void
rpl_check_window(RplState *st, XLogRecPtr base_lsn)
{
	BacChangesState *a = &st->archive;
	uint64		xmin;

	if (!a->exists || a->window_lsn == InvalidXLogRecPtr)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this database has no change archive"),
				 errhint("Run bac.enable_pitr(), then take a snapshot to restore from.")));
	xmin = U64FromFullTransactionId(DatumGetFullTransactionId(DirectFunctionCall1(pg_snapshot_xmin, st->base)));
	if (xmin < a->window_xid || base_lsn < a->window_lsn)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the snapshot is not a valid base for point-in-time restore"),
				 errdetail("It was taken before the change archive's window began at %X/%X (%s): transactions before it may be missing from the archive.",
						   LSN_FORMAT_ARGS(a->window_lsn), timestamptz_to_str(a->window_time)),
				 errhint("Use a snapshot taken after the window began.")));
	if ((st->target->lsn != InvalidXLogRecPtr && st->target->lsn > a->upto) ||
		(st->target->txid_snapshot && st->target->snapshot_lsn > a->upto) ||
		(st->target->has_time && st->target->time > a->upto_time) ||
		st->target->complete_lsn > a->upto)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the change archive does not reach the target yet"),
				 errdetail("It is complete up to %X/%X (%s)%s.",
						   LSN_FORMAT_ARGS(a->upto), timestamptz_to_str(a->upto_time),
						   a->window_open ? "" : ", where its window ended"),
				 errhint("%s", a->window_open ? "Run bac.pitr_pump() or wait for the archiver, then retry." :
						 "Choose a target within the window.")));
}

/*
 * rpl_commits_stamped_by_now
 *		A WAL position before which lies the commit record of every
 *		transaction whose commit timestamp is earlier than now.
 *
 * A commit takes its timestamp inside its commit critical section, with
 * DELAY_CHKPT_START set, and inserts its commit record before it leaves it
 * (RecordTransactionCommit; COMMIT PREPARED takes its timestamp a few
 * instructions before setting the flag).  So once the backends in that
 * section now have left it, as a checkpoint waits for them, every commit
 * stamped before now has its record before the WAL insert position.
 */
static XLogRecPtr
rpl_commits_stamped_by_now(void)
{
	VirtualTransactionId *vxids;
	int			n;

	vxids = GetVirtualXIDsDelayingChkpt(&n, DELAY_CHKPT_START);
	while (n > 0 && HaveVirtualXIDsDelayingChkpt(vxids, n, DELAY_CHKPT_START))
	{
		CHECK_FOR_INTERRUPTS();
		pg_usleep(1000L);
	}
	pfree(vxids);
	return GetXLogInsertRecPtr();
}

/*
 * BacReplayAwaitArchive
 *		Where the change archive must reach for the target, and wait (up to
 *		RPL_AWAIT_ARCHIVE_MS) until the archiver has got there.  Called before
 *		a base is restored; BacReplay refuses the target if the archive still
 *		falls short.
 *
 * For a target LSN or snapshot that is the target's own LSN.  For a target
 * time it is a WAL position before which every commit stamped at or before
 * the target lies: the archive's own time (archived_at) cannot tell,
 * because the archiver reads it after decoding, and a transaction stamped
 * while it decoded has its commit record after the position it reached.
 * Once the window has ended, or the slot is gone, nothing more will be
 * archived, and the archive's time is all there is.
 */
void
BacReplayAwaitArchive(BacReplayTarget *target)
{
	BacChangesState a;
	TimestampTz start = GetCurrentTimestamp();

	if (target->lsn != InvalidXLogRecPtr && !RecoveryInProgress() &&
		target->lsn > GetXLogInsertRecPtr())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target LSN %X/%X is ahead of this server's WAL",
						LSN_FORMAT_ARGS(target->lsn)),
				 errdetail("WAL is written up to %X/%X.",
						   LSN_FORMAT_ARGS(GetXLogInsertRecPtr())),
				 errhint("Choose a target at or before pg_current_wal_insert_lsn().")));
	if (target->lsn != InvalidXLogRecPtr)
		target->complete_lsn = target->lsn;
	if (target->txid_snapshot != NULL)
		target->complete_lsn = Max(target->complete_lsn, target->snapshot_lsn);
	BacChangesReadState(MyDatabaseId, &a);
	if (!a.exists || !a.window_open || !BacPitrEnabled())
		return;					/* nothing more will be archived */
	if (target->has_time && target->time < start && !RecoveryInProgress())
		target->complete_lsn = Max(target->complete_lsn, rpl_commits_stamped_by_now());

	while (a.upto < target->complete_lsn && a.window_open &&
		   !TimestampDifferenceExceeds(start, GetCurrentTimestamp(), RPL_AWAIT_ARCHIVE_MS))
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 50L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		BacChangesReadState(MyDatabaseId, &a);
	}
}

/*
 * BacReplay
 *		Apply the archived changes of schemas (renamed to into_schemas) that
 *		the base (txid snapshot text, WAL LSN) does not have, up to target.
 */
void
BacReplay(const char *base_txid_snapshot, XLogRecPtr base_lsn,
		  List *schemas, List *into_schemas, BacReplayTarget *target,
		  BacReplayResult *result)
{
	RplState	st = {0};
	HASHCTL		hctl;
	List	   *segments;
	ListCell   *lc;
	int			nestlevel;
	int			skipped = 0;
	bool		go = true;

	BacChangeArchiveHold();
	st.schemas = schemas;
	st.into = into_schemas;
	st.target = target;
	st.result = result;
	memset(result, 0, sizeof(BacReplayResult));
	st.base = DirectFunctionCall1(pg_snapshot_in, CStringGetDatum(base_txid_snapshot));
	if (target->txid_snapshot)
		st.target_snap = DirectFunctionCall1(pg_snapshot_in,
											 CStringGetDatum(target->txid_snapshot));
	BacChangesReadState(MyDatabaseId, &st.archive);
	rpl_check_window(&st, base_lsn);

	st.replay_cxt = CurrentMemoryContext;
	st.change_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_bac replay record",
										  ALLOCSET_DEFAULT_SIZES);
	hctl.keysize = sizeof(Oid);
	hctl.entrysize = sizeof(RplRel);
	hctl.hcxt = CurrentMemoryContext;
	st.rels = hash_create("pg_bac replay relations", 64, &hctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	nestlevel = NewGUCNestLevel();
	(void) set_config_option("session_replication_role", "replica",
							 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	segments = BacListSegments(MyDatabaseId);
	foreach(lc, segments)
	{
		BacSegmentReader *r;
		BacChangeRecord rec;
		bool		more = true;

		if (rpl_skip_segment(&st, lfirst(lc), lnext(segments, lc) == NULL))
		{
			skipped++;
			continue;
		}
		r = BacSegmentReaderOpen(lfirst(lc));
		while (go && more)
		{
			MemoryContext old = MemoryContextSwitchTo(st.change_cxt);

			CHECK_FOR_INTERRUPTS();
			more = BacSegmentReadRecord(r, &rec);
			if (more)
				go = rpl_record(&st, &rec);
			MemoryContextSwitchTo(old);
			MemoryContextReset(st.change_cxt);
		}
		BacSegmentReaderClose(r);
		if (!go)
			break;
	}
	AtEOXact_GUC(true, nestlevel);
	MemoryContextDelete(st.change_cxt);
	if (skipped > 0)
		ereport(DEBUG1,
				(errmsg("replay left %d of %d change segments unread: their index shows the base snapshot sees every transaction in them",
						skipped, list_length(segments))));
}

/*
 * bac.pitr_replay(snapshot_id text, service name, into_schema name
 *				   DEFAULT NULL, target_lsn pg_lsn DEFAULT NULL, target_time
 *				   timestamptz DEFAULT NULL, target_snapshot text DEFAULT
 *				   NULL, OUT transactions bigint, OUT changes bigint, OUT
 *				   last_commit_lsn pg_lsn, OUT last_commit_at timestamptz)
 *		Apply the archived changes of the service that snapshot_id does not
 *		have to its schema (or into_schema, where it was restored under
 *		another name), up to target_lsn, target_time or the instant of the
 *		snapshot target_snapshot (at least one target).
 */
PG_FUNCTION_INFO_V1(bac_pitr_replay);
Datum
bac_pitr_replay(PG_FUNCTION_ARGS)
{
	BacManifest *base;
	BacManifestService *svc;
	BacReplayTarget target = {0};
	BacReplayResult res;
	char	   *service;
	char	   *into;
	TupleDesc	tupdesc;
	Datum		v[4];
	bool		n[4] = {false, false, false, false};

	BacRequireSuperuser("bac.pitr_replay", "replay the change archive");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("snapshot_id and service must not be NULL")));
	if (PG_ARGISNULL(3) && PG_ARGISNULL(4) && PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a target is needed"),
				 errhint("Pass target_lsn, target_time or target_snapshot.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	base = BacReadManifest(text_to_cstring(PG_GETARG_TEXT_PP(0)),
						   BAC_MANIFEST_SAME_MAJOR);
	service = NameStr(*PG_GETARG_NAME(1));
	svc = BacManifestFindService(base, service);
	into = PG_ARGISNULL(2) ? svc->schema : NameStr(*PG_GETARG_NAME(2));
	if (!PG_ARGISNULL(3))
		target.lsn = PG_GETARG_LSN(3);
	if (!PG_ARGISNULL(4))
	{
		target.has_time = true;
		target.time = PG_GETARG_TIMESTAMPTZ(4);
	}
	if (!PG_ARGISNULL(5))
	{
		BacManifest *t = BacReadManifest(text_to_cstring(PG_GETARG_TEXT_PP(5)), 0);

		target.txid_snapshot = t->txid_snapshot;
		target.snapshot_lsn = BacManifestInstantLsn(t);
	}
	BacReplayAwaitArchive(&target);
	BacReplay(base->txid_snapshot, BacManifestInstantLsn(base),
			  list_make1(svc->schema), list_make1(into), &target, &res);

	v[0] = Int64GetDatum(res.transactions);
	v[1] = Int64GetDatum(res.changes);
	v[2] = LSNGetDatum(res.last_commit_lsn);
	n[2] = res.transactions == 0;
	v[3] = TimestampTzGetDatum(res.last_commit_time);
	n[3] = res.transactions == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, v, n)));
}
