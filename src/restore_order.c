/*-------------------------------------------------------------------------
 *
 * restore_order.c
 *		Services that depend on each other, restored together: their
 *		scripts run interleaved in the one dependency order the snapshot
 *		recorded over all of them; the extensions that live in a restored
 *		service's schema, moved into the restored schema; and a group
 *		restored into another database, which must not hold its schemas.
 *
 * A snapshot records, per service and script, where each item of the
 * script begins and its position in one topological order over every
 * service of the snapshot (manifest "pre_data_order" / "post_data_order",
 * see manifest.c).  A statement belongs to the item its last character
 * lies in; the text before a script's first item (the header: settings,
 * the extensions and foreign servers the service needs) runs first.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/restore_order.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "portability/instr_time.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "restore.h"

static void RestoreCheckExtensionsAvailable(RestoreState *st);

/* one statement of a service's script, with its place in the order */
typedef struct OrderedStmt
{
	int			service;		/* index in the restore's services */
	int			position;		/* place in the snapshot-wide order; -1 for
								 * the header of its script */
	int			seq;			/* index in its script */
	RawStmt    *stmt;
} OrderedStmt;

/*
 * RestoreHasOrder
 *		Whether the services are restored together in the snapshot's one
 *		order: more than one service, each with the order recorded (older
 *		snapshots have none, and are restored one service after another).
 */
bool
RestoreHasOrder(RestoreState *st)
{
	ListCell   *lc;

	if (list_length(st->services) < 2)
		return false;
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		if (svc->ms->pre_order == NIL)
			return false;
	}
	return true;
}

/*
 * OrderPosition
 *		The position of the item that byte "end" of a script lies in: order
 *		holds (offset, position) pairs with ascending offsets.  -1 before the
 *		first item.
 */
static int
OrderPosition(List *order, int end)
{
	int			lo = 0;
	int			hi = list_length(order) / 2 - 1;
	int			found = -1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (list_nth_int(order, 2 * mid) <= end)
		{
			found = mid;
			lo = mid + 1;
		}
		else
			hi = mid - 1;
	}
	return found < 0 ? -1 : list_nth_int(order, 2 * found + 1);
}

/*
 * OrderCompare
 *		qsort order of statements: by position, then service, then place in
 *		the script.
 */
static int
OrderCompare(const void *a, const void *b)
{
	const OrderedStmt *x = a;
	const OrderedStmt *y = b;

	if (x->position != y->position)
		return x->position < y->position ? -1 : 1;
	if (x->service != y->service)
		return x->service < y->service ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

/*
 * OrderCollect
 *		Every statement of one section of every service, with its position,
 *		sorted into the one order; *count is set to their number.
 */
static OrderedStmt *
OrderCollect(RestoreState *st, bool post, int *count)
{
	OrderedStmt *all;
	ListCell   *lc;
	int			n = 0;
	int			si = 0;

	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		n += list_length(post ? svc->post_stmts : svc->pre_stmts);
	}
	all = palloc(sizeof(OrderedStmt) * (n + 1));
	n = 0;
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);
		List	   *stmts = post ? svc->post_stmts : svc->pre_stmts;
		List	   *order = post ? svc->ms->post_order : svc->ms->pre_order;
		const char *sql = post ? svc->post_sql : svc->pre_sql;
		ListCell   *lc2;
		int			seq = 0;

		foreach(lc2, stmts)
		{
			RawStmt    *raw = lfirst(lc2);
			int			len = raw->stmt_len > 0 ? raw->stmt_len :
			(int) strlen(sql + raw->stmt_location);

			all[n].service = si;
			all[n].position = OrderPosition(order, raw->stmt_location + len - 1);
			all[n].seq = seq++;
			all[n].stmt = raw;
			n++;
		}
		si++;
	}
	qsort(all, n, sizeof(OrderedStmt), OrderCompare);
	*count = n;
	return all;
}

