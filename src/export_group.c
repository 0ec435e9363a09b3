/*-------------------------------------------------------------------------
 *
 * export_group.c
 *		bac.export_group(): several services of a snapshot as one plain SQL
 *		script, their statements in the snapshot's one dependency order over
 *		all of them, like pg_dump -n a -n b.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/export_group.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "export.h"
#include "progress.h"

/* one item of a service's script, for the group export's one order */
typedef struct ExportItem
{
	int			position;		/* in the snapshot-wide order */
	int			service;		/* index in the exported services */
	char	   *text;
} ExportItem;

/*
 * ExportItemCompare
 *		qsort order of items: by position, then service.
 */
static int
ExportItemCompare(const void *a, const void *b)
{
	const ExportItem *x = a;
	const ExportItem *y = b;

	if (x->position != y->position)
		return x->position < y->position ? -1 : 1;
	return x->service < y->service ? -1 : (x->service > y->service ? 1 : 0);
}

/*
 * ExportSwitch
 *		The statement that makes the next statements create in, and resolve
 *		names in, schema.
 */
static char *
ExportSwitch(const char *schema)
{
	return psprintf("SELECT pg_catalog.set_config('search_path', %s, false);\n",
					quote_literal_cstr(quote_identifier(schema)));
}

/*
 * ExportAddInOrder
 *		One section of every service (scripts[i] with order[i]): the text
 *		before each script's first item, service by service, then all items
 *		in the snapshot's one order, each run of one service after a switch
 *		to its schema.  Without a recorded order (older snapshots), the
 *		scripts one after another.
 */
static void
ExportAddInOrder(List **steps, List *services, char **scripts, List **orders,
				 int src_encoding)
{
	int			n = list_length(services);
	int			nitems = 0;
	ExportItem *items;
	int			i;
	int			last = -1;
	bool		ordered = true;

	for (i = 0; i < n; i++)
	{
		if (orders[i] == NIL)
			ordered = false;
		nitems += list_length(orders[i]) / 2;
	}
	if (!ordered)
	{
		for (i = 0; i < n; i++)
		{
			BacManifestService *svc = list_nth(services, i);

			ExportAddText(steps, ExportSwitch(svc->schema));
			ExportAddText(steps, ExportToServer(scripts[i], strlen(scripts[i]),
												src_encoding));
		}
		return;
	}
	items = palloc(sizeof(ExportItem) * (nitems + 1));
	nitems = 0;
	for (i = 0; i < n; i++)
	{
		BacManifestService *svc = list_nth(services, i);
		int			len = strlen(scripts[i]);
		int			first = list_nth_int(orders[i], 0);
		int			k;

		ExportAddText(steps, ExportSwitch(svc->schema));
		ExportAddText(steps, ExportToServer(scripts[i], Min(first, len),
											src_encoding));
		for (k = 0; k < list_length(orders[i]); k += 2)
		{
			int			from = list_nth_int(orders[i], k);
			int			to = k + 2 < list_length(orders[i]) ?
			list_nth_int(orders[i], k + 2) : len;

			if (from > len || to > len || from > to)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("the order of service \"%s\" does not match its script",
								svc->service),
						 errdetail("An item offset lies outside the script or before the previous one."),
						 errhint("Check the snapshot with bac.verify_snapshot().")));
			items[nitems].position = list_nth_int(orders[i], k + 1);
			items[nitems].service = i;
			items[nitems].text = ExportToServer(scripts[i] + from, to - from,
												src_encoding);
			nitems++;
		}
	}
	qsort(items, nitems, sizeof(ExportItem), ExportItemCompare);
	for (i = 0; i < nitems; i++)
	{
		if (items[i].service != last)
			ExportAddText(steps,
						  ExportSwitch(((BacManifestService *)
										list_nth(services, items[i].service))->schema));
		last = items[i].service;
		ExportAddText(steps, items[i].text);
	}
}

/*
 * ExportGroupHeader
 *		The comments and settings a group's script starts with, then its
 *		schemas (public, which every database has, only if missing).
 */
static char *
ExportGroupHeader(BacManifest *m, List *services)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	appendStringInfoString(&s, "--\n-- pg_bac export of a group of services, in one dependency order\n--\n");
	foreach(lc, services)
	{
		BacManifestService *svc = lfirst(lc);
		ListCell   *lc2;

		appendStringInfo(&s, "-- Service: %s (schema %s)\n",
						 ExportComment(svc->service), ExportComment(svc->schema));
		foreach(lc2, svc->extensions)
			appendStringInfo(&s, "--   needs extension: %s\n",
							 ExportComment((char *) lfirst(lc2)));
		foreach(lc2, svc->uncaptured)
			appendStringInfo(&s, "--   not captured: %s\n",
							 ExportComment((char *) lfirst(lc2)));
	}
	/*
	 * The label belongs to the whole snapshot: shown only when every
	 * service of it is exported (the caller may act on all of them).
	 */
	ExportSnapshotComments(&s, m,
						   list_length(services) == list_length(m->services));
	appendStringInfoString(&s, "--\n\n");
	BacExportSettings(&s, pg_get_client_encoding_name());
	foreach(lc, services)
	{
		BacManifestService *svc = lfirst(lc);

		appendStringInfo(&s, "CREATE SCHEMA %s%s;\n",
						 strcmp(svc->schema, "public") == 0 ? "IF NOT EXISTS " : "",
						 quote_identifier(svc->schema));
	}
	appendStringInfoChar(&s, '\n');
	return s.data;
}

