/*-------------------------------------------------------------------------
 *
 * export.c
 *		bac.export(): one service of a snapshot as a plain SQL script that
 *		psql loads into an empty database, like pg_dump --format=plain
 *		--schema=S.
 *
 * The script is returned as one row per line (without the newline), so
 * that "psql -XAt" prints it back byte for byte:
 *
 *	header		comments naming the snapshot, then the SET statements
 *				pg_dump starts with (statement_timeout, client_encoding,
 *				standard_conforming_strings, check_function_bodies = false,
 *				client_min_messages, row_security = off, ...)
 *	schema		CREATE SCHEMA <as_schema or the original name>;
 *				SET search_path = <it>;
 *	pre-data	the snapshot's pre-data script (relocatable, see ddl.c)
 *	data		per table, in the manifest's load order:
 *				COPY <schema>.<table> (<columns>) FROM stdin;
 *				the lines of its data file(s), decompressed, slices in
 *				manifest order
 *				\.
 *	post-data	SET row_security = on (materialized views are refreshed as
 *				their owners under the tables' policies, as bac.restore
 *				does), then the snapshot's post-data script
 *
 * Encoding: the snapshot's text (scripts and data, in the manifest's
 * "encoding") is converted to the database encoding and validated; the rows
 * then reach the client in the session's client_encoding, so that is the
 * client_encoding the header sets (with the snapshot's encoding named in a
 * comment).  Names written into "--" comments have their line breaks
 * replaced, so no name can end a comment and run as SQL.
 *
 * The function is value-per-call: every call returns the next line, and a
 * data file is read through a small buffer, so neither the script nor a
 * data file is ever held in memory as a whole.  In the select list
 * ("SELECT bac.export(...)") rows stream to the client as they are made;
 * in FROM the executor collects them in a tuplestore first (which spills to
 * disk beyond work_mem).
 *
 * The column list of each COPY is taken from the table's CREATE TABLE in
 * the pre-data script (parsed with the server's grammar): its columns, the
 * inherited ones first as CREATE TABLE ... INHERITS makes them, without
 * generated columns.  That is the column order the data files were
 * written in (attnum order without generated columns) whenever the
 * pre-data script recreates the table with the same attnum order, the
 * same assumption restore makes.  A table whose columns cannot be derived
 * that way (a parent in another schema) gets a COPY without column list.
 *
 * Privileges: the caller must be a superuser, or own the service's schema
 * as it exists now (the rule of bac.restore); a snapshot of a schema that
 * no longer exists can be exported by a superuser only.  Every file read
 * is checked against the manifest's size and SHA-256 first.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/export.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "storage/fd.h"
#include "utils/builtins.h"

#include "manifest.h"

/* bytes read from a data file at a time */
#define EXPORT_READ_CHUNK	65536

/* one piece of the script: literal text, or a data file */
typedef struct ExportStep
{
	char	   *text;			/* lines to return, or NULL */
	char	   *path;			/* absolute path of a data file, or NULL */
} ExportStep;

/* what survives between calls */
typedef struct ExportState
{
	List	   *steps;			/* ExportStep *, in script order */
	int			next_step;		/* index of the step after the current one */
	int			src_encoding;	/* encoding of the snapshot's text */
	BacCompression compression;

	/* current literal text step */
	char	   *text;			/* NULL when none */
	char	   *text_pos;

	/* current data file step */
	BacDataReader *reader;		/* NULL when none */
	char	   *path;
	StringInfoData buf;			/* bytes read but not yet returned */
	int			buf_pos;		/* start of the next line in buf */
	bool		eof;
	int64		lines;
} ExportState;

/* one column while the pre-data script is read */
typedef struct ExportColumn
{
	char	   *name;
	bool		generated;
} ExportColumn;

/* a table created by the pre-data script, with its columns */
typedef struct ExportTableCols
{
	char	   *name;
	List	   *columns;		/* ExportColumn *, or NIL if unknown */
	bool		known;
} ExportTableCols;

/*
 * ExportToServer
 *		Text of the snapshot (in its encoding) as text of this database:
 *		converted when the encodings differ, validated always (a zero byte
 *		or an invalid sequence is an error).
 */
