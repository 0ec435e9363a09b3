/*-------------------------------------------------------------------------
 *
 * ddl.c
 *		Capture a schema's definition as relocatable pre-data and post-data
 *		SQL scripts, ordered by a topological sort over pg_depend.
 *
 * The statements themselves come from the catalog queries in
 * ddl_catalog.c, which use the server's own deparsers.  This file runs
 * them with search_path set to the schema alone, turns their rows into
 * items, links the items by the dependencies pg_depend records between the
 * objects they create, sorts them so that every item comes after what it
 * needs, and assembles the scripts.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/ddl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/binaryheap.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "pg_bac.h"

/* items with a priority from this one on belong to post-data */
#define BAC_DDL_POST_DATA	100
/* priorities the driver gives to items it makes itself */
#define BAC_DDL_PRIO_SETVAL 160
#define BAC_DDL_PRIO_REFRESH 170

/* one group of statements, and where it goes */
typedef struct DdlItem
{
	Oid			classid;		/* object the statements create, or 0 */
	Oid			objid;
	int			prio;			/* ordering class; >= 100 is post-data */
	char	   *sortkey;		/* name, to order items of one class */
	char	   *sql;			/* the statements */
	Oid			dep_classid;	/* one extra dependency, or 0 */
	Oid			dep_objid;
	bool		post;			/* in post-data */
	List	   *deps;			/* indexes of items this one needs */
	List	   *dependents;		/* indexes of items that need this one */
	int			waiting;		/* deps not yet emitted */
	bool		emitted;
} DdlItem;

/* hash key: an object as pg_depend names it */
typedef struct DdlObjKey
{
	Oid			classid;
	Oid			objid;
} DdlObjKey;

typedef struct DdlObjEntry
{
	DdlObjKey	key;
	int			item;
} DdlObjEntry;

/* the state of one capture */
typedef struct DdlCapture
{
	Oid			nspoid;
	char	   *nspname;
	DdlItem    *items;
	int			nitems;
	int			maxitems;
	HTAB	   *objects;		/* DdlObjKey -> item index */
	MemoryContext callercxt;	/* where the results go */
	MemoryContext workcxt;		/* everything else, freed at the end */
	List	   *tables;			/* results: Oids of data relations, */
	List	   *extensions;		/* extension names, */
	List	   *uncaptured;		/* descriptions (in callercxt) */
} DdlCapture;

static void DdlRunItemQuery(DdlCapture *cap, const char *query);
static int	DdlAddItem(DdlCapture *cap, Oid classid, Oid objid, int prio,
					   const char *sortkey, const char *sql,
					   Oid dep_classid, Oid dep_objid);
static int	DdlLookup(DdlCapture *cap, Oid classid, Oid objid);
static void DdlRegister(DdlCapture *cap, Oid classid, Oid objid, int item);
static void DdlAddEdge(DdlCapture *cap, int from, int to);
static void DdlAddSetvals(DdlCapture *cap);
static void DdlLinkItems(DdlCapture *cap);
static void DdlLinkRefreshes(DdlCapture *cap);
static void DdlPromote(DdlCapture *cap);
static int *DdlSort(DdlCapture *cap);
static int	DdlItemCompare(Datum a, Datum b, void *arg);
static Datum DdlKeyArray(DdlCapture *cap);

/*
 * DdlInit
 *		Check that nspoid is a schema whose definition may be captured and
 *		set up the capture's state, in its own memory context (made current).
 */
