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
	int			schema;			/* index of its schema in the capture */
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

/* the state of one capture of one or several schemas */
typedef struct DdlCapture
{
	int			nschemas;
	Oid		   *nspoids;		/* the schemas, in the order given */
	char	  **nspnames;
	int			cur;			/* index of the schema being read */
	Oid			nspoid;			/* the schema being read */
	char	   *nspname;
	DdlItem    *items;
	int			nitems;
	int			maxitems;
	HTAB	   *objects;		/* DdlObjKey -> item index */
	MemoryContext callercxt;	/* where the results go */
	MemoryContext workcxt;		/* everything else, freed at the end */
} DdlCapture;

static void DdlRunItemQuery(DdlCapture *cap, const char *query);
static int	DdlAddItem(DdlCapture *cap, Oid classid, Oid objid, int prio,
					   const char *sortkey, const char *sql,
					   Oid dep_classid, Oid dep_objid);
static int	DdlLookup(DdlCapture *cap, Oid classid, Oid objid);
static void DdlRegister(DdlCapture *cap, Oid classid, Oid objid, int item);
static void DdlAddEdge(DdlCapture *cap, int from, int to);
static void DdlAddSetvals(DdlCapture *cap);
static void DdlRegisterAliases(DdlCapture *cap);
static void DdlLinkItems(DdlCapture *cap);
static void DdlLinkRefreshes(DdlCapture *cap);
static void DdlPromote(DdlCapture *cap);
static int *DdlSort(DdlCapture *cap);
static int	DdlItemCompare(Datum a, Datum b, void *arg);
static Datum DdlKeyArray(DdlCapture *cap, int schema);
static void DdlUseSchema(DdlCapture *cap, int schema);
static void DdlInit(DdlCapture *cap, List *nspoids);
static void DdlReadSchemas(DdlCapture *cap);
static BacSchemaDDL *DdlAssemble(DdlCapture *cap, int schema, int *order);
static BacGroupDDL *DdlAssembleGroup(DdlCapture *cap, int *order);
static char *DdlSearchPathSwitch(DdlCapture *cap, int schema);
static void DdlWarnUncaptured(const char *nspname, List *uncaptured);
static char *DdlCommentName(const char *nspname);

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
	BacGroupDDL *group = BacCaptureGroupDDL(list_make1_oid(nspoid));

	return (BacSchemaDDL *) linitial(group->schemas);
}

/*
 * BacCaptureGroupDDL
 *		The definitions of several schemas captured together: one
 *		dependency order over all their objects, so that views, functions,
 *		foreign keys and triggers that cross the schemas in both directions
 *		come after what they need.  Each schema's own scripts are its items
 *		in that order (so each still runs alone when the others exist);
 *		pre_data and post_data of the result hold all items in the one
 *		order, each schema's run of items after a search_path switch to it.
 *		Same rules as BacCaptureSchemaDDL otherwise.
 */
BacGroupDDL *
BacCaptureGroupDDL(List *nspoids)
{
	DdlCapture	cap;
	BacGroupDDL *result;
	int			save_nestlevel;
	int		   *order;
	ListCell   *lc;

	DdlInit(&cap, nspoids);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	save_nestlevel = NewGUCNestLevel();

	DdlReadSchemas(&cap);
	DdlLinkItems(&cap);
	DdlLinkRefreshes(&cap);
	DdlPromote(&cap);
	order = DdlSort(&cap);
	result = DdlAssembleGroup(&cap, order);

	AtEOXact_GUC(false, save_nestlevel);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	MemoryContextSwitchTo(cap.callercxt);
	MemoryContextDelete(cap.workcxt);

	foreach(lc, result->schemas)
	{
		BacSchemaDDL *one = lfirst(lc);

		DdlWarnUncaptured(one->nspname, one->uncaptured);
	}
	return result;
}

/*
 * DdlInit
 *		Check that every schema of nspoids may be captured (once) and set up
 *		the capture's state, in its own memory context (made current).
 */