static char *
ExportToServer(const char *s, int len, int src_encoding)
{
	char	   *conv = pg_any_to_server(s, len, src_encoding);

	if (conv == s)
		return pnstrdup(s, len);
	return conv;
}

/*
 * ExportIsGenerated
 *		True if a column definition of CREATE TABLE is GENERATED ... STORED.
 */
static bool
ExportIsGenerated(ColumnDef *def)
{
	ListCell   *lc;

	foreach(lc, def->constraints)
	{
		Constraint *c = lfirst(lc);

		if (IsA(c, Constraint) && c->contype == CONSTR_GENERATED)
			return true;
	}
	return false;
}

/*
 * ExportFindColumn
 *		The column named name in a list of ExportColumn, or NULL.
 */
static ExportColumn *
ExportFindColumn(List *columns, const char *name)
{
	ListCell   *lc;

	foreach(lc, columns)
	{
		ExportColumn *col = lfirst(lc);

		if (strcmp(col->name, name) == 0)
			return col;
	}
	return NULL;
}

/*
 * ExportFindTable
 *		The table named name among those the pre-data script creates.
 */
static ExportTableCols *
ExportFindTable(List *tables, const char *name)
{
	ListCell   *lc;

	foreach(lc, tables)
	{
		ExportTableCols *t = lfirst(lc);

		if (strcmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}

/*
 * ExportScriptTables
 *		The tables the pre-data script creates with CREATE TABLE, each with
 *		the columns it will have: inherited columns first (from the parents
 *		in order, merged by name), then the local ones, as CREATE TABLE
 *		... INHERITS lays them out.  Parents that are not created by the
 *		script itself make the columns unknown.
 */
static List *
ExportScriptTables(const char *sql)
{
	List	   *stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	List	   *tables = NIL;
	ListCell   *lc;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst(lc);
		CreateStmt *cs;
		ExportTableCols *t;
		ListCell   *li;

		CHECK_FOR_INTERRUPTS();
		if (!IsA(raw->stmt, CreateStmt))
			continue;
		cs = (CreateStmt *) raw->stmt;
		if (cs->relation->schemaname != NULL)
			continue;
		t = palloc0(sizeof(ExportTableCols));
		t->name = pstrdup(cs->relation->relname);
		t->known = true;
		foreach(li, cs->inhRelations)
		{
			RangeVar   *parent = lfirst(li);
			ExportTableCols *p = NULL;
			ListCell   *lp;

			if (parent->schemaname == NULL)
				p = ExportFindTable(tables, parent->relname);
			if (p == NULL || !p->known)
			{
				t->known = false;
				break;
			}
			foreach(lp, p->columns)
			{
				ExportColumn *pc = lfirst(lp);

				if (ExportFindColumn(t->columns, pc->name) == NULL)
				{
					ExportColumn *col = palloc(sizeof(ExportColumn));

					col->name = pc->name;
					col->generated = pc->generated;
					t->columns = lappend(t->columns, col);
				}
			}
		}
		/* PARTITION OF without column list: the parent's columns */
		if (t->known && cs->partbound != NULL && cs->inhRelations == NIL)
			t->known = false;
		foreach(li, cs->tableElts)
		{
			ColumnDef  *def = lfirst(li);
			ExportColumn *col;

			if (!IsA(def, ColumnDef))
				continue;
			col = ExportFindColumn(t->columns, def->colname);
			if (col == NULL)
			{
				col = palloc(sizeof(ExportColumn));
				col->name = pstrdup(def->colname);
				col->generated = false;
				t->columns = lappend(t->columns, col);
			}
			if (ExportIsGenerated(def))
				col->generated = true;
		}
		if (!t->known)
			t->columns = NIL;
		tables = lappend(tables, t);
	}
	return tables;
}

/*
 * ExportCopyStatement
 *		COPY <schema>.<table> (<columns>) FROM stdin; for one table.
 */
static char *
ExportCopyStatement(const char *schema, const char *table, List *tables)
{
	ExportTableCols *t = ExportFindTable(tables, table);
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "COPY %s.%s ", quote_identifier(schema),
					 quote_identifier(table));
	if (t != NULL && t->known)
	{
		ListCell   *lc;
		bool		any = false;

		/* a table without (stored) columns takes no column list */
		foreach(lc, t->columns)
			any = any || !((ExportColumn *) lfirst(lc))->generated;
		if (!any)
			t = NULL;
	}
	if (t != NULL && t->known)
	{
		ListCell   *lc;
		bool		first = true;

		appendStringInfoChar(&s, '(');
		foreach(lc, t->columns)
		{
			ExportColumn *col = lfirst(lc);

			if (col->generated)
				continue;
			appendStringInfo(&s, "%s%s", first ? "" : ", ",
							 quote_identifier(col->name));
			first = false;
		}
		appendStringInfoString(&s, ") ");
	}
	appendStringInfoString(&s, "FROM stdin;\n");
	return s.data;
}