static void
DdlInit(DdlCapture *cap, Oid nspoid)
{
	HASHCTL		hctl;

	memset(cap, 0, sizeof(DdlCapture));
	cap->nspoid = nspoid;
	cap->nspname = get_namespace_name(nspoid);
	if (cap->nspname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema with OID %u does not exist", nspoid)));
	if (IsCatalogNamespace(nspoid) || IsToastNamespace(nspoid) ||
		isAnyTempNamespace(nspoid) ||
		strcmp(cap->nspname, "information_schema") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_SCHEMA_NAME),
				 errmsg("cannot capture the definition of system schema \"%s\"",
						cap->nspname),
				 errdetail("System and temporary schemas are not service schemas."),
				 errhint("Name the schema of a service.")));

	cap->callercxt = CurrentMemoryContext;
	cap->workcxt = AllocSetContextCreate(cap->callercxt, "pg_bac DDL capture",
										 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cap->workcxt);
	cap->maxitems = 256;
	cap->items = palloc0(sizeof(DdlItem) * cap->maxitems);
	hctl.keysize = sizeof(DdlObjKey);
	hctl.entrysize = sizeof(DdlObjEntry);
	hctl.hcxt = cap->workcxt;
	cap->objects = hash_create("pg_bac DDL objects", 1024, &hctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * DdlReadExtensions
 *		The extensions the schema's objects need: their names into
 *		cap->extensions, the statements creating them into *extsql.  Then
 *		what cannot be captured, into cap->uncaptured.
 */
static void
DdlReadExtensions(DdlCapture *cap, StringInfo extsql)
{
	Oid			argtypes[2] = {OIDOID, OIDARRAYOID};
	Datum		args[2];
	int			ret;
	int			i;

	args[0] = ObjectIdGetDatum(cap->nspoid);
	args[1] = DdlKeyArray(cap);
	ret = SPI_execute_with_args(bac_ddl_extension_query, 2, argtypes, args,
								NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the extensions schema \"%s\" needs",
			 cap->nspname);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *stmt = SPI_getvalue(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 1);
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 2);

		appendStringInfoString(extsql, stmt);
		MemoryContextSwitchTo(cap->callercxt);
		cap->extensions = lappend(cap->extensions, pstrdup(name));
		MemoryContextSwitchTo(cap->workcxt);
	}

	ret = SPI_execute_with_args(bac_ddl_uncaptured_query, 1, argtypes, args,
								NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not list the objects of schema \"%s\" that cannot be captured",
			 cap->nspname);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *what = SPI_getvalue(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 1);

		MemoryContextSwitchTo(cap->callercxt);
		cap->uncaptured = lappend(cap->uncaptured, pstrdup(what));
		MemoryContextSwitchTo(cap->workcxt);
	}
}

/*
 * DdlAssemble
 *		The two scripts, items in the sorted order; the relations whose rows
 *		are data into cap->tables.  The schema's name goes into a comment
 *		line, so a line break in it must not end the comment.
 */
static void
DdlAssemble(DdlCapture *cap, int *order, const char *extsql,
			StringInfo pre, StringInfo post)
{
	char	   *commentname = pstrdup(quote_identifier(cap->nspname));
	char	   *p;
	int			i;

	for (p = commentname; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	appendStringInfo(pre,
					 "-- pg_bac pre-data of schema %s: run with search_path set to the target schema\n"
					 "SELECT pg_catalog.set_config('check_function_bodies', 'false', true);\n",
					 commentname);
	appendStringInfoString(pre, extsql);
	appendStringInfo(post,
					 "-- pg_bac post-data of schema %s: run with search_path set to the target schema\n",
					 commentname);
	for (i = 0; i < cap->nitems; i++)
	{
		DdlItem    *it = &cap->items[order[i]];

		CHECK_FOR_INTERRUPTS();
		appendStringInfoString(it->post ? post : pre, it->sql);
		if (it->classid == RelationRelationId && !it->post &&
			get_rel_relkind(it->objid) == RELKIND_RELATION)
		{
			MemoryContextSwitchTo(cap->callercxt);
			cap->tables = lappend_oid(cap->tables, it->objid);
			MemoryContextSwitchTo(cap->workcxt);
		}
	}
}

/*
 * DdlWarnUncaptured
 *		A WARNING listing the objects that could not be captured, if any.
 */
static void
DdlWarnUncaptured(const char *nspname, List *uncaptured)
{
	StringInfoData detail;
	ListCell   *lc;

	if (uncaptured == NIL)
		return;
	initStringInfo(&detail);
	foreach(lc, uncaptured)
		appendStringInfo(&detail, "%s%s", detail.len > 0 ? ", " : "",
						 (char *) lfirst(lc));
	ereport(WARNING,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg_plural("%d object of schema \"%s\" cannot be captured",
						   "%d objects of schema \"%s\" cannot be captured",
						   list_length(uncaptured),
						   list_length(uncaptured), nspname),
			 errdetail("Not captured: %s.", detail.data),
			 errhint("Back these objects up by other means, or recreate them after a restore.")));
	pfree(detail.data);
}