/*
 * RestoreRunInOrder
 *		Run one section (pre-data, or post-data when post) of every service
 *		in the snapshot's one order: each run of consecutive statements of
 *		one service in its own target schema.
 */
void
RestoreRunInOrder(RestoreState *st, bool post)
{
	const char *section = post ? "post-data" : "pre-data";
	int			n;
	OrderedStmt *all = OrderCollect(st, post, &n);
	int		   *skipped = palloc0(sizeof(int) * list_length(st->services));
	int			runs = 0;
	int			total_skipped = 0;
	int			i = 0;
	int			si;
	instr_time	start,
				elapsed;

	INSTR_TIME_SET_CURRENT(start);
	while (i < n)
	{
		RestoreService *svc = list_nth(st->services, all[i].service);
		List	   *run = NIL;
		int			j = i;

		CHECK_FOR_INTERRUPTS();
		while (j < n && all[j].service == all[i].service)
			run = lappend(run, all[j++].stmt);
		skipped[all[i].service] +=
			RestoreRunStatements(svc, section, post ? svc->post_sql : svc->pre_sql,
								 run, st->missing_roles);
		list_free(run);
		runs++;
		i = j;
	}
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	for (si = 0; si < list_length(st->services); si++)
	{
		RestoreNoticeSkipped(list_nth(st->services, si), section, skipped[si]);
		total_skipped += skipped[si];
	}
	ereport(NOTICE,
			(errmsg("ran the %s scripts of %d services in one dependency order: %d statements in %d runs in %.3f s",
					section, list_length(st->services), n - total_skipped, runs,
					INSTR_TIME_GET_DOUBLE(elapsed))));
	pfree(skipped);
	pfree(all);
}

/*
 * RestoreCheckExtensions
 *		In place: an extension installed in a schema being replaced moves
 *		into the restored schema (RestoreMoveExtensions), which only a
 *		relocatable one can.  Refuse, before any change, when one cannot.
 */
void
RestoreCheckExtensions(RestoreState *st)
{
	ListCell   *lc;

	if (st->into_schema != NULL)
		return;
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);
		Oid			argtypes[1] = {OIDOID};
		Datum		values[1];
		char	   *names;

		if (!OidIsValid(svc->live_nsp))
			continue;
		values[0] = ObjectIdGetDatum(svc->live_nsp);
		if (SPI_execute_with_args("SELECT pg_catalog.string_agg(pg_catalog.quote_ident(e.extname), ', '"
								  " ORDER BY e.extname) FROM pg_catalog.pg_extension e"
								  " WHERE e.extnamespace OPERATOR(pg_catalog.=) $1 AND NOT e.extrelocatable",
								  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not list the extensions of schema \"%s\"",
				 svc->ms->schema);
		names = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (names != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot restore service \"%s\" in place: schema \"%s\" holds extensions that cannot move: %s",
							svc->ms->service, svc->ms->schema, names),
					 errdetail("An in-place restore replaces the schema; an extension installed in it must move into the restored schema, and these are not relocatable."),
					 errhint("Restore with into_schema, or reinstall the extensions in a schema of their own (DROP EXTENSION, then CREATE EXTENSION ... SCHEMA ...) before restoring.")));
	}
}

/*
 * RestoreMoveExtensions
 *		In place, with the new schema created and the old one moved aside:
 *		the extensions installed in the old schema move into the new one
 *		(ALTER EXTENSION ... SET SCHEMA), before pre-data runs.  Objects
 *		kept aside, or of other schemas, that use them keep working (they
 *		refer to the extension's objects by OID).
 */