/*
 * ExportAddText
 *		Append a literal piece of the script.
 */
static void
ExportAddText(List **steps, char *text)
{
	ExportStep *st = palloc0(sizeof(ExportStep));

	st->text = text;
	*steps = lappend(*steps, st);
}

/*
 * ExportComment
 *		Text for a "--" comment line: line breaks (a label, a name) become
 *		spaces, so nothing of it can end the comment and run as SQL.
 */
static char *
ExportComment(const char *text)
{
	char	   *s = pstrdup(text);
	char	   *p;

	for (p = s; *p; p++)
	{
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	return s;
}

/*
 * ExportHeader
 *		The comments and settings the script starts with, then the schema.
 */
static char *
ExportHeader(BacManifest *m, BacManifestService *svc, const char *target)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	appendStringInfoString(&s, "--\n-- pg_bac export\n--\n");
	appendStringInfo(&s, "-- Service: %s\n", ExportComment(svc->service));
	appendStringInfo(&s, "-- Schema at snapshot time: %s\n",
					 ExportComment(svc->schema));
	appendStringInfo(&s, "-- Exported as schema: %s\n", ExportComment(target));
	appendStringInfo(&s, "-- Snapshot: %s%s%s%s\n", m->snapshot_id,
					 m->label ? " (label " : "",
					 m->label ? ExportComment(m->label) : "",
					 m->label ? ")" : "");
	appendStringInfo(&s, "-- Consistent at: %s\n", ExportComment(m->consistent_at));
	appendStringInfo(&s, "-- Source database: %s, encoding %s, server version %s\n",
					 ExportComment(m->database), ExportComment(m->encoding),
					 ExportComment(m->server_version));
	appendStringInfo(&s, "-- Exported by pg_bac version %s\n", PG_BAC_VERSION);
	foreach(lc, svc->extensions)
		appendStringInfo(&s, "-- Needs extension: %s\n",
						 ExportComment((char *) lfirst(lc)));
	foreach(lc, svc->uncaptured)
		appendStringInfo(&s, "-- Not captured: %s\n",
						 ExportComment((char *) lfirst(lc)));
	appendStringInfoString(&s, "--\n\n");

	appendStringInfoString(&s,
						   "SET statement_timeout = 0;\n"
						   "SET lock_timeout = 0;\n"
						   "SET idle_in_transaction_session_timeout = 0;\n");
	appendStringInfo(&s, "SET client_encoding = %s;\n",
					 quote_literal_cstr(pg_get_client_encoding_name()));
	appendStringInfoString(&s,
						   "SET standard_conforming_strings = on;\n"
						   "SELECT pg_catalog.set_config('search_path', '', false);\n"
						   "SET check_function_bodies = false;\n"
						   "SET xmloption = content;\n"
						   "SET client_min_messages = warning;\n"
						   "SET row_security = off;\n"
						   "SET default_tablespace = '';\n"
						   "SET default_table_access_method = heap;\n\n");
	appendStringInfo(&s, "CREATE SCHEMA %s;\n", quote_identifier(target));
	appendStringInfo(&s, "SELECT pg_catalog.set_config('search_path', %s, false);\n\n",
					 quote_literal_cstr(quote_identifier(target)));
	return s.data;
}

/*
 * ExportCheckTarget
 *		as_schema must be a name CREATE SCHEMA accepts.
 */