static void
DdlInit(DdlCapture *cap, List *nspoids)
{
	HASHCTL		hctl;
	ListCell   *lc;
	int			i = 0;

	memset(cap, 0, sizeof(DdlCapture));
	if (nspoids == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no schema to capture"),
				 errdetail("The list of schemas is empty."),
				 errhint("Name at least one schema.")));
	cap->nschemas = list_length(nspoids);
	cap->nspoids = palloc(sizeof(Oid) * cap->nschemas);
	cap->nspnames = palloc(sizeof(char *) * cap->nschemas);
	foreach(lc, nspoids)
	{
		Oid			nspoid = lfirst_oid(lc);
		char	   *nspname = get_namespace_name(nspoid);
		int			j;

		if (nspname == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_SCHEMA),
					 errmsg("schema with OID %u does not exist", nspoid)));
		if (IsCatalogNamespace(nspoid) || IsToastNamespace(nspoid) ||
			isAnyTempNamespace(nspoid) ||
			strcmp(nspname, "information_schema") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_SCHEMA_NAME),
					 errmsg("cannot capture the definition of system schema \"%s\"",
							nspname),
					 errdetail("System and temporary schemas are not service schemas."),
					 errhint("Name the schema of a service.")));
		for (j = 0; j < i; j++)
			if (cap->nspoids[j] == nspoid)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_SCHEMA),
						 errmsg("schema \"%s\" is named twice", nspname),
						 errdetail("Each schema of a group is captured once."),
						 errhint("Name each schema once.")));
		cap->nspoids[i] = nspoid;
		cap->nspnames[i] = nspname;
		i++;
	}

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
 * DdlReadSchemas
 *		Every schema's items, each schema read with itself alone in
 *		search_path; the objects that stand for items registered.
 */
static void
DdlReadSchemas(DdlCapture *cap)
{
	const char *const *q;
	int			i;

	for (i = 0; i < cap->nschemas; i++)
	{
		DdlUseSchema(cap, i);
		for (q = bac_ddl_item_queries; *q != NULL; q++)
			DdlRunItemQuery(cap, *q);
		DdlAddSetvals(cap);
		DdlRegisterAliases(cap);
	}
}

/*
 * DdlAssembleGroup
 *		The result: each schema's scripts and lists (DdlAssemble), then all
 *		items in the one order, each run of one schema's items after a
 *		search_path switch to it.  Allocated in the caller's context.
 */
static BacGroupDDL *
DdlAssembleGroup(DdlCapture *cap, int *order)
{
	BacGroupDDL *result;
	StringInfoData pre;
	StringInfoData post;
	int			i;
	int			section;

	MemoryContextSwitchTo(cap->callercxt);
	result = palloc0(sizeof(BacGroupDDL));
	MemoryContextSwitchTo(cap->workcxt);
	for (i = 0; i < cap->nschemas; i++)
	{
		BacSchemaDDL *one;

		DdlUseSchema(cap, i);
		one = DdlAssemble(cap, i, order);
		MemoryContextSwitchTo(cap->callercxt);
		result->schemas = lappend(result->schemas, one);
		MemoryContextSwitchTo(cap->workcxt);
	}

	initStringInfo(&pre);
	initStringInfo(&post);
	appendStringInfoString(&pre,
						   "-- pg_bac pre-data of a group of schemas, in one dependency order\n"
						   "SELECT pg_catalog.set_config('check_function_bodies', 'false', false);\n");
	for (i = 0; i < cap->nschemas; i++)
	{
		BacSchemaDDL *one = list_nth(result->schemas, i);

		appendStringInfo(&pre, "%s%s", DdlSearchPathSwitch(cap, i),
						 one->extension_sql);
	}
	appendStringInfoString(&post,
						   "-- pg_bac post-data of a group of schemas, in one dependency order\n");
	for (section = 0; section < 2; section++)
	{
		StringInfo	buf = section == 0 ? &pre : &post;
		int			last = -1;

		for (i = 0; i < cap->nitems; i++)
		{
			DdlItem    *it = &cap->items[order[i]];

			CHECK_FOR_INTERRUPTS();
			if (it->post != (section == 1))
				continue;
			if (it->schema != last)
				appendStringInfoString(buf, DdlSearchPathSwitch(cap, it->schema));
			last = it->schema;
			appendStringInfoString(buf, it->sql);
		}
	}

	MemoryContextSwitchTo(cap->callercxt);
	result->pre_data = pstrdup(pre.data);
	result->post_data = pstrdup(post.data);
	MemoryContextSwitchTo(cap->workcxt);
	return result;
}

/*
 * DdlSearchPathSwitch
 *		The statement that makes schema number "schema" the one the next
 *		statements of a group script create in and resolve names in.
 */
static char *
DdlSearchPathSwitch(DdlCapture *cap, int schema)
{
	return psprintf("SELECT pg_catalog.set_config('search_path', %s, false);\n",
					quote_literal_cstr(psprintf("%s, pg_temp",
												quote_identifier(cap->nspnames[schema]))));
}

