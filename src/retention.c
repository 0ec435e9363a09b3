/*-------------------------------------------------------------------------
 *
 * retention.c
 *		Pruning the change archive together with the snapshots: a closed
 *		segment is removed once no kept base snapshot can need it, and the
 *		SQL function bac.pitr_prune().
 *
 * Replay from a base applies exactly the archived transactions whose
 * top-level xid is not visible in the base's txid snapshot (replay.c).  So
 * a segment is needed by no base when every transaction in it is visible
 * in the txid snapshot of every kept valid base (valid: inside the current
 * window, as restore_pitr.c picks them); a base taken later sees them too,
 * since they committed before it.  A snapshot being taken right now has no
 * manifest yet, but its transaction holds back the xmin horizon, so a
 * transaction is also required to be older than that horizon (then it is
 * visible in every snapshot still running).  Only a prefix of the closed
 * segments is removed, oldest first, and never the newest segment (the one
 * being written).  Every segment starts with a progress record that carries
 * the window's state, so what is left still tells the window even after its
 * start record is gone.  When no valid base exists, or a snapshot directory
 * has no readable manifest (it could be a base), nothing is removed.
 *
 * Whether a segment qualifies is read from its index (change_index.c) when
 * every xid in it lies below every base's xmin; otherwise, or without a
 * valid index, the segment is read and each transaction checked exactly.
 *
 * A restore to an instant lists the segments, then reads them one by one:
 * it holds the change archive of its database (a share lock, to the end
 * of its transaction) and pruning, which takes the same lock exclusively
 * without waiting, removes nothing while any reader holds it.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/retention.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/xid8.h"

#include "pg_bac.h"
#include "manifest.h"
#include "pitr.h"

/* the advisory lock tag's fourth field for the change archive ("ba") */
#define BAC_ARCHIVE_LOCK_FIELD4 0x6261

/* what decides whether a transaction may go */
typedef struct RetBases
{
	List	   *snapshots;		/* Datum (pg_snapshot) of each valid base */
	uint64		min_xmin;		/* the lowest xmin among them */
	uint64		horizon;		/* full xid: older ones are visible to all
								 * running snapshots */
} RetBases;

/*
 * ret_snapshot_xmin
 *		The xmin of a pg_snapshot datum, as a full xid.
 */
static uint64
ret_snapshot_xmin(Datum snap)
{
	return U64FromFullTransactionId(DatumGetFullTransactionId(DirectFunctionCall1(pg_snapshot_xmin, snap)));
}

/*
 * ret_horizon
 *		The oldest xmin of the running transactions of this database (and
 *		of physical slots), as a full xid: the data horizon of an ordinary
 *		table (bac.link).  The shared horizon would do, but it includes the
 *		logical slot's catalog_xmin, which lags behind by design.
 */
static uint64
ret_horizon(void)
{
	Oid			relid = get_relname_relid("link", get_namespace_oid("bac", true));
	Relation	rel;
	TransactionId xmin;

	if (!OidIsValid(relid))
		return BacFullXid(GetOldestNonRemovableTransactionId(NULL));
	rel = table_open(relid, AccessShareLock);
	xmin = GetOldestNonRemovableTransactionId(rel);
	table_close(rel, AccessShareLock);
	return BacFullXid(xmin);
}

/*
 * ret_valid_bases
 *		The txid snapshots of the kept snapshots of this database that are
 *		valid bases in the archive's current window.  NULL (with why) when
 *		nothing may be removed.
 */
static RetBases *
ret_valid_bases(BacChangesState *a, const char **why)
{
	RetBases   *b = palloc0(sizeof(RetBases));
	bool		complete = true;
	List	   *manifests;
	ListCell   *lc;

	/* before the manifests are listed: a snapshot started since is newer */
	b->horizon = ret_horizon();
	manifests = BacListManifests(BacArchiveDirectory(false), &complete);
	if (!complete)
	{
		*why = "a snapshot directory has no readable manifest";
		return NULL;
	}
	b->min_xmin = PG_UINT64_MAX;
	foreach(lc, manifests)
	{
		BacManifest *m = lfirst(lc);
		Datum		snap;
		uint64		xmin;

		if (m->txid_snapshot == NULL)
			continue;
		snap = DirectFunctionCall1(pg_snapshot_in, CStringGetDatum(m->txid_snapshot));
		xmin = ret_snapshot_xmin(snap);
		if (xmin < a->window_xid || BacManifestInstantLsn(m) < a->window_lsn)
			continue;			/* not a valid base: never replayed from */
		b->snapshots = lappend(b->snapshots, DatumGetPointer(snap));
		b->min_xmin = Min(b->min_xmin, xmin);
	}
	if (b->snapshots == NIL)
	{
		*why = "no snapshot is a valid base in the current window";
		return NULL;
	}
	return b;
}

/*
 * ret_txn_done
 *		May a transaction go: older than the horizon and visible in every
 *		valid base?
 */
static bool
ret_txn_done(RetBases *b, uint64 xid)
{
	ListCell   *lc;

	if (xid >= b->horizon)
		return false;
	if (xid < b->min_xmin)
		return true;
	foreach(lc, b->snapshots)
	{
		Datum		snap = PointerGetDatum(lfirst(lc));

		if (!DatumGetBool(DirectFunctionCall2(pg_visible_in_snapshot,
											  FullTransactionIdGetDatum(FullTransactionIdFromU64(xid)),
											  snap)))
			return false;
	}
	return true;
}