static void
ExportCheckTarget(const char *target)
{
	if (target[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_SCHEMA_NAME),
				 errmsg("as_schema must not be empty"),
				 errdetail("The script creates the schema under this name."),
				 errhint("Pass another name, or NULL to keep the schema's name at snapshot time.")));
	if (strncmp(target, "pg_", 3) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("unacceptable schema name \"%s\"", target),
				 errdetail("The prefix \"pg_\" is reserved for system schemas."),
				 errhint("Pass another name for as_schema.")));
}

/*
 * ExportCheckPrivilege
 *		Superuser, or, for a snapshot of this database, owner of the
 *		service's schema as it exists now; a schema that no longer exists:
 *		superuser only.
 */
static void
ExportCheckPrivilege(BacManifest *m, BacManifestService *svc)
{
	Oid			nspoid;

	if (superuser())
		return;
	BacCheckSnapshotDatabase(m, "export");
	nspoid = BacSchemaOid(svc->schema, true);
	if (!OidIsValid(nspoid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to export service \"%s\" of snapshot \"%s\"",
						svc->service, m->snapshot_id),
				 errdetail("Schema \"%s\" does not exist here any more; only a superuser may export it.",
						   svc->schema),
				 errhint("Ask a superuser to export it.")));
	BacCheckSchemaPrivilege(nspoid, "export");
}

/*
 * ExportPrepare
 *		Everything before the first line: read and check the manifest, the
 *		privileges and every file to be read; read the scripts; plan the
 *		steps.  Runs in the multi-call memory context.
 */
static ExportState *
ExportPrepare(const char *snapshot_id, const char *service,
			  const char *as_schema)
{
	ExportState *st = palloc0(sizeof(ExportState));
	BacManifest *m;
	BacManifestService *svc;
	const char *target;
	ListCell   *lc;
	char	   *pre;
	char	   *post;
	List	   *tables;

	m = BacReadManifest(snapshot_id, 0);
	svc = BacManifestFindService(m, service);
	ExportCheckPrivilege(m, svc);
	target = as_schema ? as_schema : svc->schema;
	ExportCheckTarget(target);

	st->compression = m->compression;
	st->src_encoding = pg_char_to_encoding(m->encoding);
	if (st->src_encoding < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot \"%s\" names unknown encoding \"%s\"",
						m->snapshot_id, m->encoding),
				 errhint("Check the snapshot with bac.verify_snapshot().")));

	/* size and SHA-256 of every file to be read, before the first line */
	BacVerifyFilesOrError(m, BacManifestServiceFiles(svc));

	pre = BacReadWholeFile(psprintf("%s/%s", m->directory, svc->pre_data),
						   "snapshot script", false, NULL);
	pre = ExportToServer(pre, strlen(pre), st->src_encoding);
	post = BacReadWholeFile(psprintf("%s/%s", m->directory, svc->post_data),
							"snapshot script", false, NULL);
	post = ExportToServer(post, strlen(post), st->src_encoding);
	tables = ExportScriptTables(pre);

	ExportAddText(&st->steps, ExportHeader(m, svc, target));
	ExportAddText(&st->steps, pre);
	foreach(lc, svc->tables)
	{
		BacManifestTable *t = lfirst(lc);
		ListCell   *lf;

		ExportAddText(&st->steps,
					  psprintf("\n--\n-- Data for table %s: %lld rows\n--\n\n%s",
							   ExportComment(quote_identifier(t->name)),
							   (long long) t->rows,
							   ExportCopyStatement(target, t->name, tables)));
		foreach(lf, t->files)
		{
			ExportStep *fs = palloc0(sizeof(ExportStep));

			fs->path = psprintf("%s/%s", m->directory, (char *) lfirst(lf));
			st->steps = lappend(st->steps, fs);
		}
		ExportAddText(&st->steps, pstrdup("\\.\n"));
	}
	/*
	 * Post-data refreshes materialized views as their owners: under the
	 * tables' row level security (forced for owners, too), as bac.restore
	 * does, not with the error row_security = off gives there.
	 */
	ExportAddText(&st->steps, pstrdup("\nSET row_security = on;\n\n"));
	ExportAddText(&st->steps, post);
	ExportAddText(&st->steps, pstrdup("\n--\n-- pg_bac export complete\n--\n"));
	initStringInfo(&st->buf);
	return st;
}

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
	appendStringInfo(&s, "-- Snapshot: %s%s%s%s\n", m->snapshot_id,
					 m->label ? " (label " : "",
					 m->label ? ExportComment(m->label) : "",
					 m->label ? ")" : "");
	appendStringInfo(&s, "-- Consistent at: %s\n", ExportComment(m->consistent_at));
	appendStringInfo(&s, "-- Source database: %s, encoding %s, server version %s\n",
					 ExportComment(m->database), ExportComment(m->encoding),
					 ExportComment(m->server_version));
	appendStringInfo(&s, "-- Exported by pg_bac version %s\n--\n\n", PG_BAC_VERSION);
	appendStringInfoString(&s,
						   "SET statement_timeout = 0;\n"
						   "SET lock_timeout = 0;\n"
						   "SET idle_in_transaction_session_timeout = 0;\n");
	appendStringInfo(&s, "SET client_encoding = %s;\n",
					 quote_literal_cstr(pg_get_client_encoding_name()));
	appendStringInfoString(&s,
						   "SET standard_conforming_strings = on;\n"
						   "SELECT pg_catalog.set_config('search_path', '', false);\n"
						   "SET check_function_bodies = false;\n"
						   "SET xmloption = content;\n"
						   "SET client_min_messages = warning;\n"
						   "SET row_security = off;\n"
						   "SET default_tablespace = '';\n"
						   "SET default_table_access_method = heap;\n\n");
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
static ExportState *
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
		paths = list_concat(paths, BacManifestServiceFiles(lfirst(lc)));
	}
	st->compression = m->compression;
	st->src_encoding = pg_char_to_encoding(m->encoding);
	if (st->src_encoding < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot \"%s\" names unknown encoding \"%s\"",
						m->snapshot_id, m->encoding),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
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