/*
 * DdlWarnUncaptured
 *		A WARNING listing the objects of a schema that could not be
 *		captured, if any.
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
 * DdlUseSchema
 *		Make schema number "schema" the one being read, and deparse with it
 *		alone in search_path, so that its own names come out unqualified;
 *		pg_temp goes last so that a temporary table of the session cannot
 *		hide one of the schema's.  The caller restores the setting.
 */
static void
DdlUseSchema(DdlCapture *cap, int schema)
{
	cap->cur = schema;
	cap->nspoid = cap->nspoids[schema];
	cap->nspname = cap->nspnames[schema];
	(void) set_config_option("search_path",
							 psprintf("%s, pg_temp", quote_identifier(cap->nspname)),
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * DdlCommentName
 *		A schema's name for a comment line: a line break in it must not end
 *		the comment.
 */
static char *
DdlCommentName(const char *nspname)
{
	char	   *name = pstrdup(quote_identifier(nspname));
	char	   *p;

	for (p = name; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return name;
}

/*
 * DdlAssemble
 *		The scripts and lists of schema number "schema" (the current one),
 *		its items in the capture's order, allocated in callercxt.  Runs the
 *		extension and uncaptured queries for the schema.
 */
static BacSchemaDDL *
DdlAssemble(DdlCapture *cap, int schema, int *order)
{
	MemoryContext callercxt = cap->callercxt;
	MemoryContext workcxt = cap->workcxt;
	BacSchemaDDL *result;
	StringInfoData pre;
	StringInfoData post;
	StringInfoData extsql;
	char	   *commentname;
	List	   *tables = NIL;
	List	   *extensions = NIL;
	List	   *extension_info = NIL;
	List	   *uncaptured = NIL;
	List	   *pre_order = NIL;
	List	   *post_order = NIL;
	Oid			argtypes[2] = {OIDOID, OIDARRAYOID};
	Datum		args[2];
	int			ret;
	int			i;

	/* extensions the schema's objects need */
	args[0] = ObjectIdGetDatum(cap->nspoid);
	args[1] = DdlKeyArray(cap, schema);
	ret = SPI_execute_with_args(bac_ddl_extension_query, 2, argtypes, args,
								NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the extensions schema \"%s\" needs",
			 cap->nspname);
	initStringInfo(&extsql);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *stmt = SPI_getvalue(tup, desc, 1);
		BacExtensionInfo *ext;
		bool		isnull;

		appendStringInfoString(&extsql, stmt);
		MemoryContextSwitchTo(callercxt);
		ext = palloc0(sizeof(BacExtensionInfo));
		ext->name = pstrdup(SPI_getvalue(tup, desc, 2));
		ext->version = pstrdup(SPI_getvalue(tup, desc, 3));
		ext->schema = pstrdup(SPI_getvalue(tup, desc, 4));
		ext->in_service_schema = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		ext->relocatable = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
		extensions = lappend(extensions, ext->name);
		extension_info = lappend(extension_info, ext);
		MemoryContextSwitchTo(workcxt);
	}

	/* the foreign servers its foreign tables use */
	ret = SPI_execute_with_args(bac_ddl_server_query, 1, argtypes, args,
								NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the foreign servers schema \"%s\" needs",
			 cap->nspname);
	for (i = 0; i < SPI_processed; i++)
		appendStringInfoString(&extsql, SPI_getvalue(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1));

	/* what cannot be captured */
	ret = SPI_execute_with_args(bac_ddl_uncaptured_query, 1, argtypes, args,
								NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not list the objects of schema \"%s\" that cannot be captured",
			 cap->nspname);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *what = SPI_getvalue(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 1);

		MemoryContextSwitchTo(callercxt);
		uncaptured = lappend(uncaptured, pstrdup(what));
		MemoryContextSwitchTo(workcxt);
	}

	/* assemble the scripts */
	initStringInfo(&pre);
	initStringInfo(&post);
	commentname = DdlCommentName(cap->nspname);
	appendStringInfo(&pre,
					 "-- pg_bac pre-data of schema %s: run with search_path set to the target schema\n"
					 "SELECT pg_catalog.set_config('check_function_bodies', 'false', true);\n",
					 commentname);
	appendStringInfoString(&pre, extsql.data);
	appendStringInfo(&post,
					 "-- pg_bac post-data of schema %s: run with search_path set to the target schema\n",
					 commentname);
	for (i = 0; i < cap->nitems; i++)
	{
		DdlItem    *it = &cap->items[order[i]];

		CHECK_FOR_INTERRUPTS();
		if (it->schema != schema)
			continue;
		MemoryContextSwitchTo(callercxt);
		if (it->post)
			post_order = lappend_int(lappend_int(post_order, post.len), i);
		else
			pre_order = lappend_int(lappend_int(pre_order, pre.len), i);
		MemoryContextSwitchTo(workcxt);
		appendStringInfoString(it->post ? &post : &pre, it->sql);
		if (it->classid == RelationRelationId && !it->post &&
			get_rel_relkind(it->objid) == RELKIND_RELATION)
		{
			MemoryContextSwitchTo(callercxt);
			tables = lappend_oid(tables, it->objid);
			MemoryContextSwitchTo(workcxt);
		}
	}

	/*
	 * SPI calls may leave CurrentMemoryContext at SPI's procedure context,
	 * which SPI_finish frees: copy the result out before that.
	 */
	MemoryContextSwitchTo(callercxt);
	result = palloc0(sizeof(BacSchemaDDL));
	result->nspname = pstrdup(cap->nspname);
	result->pre_data = pstrdup(pre.data);
	result->post_data = pstrdup(post.data);
	result->extension_sql = pstrdup(extsql.data);
	result->tables = tables;
	result->extensions = extensions;
	result->extension_info = extension_info;
	result->uncaptured = uncaptured;
	result->pre_order = pre_order;
	result->post_order = post_order;
	MemoryContextSwitchTo(workcxt);
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
	it->schema = cap->cur;
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
 *		The objids of the objects that stand for items of schema number
 *		"schema" (or of every schema when it is negative), as an oid[] Datum.
 */
static Datum
DdlKeyArray(DdlCapture *cap, int schema)
{
	HASH_SEQ_STATUS status;
	DdlObjEntry *entry;
	Datum	   *elems;
	int			n = 0;
	long		count = hash_get_num_entries(cap->objects);

	elems = palloc(sizeof(Datum) * (count + 1));
	hash_seq_init(&status, cap->objects);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (schema < 0 || cap->items[entry->item].schema == schema)
			elems[n++] = ObjectIdGetDatum(entry->key.objid);
	return PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid),
										   true, TYPALIGN_INT));
}

