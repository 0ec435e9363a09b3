/*-------------------------------------------------------------------------
 *
 * report_xmin.c
 *		Count the rows a restore discards and brings back from the rows'
 *		xmin, without hashing every row, when the snapshot was taken of
 *		this very database.
 *
 * The consequences report compares, per table, the current rows (the
 * schema moved aside, or the live one) with the restored rows, as
 * multisets of whole rows.  Hashing every row of both sides costs more
 * than loading the data.  In the database the snapshot was taken of, most
 * current rows are the very row versions the snapshot copied: a live row
 * version whose inserting transaction committed before the snapshot's
 * xmin (the oldest transaction still running when the snapshot was taken)
 * was visible to the snapshot and has not been deleted or updated since,
 * so the snapshot holds it, unchanged.  Call those rows "kept" (K) and
 * the other current rows "new" (N).  With R the restored rows (exactly
 * the snapshot's), K is a sub-multiset of R, so
 *
 *	discarded = |N| - |N matched in R - K|,  brought back = |R| - |K| - that
 *
 * and the match is only needed for N, which is small when few rows changed
 * since the snapshot.  With a primary key on the same columns on both
 * sides, a row of N matches a row of R - K exactly when the restored row
 * with its key has the same text (a key of K is never in N).  So a table
 * costs one scan of tuple headers of the current table plus one index
 * lookup per row of N.
 *
 * When is a row's xmin comparable with the snapshot's txid snapshot?  Only
 * in the same transaction history: the same cluster (system identifier),
 * the same timeline (a point-in-time recovery or a failover reuses
 * transaction ids), the same database (a database created after the
 * snapshot, e.g. from a template, holds old xmins the snapshot never saw:
 * its pg_database row must be older than the snapshot) and the same table
 * (its pg_class row older than the snapshot, so it was not renamed or
 * moved into the schema since, and the same columns as the restored
 * table).  Anything else falls back to hashing every row.
 *
 * Raw xmins are 32-bit.  A row's xid is placed in the 2^32 xids up to the
 * next xid; its true xid is that one or older by multiples of 2^32, so
 * "placed before the snapshot's xmin" implies "truly before" (frozen rows
 * keep their raw xmin).  Rows between the snapshot's xmin and xmax are
 * counted as new (a subtransaction's xid is not in the snapshot's list of
 * running transactions); they are merely compared.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/report_xmin.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xlog.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_bac.h"
#include "manifest.h"
#include "report_xmin.h"

static bool BacXminUsable(BacManifest *m, FullTransactionId *snap_xmin,
						  const char **why);

/* what BacXminPrepare found out about the restore's snapshot */
static bool xmin_usable = false;
static FullTransactionId xmin_snap_xmin;

/*
 * BacXminFull
 *		Place a 32-bit xid among the 2^32 xids up to next (see the file
 *		header).
 */
static FullTransactionId
BacXminFull(TransactionId xid, FullTransactionId next)
{
	uint32		epoch = EpochFromFullTransactionId(next);

	if (xid > XidFromFullTransactionId(next))
	{
		if (epoch == 0)
			return InvalidFullTransactionId;
		epoch--;
	}
	return FullTransactionIdFromEpochAndXid(epoch, xid);
}

/*
 * BacXminBefore
 *		Did the tuple header's inserting transaction start before the
 *		snapshot's xmin (so it had ended, committed or not, when the snapshot
 *		was taken)?
 */
static bool
BacXminBefore(HeapTupleHeader tup, FullTransactionId next,
			  FullTransactionId snap_xmin)
{
	TransactionId xid = HeapTupleHeaderGetRawXmin(tup);
	FullTransactionId full;

	if (!TransactionIdIsNormal(xid))
		return false;
	full = BacXminFull(xid, next);
	return FullTransactionIdIsValid(full) &&
		FullTransactionIdPrecedes(full, snap_xmin);
}

/*
 * BacXminPrepare
 *		Called by a restore before its report: may the rows' xmins of this
 *		database be compared with the txid snapshot of the manifest m?
 *		BacXminCountRows refuses to count until this said yes.
 */
void
BacXminPrepare(BacManifest *m)
{
	const char *why = NULL;

	xmin_usable = BacXminUsable(m, &xmin_snap_xmin, &why);
	if (!xmin_usable)
		elog(DEBUG1, "report: rows compared row by row: %s", why);
}

/*
 * BacXminUsable
 *		May the rows' xmins of this database be compared with the snapshot's
 *		txid snapshot?  On success sets *snap_xmin; otherwise *why says why
 *		not.
 */
