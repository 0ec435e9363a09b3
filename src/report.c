/*-------------------------------------------------------------------------
 *
 * report.c
 *		The consequences report of a restore: for every link with an end in
 *		a restored schema, the broken references and orphans the restore
 *		leaves, counted by links.c's checker (the one bac.check_links()
 *		uses) with the restored copy in place of the tables it replaces;
 *		and for every table, the rows the restore discards and brings back.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/report.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"

#include "report_xmin.h"
#include "restore.h"

/*
 * ReportValues
 *		Append one row to the report.
 */
static void
ReportValues(Tuplestorestate *ts, TupleDesc desc, const char *link,
				const char *direction, int64 broken, bool broken_null,
				int64 orphaned, bool orphaned_null, const char *detail)
{
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	NameData	linkname;

	namestrcpy(&linkname, link);
	values[0] = NameGetDatum(&linkname);
	values[1] = CStringGetTextDatum(direction);
	values[2] = Int64GetDatum(broken);
	nulls[2] = broken_null;
	values[3] = Int64GetDatum(orphaned);
	nulls[3] = orphaned_null;
	values[4] = CStringGetTextDatum(detail);
	tuplestore_putvalues(ts, desc, values, nulls);
}

/*
 * ReportCountQuery
 *		Run a query returning one bigint (or two) and return them.
 */
static void
ReportCountQuery(const char *sql, int64 *a, int64 *b)
{
	bool		isnull;
	int			ret = SPI_execute(sql, false, 0);

	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "count query failed: %s", sql);
	*a = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									 SPI_tuptable->tupdesc, 1, &isnull));
	if (b)
		*b = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 2, &isnull));
}

/*
 * ReportRemaps
 *		The schemas the link checker must read in place of others: the live
 *		schema (into_schema) or the schema moved aside (in place) of each
 *		service stands for its restored copy.
 */
static List *
ReportRemaps(List *services)
{
	List	   *remaps = NIL;
	ListCell   *lc;

	foreach(lc, services)
	{
		RestoreService *svc = lfirst(lc);
		BacSchemaRemap *r;

		if (svc->live_name && strcmp(svc->live_name, svc->target) != 0)
		{
			r = palloc0(sizeof(BacSchemaRemap));
			r->from = svc->live_name;
			r->to = svc->target;
			remaps = lappend(remaps, r);
		}
		if (svc->aside)
		{
			r = palloc0(sizeof(BacSchemaRemap));
			r->from = svc->aside;
			r->to = svc->target;
			remaps = lappend(remaps, r);
		}
	}
	return remaps;
}

/*
 * ReportIsRestored
 *		Is a schema (after remapping) one the restore wrote?  A service
 *		named instead (schema NULL: its table does not exist) matches a
 *		restored service of that name.
 */
static bool
ReportIsRestored(List *services, const char *schema, const char *service)
{
	ListCell   *lc;

	foreach(lc, services)
	{
		RestoreService *svc = lfirst(lc);

		if (schema != NULL && strcmp(schema, svc->target) == 0)
			return true;
		if (schema == NULL && service != NULL &&
			strcmp(service, svc->ms->service) == 0)
			return true;
	}
	return false;
}

/*
 * ReportLinkOrder
 *		list_sort comparator: by link name, as ORDER BY link::text sorts.
 */
static int
ReportLinkOrder(const ListCell *a, const ListCell *b)
{
	const char *la = ((BacLinkCheck *) lfirst(a))->link;
	const char *lb = ((BacLinkCheck *) lfirst(b))->link;

	return varstr_cmp(la, strlen(la), lb, strlen(lb), DEFAULT_COLLATION_OID);
}

/*
 * ReportOneLink
 *		The report row of one checked link with an end in a restored
 *		schema; returns its broken count.
 */