/*
 * ExportCloseReader
 *		Close the current data file, if any.
 */
static void
ExportCloseReader(ExportState *st)
{
	if (st->reader != NULL)
	{
		BacDataReaderClose(st->reader);
		st->reader = NULL;
	}
}

/*
 * ExportShutdown
 *		Called when the query ends, also before the last line (LIMIT).
 */
static void
ExportShutdown(Datum arg)
{
	ExportCloseReader((ExportState *) DatumGetPointer(arg));
}

/*
 * ExportNextLine
 *		The next line of the script (without its newline) in the current
 *		memory context, or NULL at the end.  Literal pieces are split at
 *		newlines; a final piece without newline is a line too.  Data files
 *		are read a chunk at a time.
 */
static char *
ExportNextLine(ExportState *st, MemoryContext keep)
{
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();

		/* in a literal piece */
		if (st->text != NULL)
		{
			char	   *start = st->text_pos;
			char	   *nl;

			if (*start == '\0')
			{
				st->text = NULL;
				continue;
			}
			nl = strchr(start, '\n');
			if (nl == NULL)
			{
				st->text = NULL;
				return pstrdup(start);
			}
			st->text_pos = nl + 1;
			return pnstrdup(start, nl - start);
		}

		/* in a data file */
		if (st->reader != NULL)
		{
			char	   *start = st->buf.data + st->buf_pos;
			char	   *nl = memchr(start, '\n', st->buf.len - st->buf_pos);

			if (nl != NULL)
			{
				int			len = nl - start;

				st->buf_pos += len + 1;
				st->lines++;
				return ExportToServer(start, len, st->src_encoding);
			}
			if (!st->eof)
			{
				MemoryContext old = MemoryContextSwitchTo(keep);
				size_t		n;

				/* keep the incomplete line, read more behind it */
				if (st->buf_pos > 0)
				{
					int			rest = st->buf.len - st->buf_pos;

					memmove(st->buf.data, st->buf.data + st->buf_pos, rest);
					st->buf.len = rest;
					st->buf.data[rest] = '\0';
					st->buf_pos = 0;
				}
				enlargeStringInfo(&st->buf, EXPORT_READ_CHUNK);
				n = BacDataReaderRead(st->reader, st->buf.data + st->buf.len,
									  EXPORT_READ_CHUNK);
				MemoryContextSwitchTo(old);
				if (n == 0)
					st->eof = true;
				st->buf.len += n;
				st->buf.data[st->buf.len] = '\0';
				continue;
			}
			/* end of file: COPY text ends with a newline */
			if (st->buf.len > st->buf_pos)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("data file \"%s\" does not end with a newline",
								st->path),
						 errdetail("A data file of a snapshot holds COPY text, which ends with a newline."),
						 errhint("Check the snapshot with bac.verify_snapshot().")));
			ExportCloseReader(st);
			continue;
		}

		/* the next step */
		if (st->next_step >= list_length(st->steps))
			return NULL;
		{
			ExportStep *step = list_nth(st->steps, st->next_step++);

			if (step->text != NULL)
			{
				st->text = step->text;
				st->text_pos = step->text;
			}
			else
			{
				MemoryContext old = MemoryContextSwitchTo(keep);

				st->path = step->path;
				resetStringInfo(&st->buf);
				st->buf_pos = 0;
				st->eof = false;
				st->reader = BacDataReaderOpen(step->path, st->compression);
				MemoryContextSwitchTo(old);
			}
		}
	}
}