static bool
BacXminUsable(BacManifest *m, FullTransactionId *snap_xmin, const char **why)
{
	char		sysid[32];
	TimeLineID	tli;
	uint64		xmin64;
	char	   *end;
	HeapTuple	tup;
	bool		older;
	const char *dbname;

	snprintf(sysid, sizeof(sysid), UINT64_FORMAT, GetSystemIdentifier());
	if (m->system_identifier == NULL || strcmp(m->system_identifier, sysid) != 0)
	{
		*why = "the snapshot is of another cluster";
		return false;
	}
	dbname = get_database_name(MyDatabaseId);
	if (m->database == NULL || dbname == NULL || strcmp(m->database, dbname) != 0)
	{
		*why = "the snapshot is of another database";
		return false;
	}
	if (m->in_recovery)
	{
		*why = "the snapshot was taken on a standby";
		return false;
	}
	tli = m->timeline;
	if (RecoveryInProgress() ||
		(tli != 0 && tli != GetWALInsertionTimeLine()) ||
		(tli == 0 && GetWALInsertionTimeLine() != 1))
	{
		*why = "the snapshot is of another timeline";
		return false;
	}
	if (m->txid_snapshot == NULL)
	{
		*why = "the snapshot has no txid snapshot";
		return false;
	}
	errno = 0;
	xmin64 = strtou64(m->txid_snapshot, &end, 10);
	if (errno != 0 || end == m->txid_snapshot || *end != ':')
	{
		*why = "the snapshot's txid snapshot is unreadable";
		return false;
	}
	*snap_xmin = FullTransactionIdFromU64(xmin64);
	if (!FullTransactionIdPrecedes(*snap_xmin, ReadNextFullTransactionId()))
	{
		*why = "the snapshot's xmin is not in this database's past";
		return false;
	}

	/* the database existed, as it is, before the snapshot */
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for database %u", MyDatabaseId);
	older = BacXminBefore(tup->t_data, ReadNextFullTransactionId(), *snap_xmin);
	ReleaseSysCache(tup);
	if (!older)
	{
		*why = "the database was created or altered after the snapshot";
		return false;
	}
	return true;
}

/*
 * BacXminSameColumns
 *		Do the current and the restored table have the same columns (names,
 *		types, typmods, in order)?  A type of the service's own schema
 *		counts as the same when it has the same name in the other schema.
 */
static bool
BacXminSameColumns(Relation cur, Relation new)
{
	TupleDesc	a = RelationGetDescr(cur);
	TupleDesc	b = RelationGetDescr(new);
	int			i = 0,
				j = 0;

	for (;;)
	{
		Form_pg_attribute x,
					y;

		while (i < a->natts && TupleDescAttr(a, i)->attisdropped)
			i++;
		while (j < b->natts && TupleDescAttr(b, j)->attisdropped)
			j++;
		if (i >= a->natts || j >= b->natts)
			return i >= a->natts && j >= b->natts;
		x = TupleDescAttr(a, i);
		y = TupleDescAttr(b, j);
		if (strcmp(NameStr(x->attname), NameStr(y->attname)) != 0 ||
			x->atttypmod != y->atttypmod || x->attgenerated != y->attgenerated)
			return false;
		if (x->atttypid != y->atttypid)
		{
			char	   *xn = format_type_be(x->atttypid);
			char	   *yn = format_type_be(y->atttypid);

			if (get_typ_typrelid(x->atttypid) != InvalidOid ||
				get_typ_typrelid(y->atttypid) != InvalidOid ||
				strcmp(xn, yn) != 0 ||
				!(BacTypeNamespace(x->atttypid) == RelationGetNamespace(cur) &&
				  BacTypeNamespace(y->atttypid) == RelationGetNamespace(new)))
				return false;
		}
		i++;
		j++;
	}
}

/*
 * BacTypeNamespace
 *		The schema of a type.
 */
Oid
BacTypeNamespace(Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			nsp;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	nsp = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
	ReleaseSysCache(tup);
	return nsp;
}

/*
 * BacXminPrimaryKey
 *		The columns of the primary key of rel (attnums into *cols, count
 *		returned), 0 when it has none.
 */
static int
BacXminPrimaryKey(Relation rel, AttrNumber *cols, int max)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel);
	HeapTuple	tup;
	Form_pg_index idx;
	int			n,
				i;

	if (!OidIsValid(pk))
		return 0;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", pk);
	idx = (Form_pg_index) GETSTRUCT(tup);
	n = idx->indnkeyatts;
	if (n > max)
		n = 0;
	for (i = 0; i < n; i++)
		cols[i] = idx->indkey.values[i];
	ReleaseSysCache(tup);
	return n;
}