static int64
ReportOneLink(BacLinkCheck *r, const char *direction, Tuplestorestate *ts,
			  TupleDesc desc)
{
	StringInfoData detail;

	if (r->from_table == NULL || r->to_table == NULL)
	{
		ReportValues(ts, desc, r->link, direction, 0, true, 0, true,
					 "cannot be checked: one of its tables does not exist after the restore");
		return 0;
	}
	if (!r->checked)
	{
		ReportValues(ts, desc, r->link, direction, 0, true, 0, true, r->sample);
		return 0;
	}
	initStringInfo(&detail);
	appendStringInfo(&detail, "%s.%s -> %s.%s: %lld broken%s",
					 quote_identifier(r->from_schema), quote_identifier(r->from_table),
					 quote_identifier(r->to_schema), quote_identifier(r->to_table),
					 (long long) r->broken,
					 r->lost && strcmp(direction, "incoming") == 0 ? " by the restore" : "");
	if (r->orphans_checked)
		appendStringInfo(&detail, ", %lld orphaned%s", (long long) r->orphaned,
						 r->lost && strcmp(direction, "outgoing") == 0 ? " by the restore" : "");
	else
		appendStringInfoString(&detail, ", orphans not tracked (orphans_matter is false)");
	ReportValues(ts, desc, r->link, direction, r->broken, false,
				 r->orphaned, !r->orphans_checked, detail.data);
	return r->broken;
}

/*
 * ReportLinks
 *		One report row per link of bac.links (declared and discovered) with
 *		an end in a restored schema, counted by links.c's checker exactly as
 *		bac.check_links() counts (the key type's equality operator and
 *		collation), with the restored copy in place of the tables it
 *		replaces.  The counts over the rows of a service the restore does
 *		not write -- the broken references of an incoming link, the orphans
 *		of an outgoing one -- are the ones the restore makes when it
 *		replaces a table (BacLinkCheck.lost): rows that matched the table
 *		replaced and match nothing in the restored copy, found from the
 *		keys the copy lacks through an index of the other service's table,
 *		so that their cost does not grow with the other services' data.
 *		Rows of the other service that were broken or orphaned before the
 *		restore are not counted (bac.check_links counts them); with no
 *		table replaced (a new table, an emptied schema), every one is.  A link one of whose tables does not exist is reported
 *		with NULL counts when it belongs to a restored service.  Returns the
 *		total of broken links.
 */
static int64
ReportLinks(List *services, Tuplestorestate *ts, TupleDesc desc)
{
	List	   *checks;
	List	   *names = NIL;
	ListCell   *lc;
	int64		total = 0;

	if (!OidIsValid(get_relname_relid("links", get_namespace_oid("bac", false))))
		return 0;
	/* only the links with an end in a restored service */
	foreach(lc, services)
		names = lappend(names, ((RestoreService *) lfirst(lc))->ms->service);
	checks = BacCheckLinksRemapped(names, ReportRemaps(services), true);
	list_sort(checks, ReportLinkOrder);
	foreach(lc, checks)
	{
		BacLinkCheck *r = lfirst(lc);
		bool		from_ours;
		bool		to_ours;

		CHECK_FOR_INTERRUPTS();
		if (r->from_table == NULL || r->to_table == NULL)
		{
			/* a missing table: the link goes by its services' names */
			from_ours = ReportIsRestored(services, NULL, r->from_service);
			to_ours = !from_ours && ReportIsRestored(services, NULL, r->to_service);
		}
		else
		{
			from_ours = ReportIsRestored(services, r->from_schema, NULL);
			to_ours = ReportIsRestored(services, r->to_schema, NULL);
		}
		if (!from_ours && !to_ours)
			continue;
		total += ReportOneLink(r, (from_ours && to_ours) ? "internal" :
							   from_ours ? "outgoing" : "incoming", ts, desc);
	}
	return total;
}