/*
 * ExportNextRow
 *		The per-call part of bac.export and bac.export_group: the next line,
 *		or the end of the set.
 */
static Datum
ExportNextRow(FunctionCallInfo fcinfo)
{
	FuncCallContext *funcctx = SRF_PERCALL_SETUP();
	ExportState *st = funcctx->user_fctx;
	char	   *line = ExportNextLine(st, funcctx->multi_call_memory_ctx);

	if (line == NULL)
	{
		ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

		/* the state goes with the multi-call context: forget it first */
		ExportCloseReader(st);
		UnregisterExprContextCallback(rsinfo->econtext, ExportShutdown,
									  PointerGetDatum(st));
		SRF_RETURN_DONE(funcctx);
	}
	SRF_RETURN_NEXT(funcctx, CStringGetTextDatum(line));
}

/*
 * bac.export_group(snapshot_id text, services name[] DEFAULT NULL)
 *	RETURNS SETOF text
 *
 *	The lines of one plain SQL script that recreates several services of a
 *	snapshot (NULL: all of them) under their names at snapshot time, in one
 *	dependency order over all of them, like pg_dump -n a -n b; for psql to
 *	load into another database.
 */
PG_FUNCTION_INFO_V1(bac_export_group);
Datum
bac_export_group(PG_FUNCTION_ARGS)
{
	if (SRF_IS_FIRSTCALL())
	{
		ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
		FuncCallContext *funcctx;
		MemoryContext old;
		ExportState *st;

		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("snapshot_id must not be NULL"),
					 errhint("Pass a snapshot_id listed by bac.snapshots().")));
		if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
			rsinfo->econtext == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("set-valued function called in context that cannot accept a set")));
		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = ExportPrepareGroup(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P_COPY(1));
		funcctx->user_fctx = st;
		RegisterExprContextCallback(rsinfo->econtext, ExportShutdown,
									PointerGetDatum(st));
		MemoryContextSwitchTo(old);
	}
	return ExportNextRow(fcinfo);
}

/*
 * bac.export(snapshot_id text, service name, as_schema name DEFAULT NULL)
 *	RETURNS SETOF text
 *
 *	The lines of a plain SQL script that recreates service's schema (named
 *	as_schema, or as at snapshot time when NULL) with its data as of the
 *	snapshot, for psql to load into another database.  See the file header.
 */
PG_FUNCTION_INFO_V1(bac_export);
Datum
bac_export(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	ExportState *st;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
		char	   *snapshot_id;
		char	   *service;
		char	   *as_schema = NULL;

		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("snapshot_id must not be NULL"),
					 errhint("Pass a snapshot_id listed by bac.snapshots().")));
		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("service must not be NULL"),
					 errhint("Name the service to export.")));
		if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
			rsinfo->econtext == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("set-valued function called in context that cannot accept a set")));

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		snapshot_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
		service = pstrdup(NameStr(*PG_GETARG_NAME(1)));
		if (!PG_ARGISNULL(2))
			as_schema = pstrdup(NameStr(*PG_GETARG_NAME(2)));
		st = ExportPrepare(snapshot_id, service, as_schema);
		funcctx->user_fctx = st;
		RegisterExprContextCallback(rsinfo->econtext, ExportShutdown,
									PointerGetDatum(st));
		MemoryContextSwitchTo(old);
	}

	return ExportNextRow(fcinfo);
}