/*
 * BacCaptureSchemaDDL
 *		The definition of schema nspoid as pre-data and post-data scripts,
 *		the relations whose rows are data (in load order), the extensions the
 *		scripts need and what could not be captured.  See pg_bac.h.
 *
 * The caller must have checked privileges; objects are read with the
 * caller's rights.  Objects that cannot be captured are reported in a
 * WARNING as well as in the result.  The result is allocated in the
 * caller's memory context.
 */
BacSchemaDDL *
BacCaptureSchemaDDL(Oid nspoid)
{
	DdlCapture	cap;
	BacSchemaDDL *result;
	StringInfoData pre;
	StringInfoData post;
	StringInfoData extsql;
	char	   *nspname;
	int			save_nestlevel;
	int		   *order;
	const char *const *q;

	DdlInit(&cap, nspoid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * Deparse with the schema alone in search_path, so that its own names
	 * come out unqualified; pg_temp goes last so that a temporary table of
	 * the session cannot hide one of the schema's.
	 */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path",
							 psprintf("%s, pg_temp", quote_identifier(cap.nspname)),
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	for (q = bac_ddl_item_queries; *q != NULL; q++)
		DdlRunItemQuery(&cap, *q);
	DdlAddSetvals(&cap);
	DdlLinkItems(&cap);
	DdlLinkRefreshes(&cap);
	DdlPromote(&cap);
	order = DdlSort(&cap);
	initStringInfo(&extsql);
	DdlReadExtensions(&cap, &extsql);
	AtEOXact_GUC(false, save_nestlevel);

	initStringInfo(&pre);
	initStringInfo(&post);
	DdlAssemble(&cap, order, extsql.data, &pre, &post);

	/*
	 * SPI calls may leave CurrentMemoryContext at SPI's procedure context,
	 * which SPI_finish frees: copy the result out before that.
	 */
	MemoryContextSwitchTo(cap.callercxt);
	result = palloc0(sizeof(BacSchemaDDL));
	result->pre_data = pstrdup(pre.data);
	result->post_data = pstrdup(post.data);
	result->tables = cap.tables;
	result->extensions = cap.extensions;
	result->uncaptured = cap.uncaptured;
	nspname = pstrdup(cap.nspname);

	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	MemoryContextSwitchTo(cap.callercxt);
	MemoryContextDelete(cap.workcxt);
	DdlWarnUncaptured(nspname, result->uncaptured);
	return result;
}

/*
 * DdlRunItemQuery
 *		Run one item query of ddl_catalog.c and add an item per row.
 */
static void
DdlRunItemQuery(DdlCapture *cap, const char *query)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	int			ret;
	int			i;

	args[0] = ObjectIdGetDatum(cap->nspoid);
	ret = SPI_execute_with_args(query, 1, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "DDL catalog query failed: %s", SPI_result_code_string(ret));

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			classid,
					objid,
					dep_classid,
					dep_objid;
		int			prio;
		char	   *sortkey;
		char	   *sql;

		CHECK_FOR_INTERRUPTS();
		sql = SPI_getvalue(tup, desc, 5);
		if (sql == NULL || sql[0] == '\0')
			continue;
		classid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		objid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		prio = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		sortkey = SPI_getvalue(tup, desc, 4);
		dep_classid = DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull));
		dep_objid = DatumGetObjectId(SPI_getbinval(tup, desc, 7, &isnull));
		DdlAddItem(cap, classid, objid, prio, sortkey ? sortkey : "", sql,
				   dep_classid, dep_objid);
	}
	/* the items hold copies: give the rows back now, not at SPI_finish */
	SPI_freetuptable(SPI_tuptable);
}