/*
 * ReportRows
 *		One report row per table of a restored service: how many rows of the
 *		current data the restore discards and how many it brings back.
 *
 * Method: the rows of the current table (the schema moved aside, or the
 * live schema for into_schema) and of the restored table are compared as a
 * multiset of whole rows in text form, through a 64-bit hash of row::text
 * (hashtextextended; only a hash collision could miscount, odds about 2^-64
 * per pair of rows): a row present now but not in the snapshot is
 * discarded (changed or inserted since the snapshot), a row of the snapshot
 * absent now is brought back (changed or deleted since).  One hash
 * aggregate over both tables, no sort.  An updated row counts once in each.  Tables that exist
 * only now count all their rows as discarded; if a table's columns changed
 * since the snapshot, every row differs.  broken and orphaned are NULL in
 * these rows (direction 'rows'); the counts are in detail.
 */
static int64 ReportSnapshotRows(RestoreService *svc, const char *rel);

/* a report row of direction 'rows', kept until the links' rows are out */
typedef struct ReportRowsRow
{
	char	   *table;
	char	   *detail;
} ReportRowsRow;

static ReportRowsRow *
ReportRowsItem(const char *table, char *detail)
{
	ReportRowsRow *r = palloc(sizeof(ReportRowsRow));

	r->table = pstrdup(table);
	r->detail = detail;
	return r;
}

