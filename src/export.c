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
 * Options, with the meaning of pg_dump's:
 *	schema_only (-s)	no data: no COPY blocks, no setval, no REFRESH
 *						MATERIALIZED VIEW;
 *	data_only (-a)		the data only, for a schema that exists already:
 *						no CREATE SCHEMA, of the scripts only the setval
 *						and REFRESH MATERIALIZED VIEW statements;
 *	no_owner (-O)		no ALTER ... OWNER TO: the objects belong to the
 *						role that runs the script; the privileges the
 *						owner held on its own objects go to that role
 *						(CURRENT_USER), as they would with pg_dump -O;
 *	no_privileges (-x)	no GRANT, REVOKE, ALTER DEFAULT PRIVILEGES (nor the
 *						SET ROLE / RESET ROLE around grants made by
 *						another grantor).
 * The scripts are filtered statement by statement: the server's grammar
 * splits them (raw_parser) and each statement is classified by its parse
 * node; the schema's own owner, privileges and default privileges are
 * DO blocks (see IN_CURRENT_SCHEMA in ddl_catalog.c), classified by the
 * statement their format() template starts with.
 *
 * The filtering for these options lives in export_filter.c; bac.export_group
 * (several services in one script) in export_group.c; export.h holds the
 * state they share.
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

#include <ctype.h>

#include "catalog/namespace.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "storage/fd.h"
#include "utils/builtins.h"

#include "export.h"
#include "progress.h"

/* bytes read from a data file at a time */
#define EXPORT_READ_CHUNK	65536

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
char *
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
List *
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
 * BacExportScriptTables
 *		The tables a pre-data script creates, with their columns, for
 *		BacExportCopyTarget (also used by plainscript.c).
 */
List *
BacExportScriptTables(const char *pre_data)
{
	return ExportScriptTables(pre_data);
}

/*
 * BacExportCopyTarget
 *		"<schema>.<table> (<columns>)" for a COPY of one table's data
 *		files: the stored columns in the order the data files hold them,
 *		or no column list where they are unknown (tables is what
 *		BacExportScriptTables returned).
 */
char *
BacExportCopyTarget(const char *schema, const char *table, List *tables)
{
	ExportTableCols *t = ExportFindTable(tables, table);
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "%s.%s", quote_identifier(schema),
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

		appendStringInfoString(&s, " (");
		foreach(lc, t->columns)
		{
			ExportColumn *col = lfirst(lc);

			if (col->generated)
				continue;
			appendStringInfo(&s, "%s%s", first ? "" : ", ",
							 quote_identifier(col->name));
			first = false;
		}
		appendStringInfoChar(&s, ')');
	}
	return s.data;
}

/*
 * ExportCopyStatement
 *		COPY <schema>.<table> (<columns>) FROM stdin; for one table.
 */
char *
ExportCopyStatement(const char *schema, const char *table, List *tables)
{
	return psprintf("COPY %s FROM stdin;\n",
					BacExportCopyTarget(schema, table, tables));
}


/*
 * ExportAddText
 *		Append a literal piece of the script.
 */
void
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
char *
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
 * BacExportSettings
 *		pg_dump's SET statements that start a plain script, with the given
 *		client_encoding (also used by plainscript.c).
 */
void
BacExportSettings(StringInfo s, const char *client_encoding)
{
	appendStringInfoString(s,
						   "SET statement_timeout = 0;\n"
						   "SET lock_timeout = 0;\n"
						   "SET idle_in_transaction_session_timeout = 0;\n");
	appendStringInfo(s, "SET client_encoding = %s;\n",
					 quote_literal_cstr(client_encoding));
	appendStringInfoString(s,
						   "SET standard_conforming_strings = on;\n"
						   "SELECT pg_catalog.set_config('search_path', '', false);\n"
						   "SET check_function_bodies = false;\n"
						   "SET xmloption = content;\n"
						   "SET client_min_messages = warning;\n"
						   "SET row_security = off;\n"
						   "SET default_tablespace = '';\n"
						   "SET default_table_access_method = heap;\n\n");
}