/*
 * DdlAddItem
 *		Append an item (strings are copied into the capture's context) and
 *		register the object it creates; returns its index.
 */
static int
DdlAddItem(DdlCapture *cap, Oid classid, Oid objid, int prio,
		   const char *sortkey, const char *sql,
		   Oid dep_classid, Oid dep_objid)
{
	DdlItem    *it;
	int			idx;

	if (cap->nitems == cap->maxitems)
	{
		cap->maxitems *= 2;
		cap->items = repalloc(cap->items, sizeof(DdlItem) * cap->maxitems);
	}
	idx = cap->nitems++;
	it = &cap->items[idx];
	memset(it, 0, sizeof(DdlItem));
	it->classid = classid;
	it->objid = objid;
	it->prio = prio;
	it->post = (prio >= BAC_DDL_POST_DATA);
	it->sortkey = pstrdup(sortkey);
	it->sql = pstrdup(sql);
	it->dep_classid = dep_classid;
	it->dep_objid = dep_objid;
	if (OidIsValid(classid) && OidIsValid(objid))
		DdlRegister(cap, classid, objid, idx);
	return idx;
}

/*
 * DdlRegister
 *		Let object (classid, objid) stand for item; the first registration
 *		of an object wins.
 */
static void
DdlRegister(DdlCapture *cap, Oid classid, Oid objid, int item)
{
	DdlObjKey	key;
	DdlObjEntry *entry;
	bool		found;

	key.classid = classid;
	key.objid = objid;
	entry = hash_search(cap->objects, &key, HASH_ENTER, &found);
	if (!found)
		entry->item = item;
}

/*
 * DdlLookup
 *		The item an object stands for, or -1.
 */
static int
DdlLookup(DdlCapture *cap, Oid classid, Oid objid)
{
	DdlObjKey	key;
	DdlObjEntry *entry;

	key.classid = classid;
	key.objid = objid;
	entry = hash_search(cap->objects, &key, HASH_FIND, NULL);
	return entry ? entry->item : -1;
}

/*
 * DdlAddEdge
 *		Item "from" needs item "to".
 */
static void
DdlAddEdge(DdlCapture *cap, int from, int to)
{
	if (from < 0 || to < 0 || from == to)
		return;
	if (list_member_int(cap->items[from].deps, to))
		return;
	cap->items[from].deps = lappend_int(cap->items[from].deps, to);
	cap->items[to].dependents = lappend_int(cap->items[to].dependents, from);
}

/*
 * DdlAddSetvals
 *		One setval per sequence (identity sequences included), with the
 *		value and is_called read now, under the caller's snapshot.
 */
static void
DdlAddSetvals(DdlCapture *cap)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	SPITupleTable *seqs;
	uint64		nseqs;
	uint64		i;
	int			ret;

	args[0] = ObjectIdGetDatum(cap->nspoid);
	ret = SPI_execute_with_args("SELECT c.oid, c.relname::pg_catalog.text"
								" FROM pg_catalog.pg_class c"
								" WHERE c.relnamespace = $1 AND c.relkind = 'S'"
								" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e"
								"  WHERE e.classid = 1259 AND e.objid = c.oid AND e.deptype = 'e')"
								" ORDER BY c.relname",
								1, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not list the sequences of schema \"%s\"", cap->nspname);
	seqs = SPI_tuptable;
	nseqs = SPI_processed;

	for (i = 0; i < nseqs; i++)
	{
		bool		isnull;
		Oid			seqoid = DatumGetObjectId(SPI_getbinval(seqs->vals[i],
															seqs->tupdesc, 1,
															&isnull));
		char	   *seqname = SPI_getvalue(seqs->vals[i], seqs->tupdesc, 2);
		char	   *query;
		char	   *last;
		char	   *called;
		char	   *sql;

		CHECK_FOR_INTERRUPTS();
		query = psprintf("SELECT last_value, is_called FROM %s",
						 quote_qualified_identifier(cap->nspname, seqname));
		ret = SPI_execute(query, true, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read sequence \"%s\"", seqname);
		last = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		called = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		sql = psprintf("SELECT pg_catalog.setval(%s, %s, %s);\n",
					   quote_literal_cstr(quote_identifier(seqname)), last,
					   strcmp(called, "t") == 0 ? "true" : "false");
		DdlAddItem(cap, InvalidOid, InvalidOid, BAC_DDL_PRIO_SETVAL, seqname,
				   sql, RelationRelationId, seqoid);
	}
}