static List *
ReportRows(RestoreService *svc, List *rows)
{
	const char *cur = svc->aside ? svc->aside : svc->live_name;
	Oid			curnsp;
	Oid			newnsp;
	int			ret;
	uint64		i,
				n;
	SPITupleTable *tt;
	char	   *sql;

	if (cur == NULL)
		return rows;
	curnsp = get_namespace_oid(cur, false);
	newnsp = get_namespace_oid(svc->target, false);

	/* tables with data now or in the snapshot (regular tables, partitions) */
	sql = psprintf("SELECT relname::pg_catalog.text,"
				   " pg_catalog.bool_or(relnamespace = %u), pg_catalog.bool_or(relnamespace = %u)"
				   " FROM pg_catalog.pg_class WHERE relnamespace IN (%u, %u) AND relkind = 'r'"
				   " GROUP BY relname ORDER BY relname", curnsp, newnsp, curnsp, newnsp);
	ret = SPI_execute(sql, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not list tables to compare");
	n = SPI_processed;
	tt = SPI_tuptable;
	for (i = 0; i < n; i++)
	{
		char	   *rel = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
		bool		isnull;
		bool		in_cur = DatumGetBool(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		bool		in_new = DatumGetBool(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));
		int64		discarded = 0,
					back = 0,
					same = 0;
		char	   *detail;
		ItemPointerData *changed;
		int64		nchanged;
		Oid			curid = get_relname_relid(rel, curnsp);

		CHECK_FOR_INTERRUPTS();
		if (in_cur && in_new &&
			BacXminCountRows(curid, get_relname_relid(rel, newnsp),
							 ReportSnapshotRows(svc, rel), &discarded, &back,
							 &changed, &nchanged))
		{
			/* counted from the rows' xmin: report_xmin.c */
			BacLinksKnownChanges(curid, changed, nchanged);
			pfree(changed);
			rows = lappend(rows, ReportRowsItem(rel,
												psprintf("table %s: %lld rows discarded (changed or inserted since the snapshot), %lld rows brought back (changed or deleted since)",
														 quote_identifier(rel), (long long) discarded,
														 (long long) back)));
			continue;
		}
		if (in_cur && in_new)
		{
			int64		dummy;

			/*
			 * Fast path: an order-independent fingerprint of each side (row
			 * count, sum and exclusive or of the 64-bit row hashes); equal
			 * fingerprints mean equal multisets of rows but for negligible
			 * odds.  Only when they differ are the rows grouped.
			 */
			sql = psprintf("SELECT CASE WHEN (SELECT ROW(pg_catalog.count(*), pg_catalog.sum(h), pg_catalog.bit_xor(h))"
						   "  FROM (SELECT pg_catalog.hashtextextended(ROW(o.*)::pg_catalog.text, 0) AS h FROM %s.%s o) s)"
						   " IS NOT DISTINCT FROM"
						   " (SELECT ROW(pg_catalog.count(*), pg_catalog.sum(h), pg_catalog.bit_xor(h))"
						   "  FROM (SELECT pg_catalog.hashtextextended(ROW(n.*)::pg_catalog.text, 0) AS h FROM %s.%s n) s)"
						   " THEN 1 ELSE 0 END::pg_catalog.int8, 0::pg_catalog.int8",
						   quote_identifier(cur), quote_identifier(rel),
						   quote_identifier(svc->target), quote_identifier(rel));
			ReportCountQuery(sql, &same, &dummy);
		}
		if (in_cur && in_new && same)
			detail = psprintf("table %s: 0 rows discarded (changed or inserted since the snapshot), 0 rows brought back (changed or deleted since)",
							  quote_identifier(rel));
		else if (in_cur && in_new)
		{
			sql = psprintf("SELECT COALESCE(pg_catalog.sum(d) FILTER (WHERE d > 0), 0)::pg_catalog.int8,"
						   " COALESCE(-pg_catalog.sum(d) FILTER (WHERE d < 0), 0)::pg_catalog.int8"
						   " FROM (SELECT pg_catalog.sum(c) AS d FROM ("
						   "  SELECT pg_catalog.hashtextextended(ROW(o.*)::pg_catalog.text, 0) AS h, 1 AS c FROM %s.%s o"
						   "  UNION ALL"
						   "  SELECT pg_catalog.hashtextextended(ROW(n.*)::pg_catalog.text, 0), -1 FROM %s.%s n) u"
						   " GROUP BY h) g",
						   quote_identifier(cur), quote_identifier(rel),
						   quote_identifier(svc->target), quote_identifier(rel));
			ReportCountQuery(sql, &discarded, &back);
			detail = psprintf("table %s: %lld rows discarded (changed or inserted since the snapshot), %lld rows brought back (changed or deleted since)",
							  quote_identifier(rel), (long long) discarded, (long long) back);
		}
		else if (in_cur)
		{
			sql = psprintf("SELECT pg_catalog.count(*) FROM %s.%s",
						   quote_identifier(cur), quote_identifier(rel));
			ReportCountQuery(sql, &discarded, NULL);
			detail = psprintf("table %s: not in the snapshot, its %lld rows are discarded",
							  quote_identifier(rel), (long long) discarded);
		}
		else
		{
			sql = psprintf("SELECT pg_catalog.count(*) FROM %s.%s",
						   quote_identifier(svc->target), quote_identifier(rel));
			ReportCountQuery(sql, &back, NULL);
			detail = psprintf("table %s: absent now, %lld rows brought back",
							  quote_identifier(rel), (long long) back);
		}
		rows = lappend(rows, ReportRowsItem(rel, detail));
	}
	return rows;
}

/*
 * ReportSnapshotRows
 *		Rows of table rel in the snapshot (what the restore loaded), from the
 *		manifest; -1 if it does not list the table.
 */
static int64
ReportSnapshotRows(RestoreService *svc, const char *rel)
{
	ListCell   *lc;

	foreach(lc, svc->ms->tables)
	{
		BacManifestTable *t = lfirst(lc);

		if (strcmp(t->name, rel) == 0)
			return t->rows;
	}
	return -1;
}

/*
 * RestoreReport
 *		The consequences report; returns the total of broken links.
 */
int64
RestoreReport(List *services, Tuplestorestate *ts, TupleDesc desc)
{
	int64		broken;
	ListCell   *lc;
	List	   *rows = NIL;

	/*
	 * The rows first: where they are counted from the rows' xmin, the rows
	 * of the replaced tables that changed since the snapshot are known, and
	 * the link counts look for lost keys among those alone.  The report
	 * lists the links first.
	 */
	BacLinksForgetChanges();
	foreach(lc, services)
		rows = ReportRows((RestoreService *) lfirst(lc), rows);
	broken = ReportLinks(services, ts, desc);
	BacLinksForgetChanges();
	foreach(lc, rows)
	{
		ReportRowsRow *r = lfirst(lc);

		ReportValues(ts, desc, r->table, "rows", 0, true, 0, true, r->detail);
	}
	return broken;
}