/*
 * BacXminKeyJoin
 *		The join condition "bac_n.k = bac_o.k AND ..." over the primary keys of both
 *		tables, with built-in equality operators; NULL when the keys differ
 *		(other columns, or a type outside pg_catalog, whose operator a
 *		pg_catalog search_path cannot name).
 */
static char *
BacXminKeyJoin(Relation cur, Relation new)
{
	AttrNumber	kc[INDEX_MAX_KEYS];
	AttrNumber	kn[INDEX_MAX_KEYS];
	int			nc = BacXminPrimaryKey(cur, kc, INDEX_MAX_KEYS);
	int			nn = BacXminPrimaryKey(new, kn, INDEX_MAX_KEYS);
	StringInfoData cond;
	int			i;

	if (nc == 0 || nc != nn)
		return NULL;
	initStringInfo(&cond);
	for (i = 0; i < nc; i++)
	{
		Form_pg_attribute a,
					b;

		if (kc[i] <= 0 || kn[i] <= 0)
			return NULL;
		a = TupleDescAttr(RelationGetDescr(cur), kc[i] - 1);
		b = TupleDescAttr(RelationGetDescr(new), kn[i] - 1);
		if (strcmp(NameStr(a->attname), NameStr(b->attname)) != 0 ||
			a->atttypid != b->atttypid ||
			BacTypeNamespace(a->atttypid) != PG_CATALOG_NAMESPACE)
			return NULL;
		appendStringInfo(&cond, "%sbac_n.%s OPERATOR(pg_catalog.=) bac_o.%s",
						 i ? " AND " : "",
						 quote_identifier(NameStr(b->attname)),
						 quote_identifier(NameStr(a->attname)));
	}
	return cond.data;
}

/*
 * BacXminScan
 *		Count the rows of rel that the snapshot holds unchanged (*kept) and
 *		collect the TIDs of the others; false when there are more than
 *		limit others.
 */
static bool
BacXminScan(Relation rel, FullTransactionId snap_xmin, int64 limit,
			int64 *kept, ItemPointerData **tids, int64 *ntids)
{
	/* what an SPI query of the report would see (a new snapshot in READ COMMITTED) */
	Snapshot	snap = RegisterSnapshot(GetTransactionSnapshot());
	TableScanDesc scan;
	HeapTuple	tup;
	FullTransactionId next = ReadNextFullTransactionId();
	int64		cap = 1024;
	bool		ok = true;

	*kept = 0;
	*ntids = 0;
	*tids = palloc(sizeof(ItemPointerData) * cap);
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		if (BacXminBefore(tup->t_data, next, snap_xmin))
		{
			(*kept)++;
			continue;
		}
		if (*ntids >= limit)
		{
			ok = false;
			break;
		}
		if (*ntids >= cap)
		{
			cap *= 2;
			*tids = repalloc_huge(*tids, sizeof(ItemPointerData) * cap);
		}
		(*tids)[(*ntids)++] = tup->t_self;
	}
	table_endscan(scan);
	UnregisterSnapshot(snap);
	return ok;
}

/*
 * BacXminMatched
 *		How many of the current rows at tids have a restored row with the
 *		same key and the same text.
 */