/*
 * ExportSnapshotComments
 *		The comment lines naming the snapshot, its instant, its source and
 *		the exporting version; the snapshot's label only if with_label.
 */
void
ExportSnapshotComments(StringInfo s, BacManifest *m, bool with_label)
{
	with_label = with_label && m->label != NULL;
	appendStringInfo(s, "-- Snapshot: %s%s%s%s\n", m->snapshot_id,
					 with_label ? " (label " : "",
					 with_label ? ExportComment(m->label) : "",
					 with_label ? ")" : "");
	appendStringInfo(s, "-- Consistent at: %s\n", ExportComment(m->consistent_at));
	appendStringInfo(s, "-- Source database: %s, encoding %s, server version %s\n",
					 ExportComment(m->database), ExportComment(m->encoding),
					 ExportComment(m->server_version));
	appendStringInfo(s, "-- Exported by pg_bac version %s\n", PG_BAC_VERSION);
}

/*
 * ExportHeader
 *		The comments and settings the script starts with, then the schema.
 */
static char *
ExportHeader(BacManifest *m, BacManifestService *svc, const char *target,
			 const ExportOptions *opt)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	appendStringInfoString(&s, "--\n-- pg_bac export\n--\n");
	appendStringInfo(&s, "-- Service: %s\n", ExportComment(svc->service));
	appendStringInfo(&s, "-- Schema at snapshot time: %s\n",
					 ExportComment(svc->schema));
	appendStringInfo(&s, "-- Exported as schema: %s\n", ExportComment(target));
	ExportSnapshotComments(&s, m, true);
	if (opt->schema_only || opt->data_only || opt->no_owner || opt->no_privileges)
		appendStringInfo(&s, "-- Options:%s%s%s%s\n",
						 opt->schema_only ? " schema_only" : "",
						 opt->data_only ? " data_only" : "",
						 opt->no_owner ? " no_owner" : "",
						 opt->no_privileges ? " no_privileges" : "");
	foreach(lc, svc->extensions)
		appendStringInfo(&s, "-- Needs extension: %s\n",
						 ExportComment((char *) lfirst(lc)));
	foreach(lc, svc->uncaptured)
		appendStringInfo(&s, "-- Not captured: %s\n",
						 ExportComment((char *) lfirst(lc)));
	appendStringInfoString(&s, "--\n\n");

	BacExportSettings(&s, pg_get_client_encoding_name());
	if (!opt->data_only)
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
 * ExportReadFormat
 *		How the snapshot's data files are written: their compression and the
 *		encoding of their text.
 */
void
ExportReadFormat(ExportState *st, BacManifest *m)
{
	st->compression = m->compression;
	st->src_encoding = pg_char_to_encoding(m->encoding);
	if (st->src_encoding < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot \"%s\" names unknown encoding \"%s\"",
						m->snapshot_id, m->encoding),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
}

/*
 * ExportCheckPrivilege
 *		Superuser, or, for a snapshot of this database, owner of the
 *		service's schema as it exists now; a schema that no longer exists:
 *		superuser only.
 */