/*
 * DdlRegisterAliases
 *		Register the objects of the current schema that stand for items
 *		(array types, row types, inline constraints, view rules, constraint
 *		indexes ...).
 */
static void
DdlRegisterAliases(DdlCapture *cap)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	int			ret;
	uint64		i;

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
	SPI_freetuptable(SPI_tuptable);
}

/*
 * DdlLinkItems
 *		Turn every pg_depend entry between two items (of any of the
 *		schemas) into an edge, and add each item's explicit dependency.
 */
static void
DdlLinkItems(DdlCapture *cap)
{
	Oid			argtypes[1] = {OIDARRAYOID};
	Datum		args[1];
	int			ret;
	uint64		i;
	int			n;

	args[0] = DdlKeyArray(cap, -1);
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
	SPI_freetuptable(SPI_tuptable);

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
					 errmsg("dependency loop in schema \"%s\"",
							cap->nspnames[cap->items[best].schema]),
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
 * bac.group_ddl(schema_names name[], section text DEFAULT NULL) RETURNS text
 *		The captured definition of several schemas in one dependency order
 *		across them, with a search_path switch before each run of one
 *		schema's statements: section 'pre-data', 'post-data', or NULL for
 *		both.  Superuser or owner of every schema.
 */
PG_FUNCTION_INFO_V1(bac_group_ddl);
Datum
bac_group_ddl(PG_FUNCTION_ARGS)
{
	BacGroupDDL *ddl;
	char	   *section = NULL;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			i;
	List	   *nspoids = NIL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema_names must not be null"),
				 errdetail("The schemas whose definition to capture were not given."),
				 errhint("Pass an array of existing schemas' names.")));
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
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), NAMEOID, NAMEDATALEN, false,
					  TYPALIGN_CHAR, &elems, &nulls, &nelems);
	for (i = 0; i < nelems; i++)
	{
		Oid			nspoid;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("schema_names must not contain nulls"),
					 errdetail("Element %d of schema_names is null.", i + 1),
					 errhint("Pass the names of existing schemas.")));
		nspoid = BacSchemaOid(NameStr(*DatumGetName(elems[i])), false);
		BacCheckSchemaPrivilege(nspoid, "capture the definition of");
		nspoids = lappend_oid(nspoids, nspoid);
	}

	ddl = BacCaptureGroupDDL(nspoids);
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