/*
 * DdlKeyArray
 *		The objids of every registered object, as an oid[] Datum.
 */
static Datum
DdlKeyArray(DdlCapture *cap)
{
	HASH_SEQ_STATUS status;
	DdlObjEntry *entry;
	Datum	   *elems;
	int			n = 0;
	long		count = hash_get_num_entries(cap->objects);

	elems = palloc(sizeof(Datum) * (count + 1));
	hash_seq_init(&status, cap->objects);
	while ((entry = hash_seq_search(&status)) != NULL)
		elems[n++] = ObjectIdGetDatum(entry->key.objid);
	return PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid),
										   true, TYPALIGN_INT));
}

/*
 * DdlLinkItems
 *		Register the objects that stand for items (array types, row types,
 *		inline constraints, view rules, constraint indexes ...), then turn
 *		every pg_depend entry between two items into an edge, and add each
 *		item's explicit dependency.
 */
static void
DdlLinkItems(DdlCapture *cap)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	int			ret;
	uint64		i;
	int			n;

	args[0] = ObjectIdGetDatum(cap->nspoid);
	ret = SPI_execute_with_args(bac_ddl_alias_query, 1, argtypes, args,
								NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the object aliases of schema \"%s\"",
			 cap->nspname);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Oid			aclass = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		Oid			aobj = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		Oid			iclass = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		Oid			iobj = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
		int			item;

		if (!OidIsValid(aobj))
			continue;
		item = DdlLookup(cap, iclass, iobj);
		if (item >= 0)
			DdlRegister(cap, aclass, aobj, item);
	}

	args[0] = DdlKeyArray(cap);
	argtypes[0] = OIDARRAYOID;
	ret = SPI_execute_with_args("SELECT d.classid, d.objid, d.refclassid, d.refobjid"
								" FROM pg_catalog.pg_depend d"
								" WHERE d.objid IN (SELECT pg_catalog.unnest($1))"
								" AND d.deptype NOT IN ('e', 'x', 'p')",
								1, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the dependencies of schema \"%s\"",
			 cap->nspname);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			from;
		int			to;

		CHECK_FOR_INTERRUPTS();
		from = DdlLookup(cap,
						 DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull)),
						 DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull)));
		to = DdlLookup(cap,
					   DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull)),
					   DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull)));
		DdlAddEdge(cap, from, to);
	}

	for (n = 0; n < cap->nitems; n++)
	{
		DdlItem    *it = &cap->items[n];

		if (OidIsValid(it->dep_classid))
			DdlAddEdge(cap, n,
					   DdlLookup(cap, it->dep_classid, it->dep_objid));
	}
}

/*
 * DdlLinkRefreshes
 *		A materialized view can only be refreshed after the materialized
 *		views it reads (directly or through views and functions): make each
 *		REFRESH item need the REFRESH items of those.
 */