void
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
			  const char *as_schema, const ExportOptions *opt)
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

	ExportReadFormat(st, m);

	/* size and SHA-256 of every file to be read, before the first line */
	BacProgressBegin(BAC_PROGRESS_EXPORT, m->snapshot_id, svc->service);
	BacProgressTotals(opt->schema_only ? 0 : list_length(svc->tables), -1);
	BacProgressPhase("verifying");
	if (opt->schema_only)
		BacVerifyFilesOrError(m, list_make2(svc->pre_data, svc->post_data));
	else
		BacVerifyFilesOrError(m, BacManifestServiceFiles(m, svc));

	pre = BacReadWholeFile(psprintf("%s/%s", m->directory, svc->pre_data),
						   "snapshot script", false, NULL);
	pre = ExportToServer(pre, strlen(pre), st->src_encoding);
	post = BacReadWholeFile(psprintf("%s/%s", m->directory, svc->post_data),
							"snapshot script", false, NULL);
	post = ExportToServer(post, strlen(post), st->src_encoding);
	tables = ExportScriptTables(pre);

	ExportAddText(&st->steps, ExportHeader(m, svc, target, opt));
	ExportAddText(&st->steps, ExportFilterScript(pre, opt));
	foreach(lc, opt->data_only ?
			ExportForeignKeyOrder(svc->tables, pre, post) : svc->tables)
	{
		BacManifestTable *t = lfirst(lc);
		ListCell   *lf;

		if (opt->schema_only)
			break;
		ExportAddText(&st->steps,
					  psprintf("\n--\n-- Data for table %s: %lld rows\n--\n\n%s",
							   ExportComment(quote_identifier(t->name)),
							   (long long) t->rows,
							   ExportCopyStatement(target, t->name, tables)));
		foreach(lf, t->files)
		{
			ExportStep *fs = palloc0(sizeof(ExportStep));

			fs->path = psprintf("%s/%s", m->directory, (char *) lfirst(lf));
			fs->table = t->name;
			fs->last = (lnext(t->files, lf) == NULL);
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
	ExportAddText(&st->steps, ExportFilterScript(post, opt));
	ExportAddText(&st->steps, pstrdup("\n--\n-- pg_bac export complete\n--\n"));
	initStringInfo(&st->buf);
	BacProgressPhase("streaming");
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
	BacProgressEnd();
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
			if (st->last)
				BacProgressAdvance(1, 0);
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
				st->last = step->last;
				BacProgressTable(step->table);
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
 * ExportGetOptions
 *		The boolean options of bac.export() (arguments 4 to 7; absent when
 *		the SQL definition is still 0.1's), checked.
 */
static void
ExportGetOptions(FunctionCallInfo fcinfo, ExportOptions *opt)
{
	static const char *const names[] = {"schema_only", "data_only", "no_owner",
	"no_privileges"};
	bool	   *fields[] = {&opt->schema_only, &opt->data_only, &opt->no_owner,
	&opt->no_privileges};
	int			i;

	for (i = 0; i < 4; i++)
	{
		*fields[i] = false;
		if (PG_NARGS() <= 3 + i)
			continue;
		if (PG_ARGISNULL(3 + i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", names[i]),
					 errhint("Pass true or false (the default).")));
		*fields[i] = PG_GETARG_BOOL(3 + i);
	}
	if (opt->schema_only && opt->data_only)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schema_only and data_only cannot be used together"),
				 errdetail("As with pg_dump's -s and -a, the one leaves out what the other keeps."),
				 errhint("Export the schema with schema_only => true, then the data with data_only => true.")));
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
		BacProgressEnd();
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
 * bac.export(snapshot_id text, service name, as_schema name DEFAULT NULL,
 *	schema_only bool DEFAULT false, data_only bool DEFAULT false,
 *	no_owner bool DEFAULT false, no_privileges bool DEFAULT false)
 *	RETURNS SETOF text
 *
 *	The lines of a plain SQL script that recreates service's schema (named
 *	as_schema, or as at snapshot time when NULL) with its data as of the
 *	snapshot, for psql to load into another database.  The four options
 *	mean what pg_dump's -s, -a, -O and -x mean.  See the file header.
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
		ExportOptions opt;

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
		ExportGetOptions(fcinfo, &opt);
		st = ExportPrepare(snapshot_id, service, as_schema, &opt);
		funcctx->user_fctx = st;
		RegisterExprContextCallback(rsinfo->econtext, ExportShutdown,
									PointerGetDatum(st));
		MemoryContextSwitchTo(old);
	}

	return ExportNextRow(fcinfo);
}