static int64
BacXminMatched(Relation cur, Relation new, const char *keyjoin,
			   ItemPointerData *tids, int64 ntids)
{
	Datum	   *elems;
	ArrayType  *arr;
	Oid			argtypes[1] = {TIDARRAYOID};
	Datum		args[1];
	char	   *sql;
	int64		i;
	int			ret;
	bool		isnull;
	int64		matched;

	if (ntids == 0)
		return 0;
	elems = palloc(sizeof(Datum) * ntids);
	for (i = 0; i < ntids; i++)
		elems[i] = PointerGetDatum(&tids[i]);
	arr = construct_array(elems, (int) ntids, TIDOID, sizeof(ItemPointerData),
						  false, TYPALIGN_SHORT);
	args[0] = PointerGetDatum(arr);
	/* ROW(x.*): a column named like the alias cannot capture it */
	sql = psprintf("SELECT pg_catalog.count(*)::pg_catalog.int8 FROM %s.%s bac_o JOIN %s.%s bac_n ON %s"
				   " WHERE bac_o.ctid OPERATOR(pg_catalog.=) ANY ($1)"
				   " AND ROW(bac_o.*)::pg_catalog.text OPERATOR(pg_catalog.=) ROW(bac_n.*)::pg_catalog.text",
				   quote_identifier(get_namespace_name(RelationGetNamespace(cur))),
				   quote_identifier(RelationGetRelationName(cur)),
				   quote_identifier(get_namespace_name(RelationGetNamespace(new))),
				   quote_identifier(RelationGetRelationName(new)),
				   keyjoin);
	ret = SPI_execute_with_args(sql, 1, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not compare changed rows: %s", sql);
	matched = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	pfree(elems);
	return matched;
}

/*
 * BacXminCountRows
 *		Rows of the current table curid the restore discards and rows of the
 *		restored table newid (restored_rows rows, -1 if unknown) it brings
 *		back, by the method of the file header.  Returns false, leaving the
 *		counts alone, when the method does not apply (to this pair of tables,
 *		or to the snapshot BacXminPrepare was given); the caller then compares
 *		every row.  On success *changed (palloc'd, *nchanged of them) gets
 *		the TIDs of the current rows newer than the snapshot (N): every
 *		other current row is in the restored table, unchanged.  The caller
 *		is connected to SPI.
 */
bool
BacXminCountRows(Oid curid, Oid newid, int64 restored_rows, int64 *discarded,
				 int64 *back, ItemPointerData **changed, int64 *nchanged)
{
	FullTransactionId snap_xmin = xmin_snap_xmin;
	Relation	cur = table_open(curid, AccessShareLock);
	Relation	new = table_open(newid, AccessShareLock);
	HeapTuple	tup;
	char	   *keyjoin = NULL;
	const char *why = NULL;
	int64		kept = 0,
				nnew = 0,
				matched = 0;
	ItemPointerData *tids = NULL;
	int64		limit;

	/* the table is the one the snapshot saw: same columns, not moved in */
	if (!xmin_usable)
		why = "the snapshot is not of this database's history";
	else if (cur->rd_rel->relam != HEAP_TABLE_AM_OID)
		why = "not a heap table";
	else if (!BacXminSameColumns(cur, new))
		why = "its columns changed since the snapshot";
	if (why == NULL)
	{
		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(curid));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for relation %u", curid);
		if (!BacXminBefore(tup->t_data, ReadNextFullTransactionId(), snap_xmin))
			why = "the table was created, moved or altered after the snapshot";
		ReleaseSysCache(tup);
	}
	if (why == NULL)
		keyjoin = BacXminKeyJoin(cur, new);
	if (why == NULL && restored_rows < 0)
	{
		bool		isnull;
		char	   *sql = psprintf("SELECT pg_catalog.count(*)::pg_catalog.int8 FROM %s.%s",
								   quote_identifier(get_namespace_name(RelationGetNamespace(new))),
								   quote_identifier(RelationGetRelationName(new)));

		if (SPI_execute(sql, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "count query failed: %s", sql);
		restored_rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1,
													&isnull));
	}

	/*
	 * Without a common key the new rows could only be matched by hashing
	 * the restored table: then only an unchanged table is cheap.
	 */
	if (why == NULL)
	{
		limit = keyjoin ? Max(10000, restored_rows / 5) : 0;
		if (!BacXminScan(cur, snap_xmin, limit, &kept, &tids, &nnew))
			why = keyjoin ? "too many rows changed since the snapshot" :
				"rows changed since the snapshot and there is no common primary key";
	}
	if (why == NULL)
		matched = BacXminMatched(cur, new, keyjoin, tids, nnew);
	if (why == NULL && (kept + matched > restored_rows || matched > nnew))
		why = "the counts disagree with the snapshot's";
	if (why == NULL)
	{
		*discarded = nnew - matched;
		*back = restored_rows - kept - matched;
		elog(DEBUG1, "report: rows of table %s compared with the snapshot by xmin: "
			 INT64_FORMAT " older than it, " INT64_FORMAT " newer, " INT64_FORMAT " of these unchanged",
			 quote_identifier(RelationGetRelationName(cur)), kept, nnew, matched);
	}
	else
		elog(DEBUG1, "report: rows of table %s compared row by row: %s",
			 quote_identifier(RelationGetRelationName(cur)), why);
	if (why == NULL)
	{
		*changed = tids;
		*nchanged = nnew;
	}
	else if (tids)
		pfree(tids);
	table_close(new, AccessShareLock);
	table_close(cur, AccessShareLock);
	return why == NULL;
}