static void
DdlLinkRefreshes(DdlCapture *cap)
{
	int		   *refresh_of = palloc(sizeof(int) * cap->nitems);
	bool	   *seen = palloc(sizeof(bool) * cap->nitems);
	int		   *stack = palloc(sizeof(int) * (cap->nitems + 1));
	int			n;

	for (n = 0; n < cap->nitems; n++)
		refresh_of[n] = -1;
	for (n = 0; n < cap->nitems; n++)
	{
		DdlItem    *it = &cap->items[n];
		int			mv;

		if (it->prio != BAC_DDL_PRIO_REFRESH || it->deps == NIL)
			continue;
		mv = linitial_int(it->deps);
		refresh_of[mv] = n;
	}

	for (n = 0; n < cap->nitems; n++)
	{
		int			sp = 0;
		int			mv;
		ListCell   *lc;

		if (cap->items[n].prio != BAC_DDL_PRIO_REFRESH ||
			cap->items[n].deps == NIL)
			continue;
		mv = linitial_int(cap->items[n].deps);
		memset(seen, 0, sizeof(bool) * cap->nitems);
		seen[mv] = true;
		foreach(lc, cap->items[mv].deps)
		{
			seen[lfirst_int(lc)] = true;
			stack[sp++] = lfirst_int(lc);
		}
		while (sp > 0)
		{
			int			cur = stack[--sp];
			ListCell   *lc2;

			CHECK_FOR_INTERRUPTS();
			if (refresh_of[cur] >= 0)
			{
				DdlAddEdge(cap, n, refresh_of[cur]);
				continue;
			}
			foreach(lc2, cap->items[cur].deps)
			{
				int			d = lfirst_int(lc2);

				if (!seen[d])
				{
					seen[d] = true;
					stack[sp++] = d;
				}
			}
		}
	}
	pfree(refresh_of);
	pfree(seen);
	pfree(stack);
}

/*
 * DdlPromote
 *		A pre-data item cannot wait for post-data: whatever a pre-data item
 *		needs (a primary key a view's GROUP BY relies on, say) moves to
 *		pre-data too.
 */
static void
DdlPromote(DdlCapture *cap)
{
	int		   *stack = palloc(sizeof(int) * (cap->nitems + 1));
	bool	   *seen = palloc0(sizeof(bool) * cap->nitems);
	int			sp = 0;
	int			n;

	for (n = 0; n < cap->nitems; n++)
		if (!cap->items[n].post)
		{
			seen[n] = true;
			stack[sp++] = n;
		}
	while (sp > 0)
	{
		int			cur = stack[--sp];
		ListCell   *lc;

		foreach(lc, cap->items[cur].deps)
		{
			int			d = lfirst_int(lc);

			if (!seen[d])
			{
				seen[d] = true;
				cap->items[d].post = false;
				stack[sp++] = d;
			}
		}
	}
	pfree(stack);
	pfree(seen);
}

/*
 * DdlItemCompare
 *		Heap order: the smallest (priority, sort key, index) comes first;
 *		binaryheap keeps the largest on top, hence the inversion.
 */
static int
DdlItemCompare(Datum a, Datum b, void *arg)
{
	DdlCapture *cap = (DdlCapture *) arg;
	int			ia = DatumGetInt32(a);
	int			ib = DatumGetInt32(b);
	DdlItem    *x = &cap->items[ia];
	DdlItem    *y = &cap->items[ib];
	int			c;

	if (x->prio != y->prio)
		return x->prio < y->prio ? 1 : -1;
	c = strcmp(x->sortkey, y->sortkey);
	if (c != 0)
		return -c;
	return ia < ib ? 1 : (ia > ib ? -1 : 0);
}

/*
 * DdlSort
 *		Topological order of the items (Kahn's algorithm, the ready item of
 *		lowest priority first).  A dependency loop is broken at its item of
 *		lowest priority, with a WARNING: the scripts may then need editing.
 */
static int *
DdlSort(DdlCapture *cap)
{
	int		   *order = palloc(sizeof(int) * (cap->nitems + 1));
	binaryheap *heap = binaryheap_allocate(cap->nitems + 1, DdlItemCompare, cap);
	int			emitted = 0;
	int			n;

	for (n = 0; n < cap->nitems; n++)
	{
		cap->items[n].waiting = list_length(cap->items[n].deps);
		if (cap->items[n].waiting == 0)
			binaryheap_add_unordered(heap, Int32GetDatum(n));
	}
	binaryheap_build(heap);

	while (emitted < cap->nitems)
	{
		int			cur;
		ListCell   *lc;

		CHECK_FOR_INTERRUPTS();
		if (binaryheap_empty(heap))
		{
			int			best = -1;

			for (n = 0; n < cap->nitems; n++)
				if (!cap->items[n].emitted &&
					(best < 0 || DdlItemCompare(Int32GetDatum(n),
												Int32GetDatum(best), cap) > 0))
					best = n;
			ereport(WARNING,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("dependency loop in schema \"%s\"", cap->nspname),
					 errdetail("The loop was broken before these statements: %s",
							   cap->items[best].sql),
					 errhint("Check that the captured scripts run.")));
			cap->items[best].waiting = 0;
			binaryheap_add(heap, Int32GetDatum(best));
		}
		cur = DatumGetInt32(binaryheap_remove_first(heap));
		if (cap->items[cur].emitted)
			continue;
		cap->items[cur].emitted = true;
		order[emitted++] = cur;
		foreach(lc, cap->items[cur].dependents)
		{
			int			d = lfirst_int(lc);

			if (--cap->items[d].waiting == 0 && !cap->items[d].emitted)
				binaryheap_add(heap, Int32GetDatum(d));
		}
	}
	binaryheap_free(heap);
	return order;
}