/*
 * ExportGroupServices
 *		The services of the snapshot to export: those named (each once), or
 *		all of them for NULL.
 */
static List *
ExportGroupServices(BacManifest *m, ArrayType *names)
{
	List	   *result = NIL;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	if (names == NULL)
		return m->services;
	deconstruct_array(names, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
					  &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("services must not be empty"),
				 errhint("Name the services to export, or pass NULL for all of the snapshot.")));
	for (i = 0; i < n; i++)
	{
		BacManifestService *svc;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("services must not contain NULL"),
					 errhint("Name the services to export.")));
		svc = BacManifestFindService(m, NameStr(*DatumGetName(elems[i])));
		if (list_member_ptr(result, svc))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("service \"%s\" is named twice", svc->service),
					 errhint("Name each service once.")));
		result = lappend(result, svc);
	}
	return result;
}

/*
 * ExportPrepareGroup
 *		ExportPrepare for several services in one script: their pre-data
 *		in the snapshot's one order, the data of all, their post-data in
 *		that order, like pg_dump -n a -n b.
 */
ExportState *
ExportPrepareGroup(const char *snapshot_id, ArrayType *names)
{
	ExportState *st = palloc0(sizeof(ExportState));
	BacManifest *m = BacReadManifest(snapshot_id, 0);
	List	   *services = ExportGroupServices(m, names);
	int			n = list_length(services);
	char	  **pre = palloc(sizeof(char *) * n);
	char	  **post = palloc(sizeof(char *) * n);
	List	  **pre_order = palloc(sizeof(List *) * n);
	List	  **post_order = palloc(sizeof(List *) * n);
	List	   *paths = NIL;
	ListCell   *lc;
	int			i;

	foreach(lc, services)
	{
		ExportCheckPrivilege(m, lfirst(lc));
		paths = list_concat(paths, BacManifestServiceFiles(m, lfirst(lc)));
	}
	ExportReadFormat(st, m);
	BacVerifyFilesOrError(m, paths);

	/* offsets are of the files' bytes: split before converting */
	for (i = 0; i < n; i++)
	{
		BacManifestService *svc = list_nth(services, i);

		pre[i] = BacReadWholeFile(psprintf("%s/%s", m->directory, svc->pre_data),
								  "snapshot script", false, NULL);
		post[i] = BacReadWholeFile(psprintf("%s/%s", m->directory, svc->post_data),
								   "snapshot script", false, NULL);
		pre_order[i] = svc->pre_order;
		post_order[i] = svc->post_order;
	}

	ExportAddText(&st->steps, ExportGroupHeader(m, services));
	ExportAddInOrder(&st->steps, services, pre, pre_order, st->src_encoding);
	for (i = 0; i < n; i++)
	{
		BacManifestService *svc = list_nth(services, i);
		List	   *tables = ExportScriptTables(ExportToServer(pre[i], strlen(pre[i]),
															   st->src_encoding));

		foreach(lc, svc->tables)
		{
			BacManifestTable *t = lfirst(lc);
			ListCell   *lf;

			ExportAddText(&st->steps,
						  psprintf("\n--\n-- Data for table %s.%s: %lld rows\n--\n\n%s",
								   ExportComment(quote_identifier(svc->schema)),
								   ExportComment(quote_identifier(t->name)),
								   (long long) t->rows,
								   ExportCopyStatement(svc->schema, t->name, tables)));
			foreach(lf, t->files)
			{
				ExportStep *fs = palloc0(sizeof(ExportStep));

				fs->path = psprintf("%s/%s", m->directory, (char *) lfirst(lf));
				st->steps = lappend(st->steps, fs);
			}
			ExportAddText(&st->steps, pstrdup("\\.\n"));
		}
	}
	/* see ExportPrepare */
	ExportAddText(&st->steps, pstrdup("\nSET row_security = on;\n\n"));
	ExportAddInOrder(&st->steps, services, post, post_order, st->src_encoding);
	ExportAddText(&st->steps, pstrdup("\n--\n-- pg_bac export complete\n--\n"));

	initStringInfo(&st->buf);
	return st;
}