void
RestoreMoveExtensions(RestoreState *st, RestoreService *svc)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	List	   *names = NIL;
	ListCell   *lc;
	uint64		i;

	if (st->into_schema != NULL || !OidIsValid(svc->live_nsp))
		return;
	values[0] = ObjectIdGetDatum(svc->live_nsp);
	if (SPI_execute_with_args("SELECT e.extname::pg_catalog.text FROM pg_catalog.pg_extension e"
							  " WHERE e.extnamespace OPERATOR(pg_catalog.=) $1 ORDER BY e.extname",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the extensions of schema \"%s\"",
			 svc->ms->schema);
	for (i = 0; i < SPI_processed; i++)
		names = lappend(names, SPI_getvalue(SPI_tuptable->vals[i],
											SPI_tuptable->tupdesc, 1));
	foreach(lc, names)
	{
		const char *name = lfirst(lc);

		RestoreSchemaCommand(psprintf("ALTER EXTENSION %s SET SCHEMA %s",
									  quote_identifier(name),
									  quote_identifier(svc->target)), false);
		ereport(NOTICE,
				(errmsg("extension %s moved into the restored schema %s",
						quote_identifier(name), quote_identifier(svc->target))));
	}
}

/*
 * RestoreCheckExtensionsAvailable
 *		Every extension a service needs is installed in this database or
 *		can be (its control file is on this server); refuse before any
 *		change, naming it, when one cannot.
 */
static void
RestoreCheckExtensionsAvailable(RestoreState *st)
{
	ListCell   *lc;

	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, svc->ms->extensions)
		{
			const char *name = lfirst(lc2);
			Oid			argtypes[1] = {TEXTOID};
			Datum		values[1];

			values[0] = CStringGetTextDatum(name);
			if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_available_extensions() a"
									  " WHERE a.name OPERATOR(pg_catalog.=) $1::pg_catalog.name"
									  " UNION ALL SELECT 1 FROM pg_catalog.pg_extension e"
									  " WHERE e.extname OPERATOR(pg_catalog.=) $1::pg_catalog.name",
									  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not look up extension \"%s\"", name);
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("extension \"%s\" that service \"%s\" needs is not available on this server",
								name, svc->ms->service),
						 errdetail("The restore would create it, but this server has no control file for it."),
						 errhint("Install the package that provides extension \"%s\", then restore again.",
								 name)));
		}
	}
}

/*
 * RestoreCheckOtherDatabase
 *		Restoring into another database than the snapshot's: a schema of the
 *		snapshot that exists there and holds objects is refused, before any
 *		change (it is another database's data, not an earlier state of the
 *		service); one that exists but is empty (the public schema of a new
 *		database) is dropped, and the service's schema created in its place.
 */
void
RestoreCheckOtherDatabase(RestoreState *st)
{
	ListCell   *lc;
	StringInfoData busy;
	char	   *here = get_database_name(MyDatabaseId);

	RestoreCheckExtensionsAvailable(st);
	if (st->into_schema != NULL || st->manifest->database == NULL ||
		strcmp(here, st->manifest->database) == 0)
		return;
	initStringInfo(&busy);
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);
		Oid			argtypes[1] = {OIDOID};
		Datum		values[1];

		if (!OidIsValid(svc->live_nsp))
			continue;
		values[0] = ObjectIdGetDatum(svc->live_nsp);
		if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_depend d"
								  " WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass"
								  " AND d.refobjid OPERATOR(pg_catalog.=) $1 LIMIT 1",
								  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the objects of schema \"%s\"", svc->ms->schema);
		if (SPI_processed > 0)
			appendStringInfo(&busy, "%s%s", busy.len > 0 ? ", " : "",
							 quote_identifier(svc->ms->schema));
	}
	if (busy.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_SCHEMA),
				 errmsg("schemas of snapshot \"%s\" already exist in database \"%s\" and hold objects: %s",
						st->manifest->snapshot_id, here, busy.data),
				 errdetail("The snapshot was taken in database \"%s\"; restored into another database, its services' schemas must be absent there (or empty).",
						   st->manifest->database),
				 errhint("Restore into a database without these schemas, or drop them first.")));
	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		if (!OidIsValid(svc->live_nsp))
			continue;
		RestoreSchemaCommand(psprintf("DROP SCHEMA %s",
									  quote_identifier(svc->ms->schema)), true);
		svc->live_nsp = InvalidOid;
		svc->live_name = NULL;
	}
}