/*
 * DdlCaptureByName
 *		Check the caller may read the schema and capture it.
 */
static BacSchemaDDL *
DdlCaptureByName(Name schema_name)
{
	Oid			nspoid = BacSchemaOid(NameStr(*schema_name), false);

	BacCheckSchemaPrivilege(nspoid, "capture the definition of");
	return BacCaptureSchemaDDL(nspoid);
}

/*
 * bac.schema_ddl(schema_name name, section text DEFAULT NULL) RETURNS text
 *		The captured definition of a schema: section 'pre-data',
 *		'post-data', or NULL for both.  Superuser or owner of the schema.
 */
PG_FUNCTION_INFO_V1(bac_schema_ddl);
Datum
bac_schema_ddl(PG_FUNCTION_ARGS)
{
	BacSchemaDDL *ddl;
	char	   *section = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema_name must not be null"),
				 errdetail("The schema whose definition to capture was not given."),
				 errhint("Pass the name of an existing schema.")));
	if (!PG_ARGISNULL(1))
	{
		section = text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (strcmp(section, "pre-data") != 0 && strcmp(section, "post-data") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid section \"%s\"", section),
					 errdetail("The section names one part of the captured definition."),
					 errhint("Valid values are 'pre-data', 'post-data' and NULL (both).")));
	}

	ddl = DdlCaptureByName(PG_GETARG_NAME(0));
	if (section == NULL)
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s%s", ddl->pre_data,
												  ddl->post_data)));
	if (strcmp(section, "pre-data") == 0)
		PG_RETURN_TEXT_P(cstring_to_text(ddl->pre_data));
	PG_RETURN_TEXT_P(cstring_to_text(ddl->post_data));
}

/*
 * bac.schema_ddl_info(schema_name name)
 *		RETURNS TABLE (kind text, ord int, name text)
 *		What else a capture of the schema found: the relations whose rows are
 *		data, in load order ('table', regclass text), the extensions the
 *		scripts need ('extension') and the objects that cannot be captured
 *		('uncaptured').  Superuser or owner of the schema.
 */
PG_FUNCTION_INFO_V1(bac_schema_ddl_info);
Datum
bac_schema_ddl_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BacSchemaDDL *ddl;
	ListCell   *lc;
	int			ord;
	char	   *nspname;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema_name must not be null"),
				 errdetail("The schema to inspect was not given."),
				 errhint("Pass the name of an existing schema.")));

	ddl = DdlCaptureByName(PG_GETARG_NAME(0));
	nspname = NameStr(*PG_GETARG_NAME(0));
	InitMaterializedSRF(fcinfo, 0);

	ord = 0;
	foreach(lc, ddl->tables)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum("table");
		values[1] = Int32GetDatum(++ord);
		values[2] = CStringGetTextDatum(quote_qualified_identifier(nspname,
																   get_rel_name(lfirst_oid(lc))));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	ord = 0;
	foreach(lc, ddl->extensions)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum("extension");
		values[1] = Int32GetDatum(++ord);
		values[2] = CStringGetTextDatum((char *) lfirst(lc));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	ord = 0;
	foreach(lc, ddl->uncaptured)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum("uncaptured");
		values[1] = Int32GetDatum(++ord);
		values[2] = CStringGetTextDatum((char *) lfirst(lc));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