/*
 * ret_segment_done
 *		May a closed segment go?  From its index when that settles it,
 *		else by reading every transaction of it.  A missing or damaged
 *		index is rebuilt first.
 */
static bool
ret_segment_done(RetBases *b, const char *path)
{
	BacSegmentIndex idx;
	BacSegmentReader *r;
	BacChangeRecord rec;
	bool		done = true;
	MemoryContext tmp;
	MemoryContext old;

	BacSegmentIndexGet(path, &idx);
	if (idx.transactions == 0 ||
		(idx.max_xid < b->min_xmin && idx.max_xid < b->horizon))
		return true;
	if (idx.max_xid >= b->horizon)
		return false;

	/* some xid is not below every xmin: check each transaction */
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pg_bac retention",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	r = BacSegmentReaderOpen(path);
	while (done && BacSegmentReadRecord(r, &rec))
	{
		CHECK_FOR_INTERRUPTS();
		if (rec.type == BAC_REC_BEGIN)
			done = ret_txn_done(b, rec.xid);
	}
	BacSegmentReaderClose(r);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	return done;
}

/*
 * ret_archive_locktag
 *		The lock that stands for this database's change archive: an advisory
 *		tag whose fourth field no SQL advisory lock function uses.
 */
static void
ret_archive_locktag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0, 0, BAC_ARCHIVE_LOCK_FIELD4);
}

/*
 * BacChangeArchiveHold
 *		Keep pruning from removing any segment of this database until the
 *		end of the transaction (waits for a prune in progress).
 */
void
BacChangeArchiveHold(void)
{
	LOCKTAG		tag;

	ret_archive_locktag(&tag);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

/*
 * BacPitrPrune
 *		Remove the oldest closed segments of this database's change archive
 *		that no kept base snapshot needs; what was done in res.
 */
void
BacPitrPrune(BacPruneResult *res)
{
	List	   *segments;
	BacChangesState a;
	RetBases   *b;
	ListCell   *lc;
	LOCKTAG		tag;
	int			n;
	int			i = 0;

	memset(res, 0, sizeof(BacPruneResult));
	BacSegmentIndexClosed(MyDatabaseId);	/* for pruning and for replay */
	segments = BacListSegments(MyDatabaseId);
	n = list_length(segments);
	res->kept = n;
	if (n > 0)
		res->oldest_lsn = BacSegmentStartLsn(linitial(segments));
	if (n < 2)
	{
		res->why = n == 0 ? "there is no change archive" :
			"the only segment is the one being written";
		return;
	}
	ret_archive_locktag(&tag);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		res->why = "a restore to an instant is reading the change archive";
		return;
	}
	BacChangesReadState(MyDatabaseId, &a);
	if (a.window_lsn == InvalidXLogRecPtr)
	{
		res->why = "the change archive has no window";
		return;
	}
	b = ret_valid_bases(&a, &res->why);
	if (b == NULL)
		return;
	foreach(lc, segments)
	{
		char	   *path = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (++i == n)
		{
			res->why = "the next segment is the one being written";
			break;
		}
		if (!ret_segment_done(b, path))
		{
			res->why = "the next segment holds a transaction a kept snapshot does not see";
			break;
		}
		if (BacSegmentRemove(path))
		{
			ereport(DEBUG1,
					(errmsg("removed change segment \"%s\"", path)));
			res->removed++;
		}
		res->kept--;
		res->oldest_lsn = BacSegmentStartLsn(list_nth(segments, i));
	}
	if (res->removed > 0)
		BacFsyncPath(BacChangesDirectory(MyDatabaseId, false), true);
}

/*
 * BacPitrPruneNotice
 *		After snapshots were dropped: prune this database's change archive
 *		and say how many segments went (nothing when it has none).
 */
void
BacPitrPruneNotice(void)
{
	BacPruneResult res;

	BacPitrPrune(&res);
	if (res.removed > 0)
		ereport(NOTICE,
				(errmsg("removed %d change segments no kept snapshot needs", res.removed),
				 errdetail("%d segments are left; the change archive now starts at %X/%X.",
						   res.kept, LSN_FORMAT_ARGS(res.oldest_lsn))));
}

/*
 * bac.pitr_prune(OUT removed int, OUT kept int, OUT oldest_lsn pg_lsn,
 *				  OUT reason text)
 *		Remove the closed change segments of this database that no kept
 *		base snapshot needs: how many went, how many are left, where the
 *		archive now starts and why nothing more was removed.
 */
PG_FUNCTION_INFO_V1(bac_pitr_prune);
Datum
bac_pitr_prune(PG_FUNCTION_ARGS)
{
	BacPruneResult res;
	TupleDesc	tupdesc;
	Datum		v[4];
	bool		nulls[4] = {false, false, false, false};

	BacRequireSuperuser("bac.pitr_prune", "manage the change archive");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	BacPitrPrune(&res);
	v[0] = Int32GetDatum(res.removed);
	v[1] = Int32GetDatum(res.kept);
	v[2] = LSNGetDatum(res.oldest_lsn);
	nulls[2] = res.kept == 0;
	v[3] = res.why ? CStringGetTextDatum(res.why) : (Datum) 0;
	nulls[3] = res.why == NULL;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, v, nulls)));
}
