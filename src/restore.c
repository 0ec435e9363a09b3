/*-------------------------------------------------------------------------
 *
 * restore.c
 *		Online, atomic restore of one service or a group of services from a
 *		snapshot, with the consequences for cross-service links reported.
 *
 * A restore runs entirely in the caller's transaction:
 *
 *	1. validate the arguments, read the manifest, refuse another archive
 *	   format version or another major server version;
 *	2. verify size and SHA-256 of every file it will read, parse the SQL
 *	   scripts and check the roles they name -- all before any change;
 *	3. in place: lock the service's schema and every relation in it
 *	   (ACCESS EXCLUSIVE, so lock_timeout applies), refuse with the list if
 *	   objects of other schemas depend on it, move the schema aside as
 *	   <schema>_before_<snapshot_id> (or to a transient name, dropped at the
 *	   end, when keep_previous is false);
 *	4. CREATE SCHEMA, run pre-data with search_path set to the new schema,
 *	   COPY each table's data file in (FREEZE where the server allows it),
 *	   run post-data (indexes, constraints, triggers, setval, grants);
 *	5. compute the consequences report (links and discarded rows), apply
 *	   on_broken_links, drop the old schema if keep_previous is false.
 *
 * dry_run does all of this inside an internal subtransaction and rolls it
 * back after the report is computed, so the report is exact and nothing
 * changes.  An error, a cancel or a crash at any point leaves the database
 * as it was, because nothing is committed before the caller commits.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/restore.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_extension.h"
#include "utils/fmgroids.h"
#include "catalog/pg_namespace.h"
#include "commands/dbcommands.h"
#include "common/cryptohash.h"
#include "common/hashfn.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "portability/instr_time.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "pg_bac.h"

/* on_broken_links */
typedef enum BacOnBroken
{
	BAC_BROKEN_WARN,
	BAC_BROKEN_ERROR,
	BAC_BROKEN_IGNORE
} BacOnBroken;

/* missing_roles */
typedef enum BacMissingRoles
{
	BAC_ROLES_ERROR,
	BAC_ROLES_CURRENT_USER
} BacMissingRoles;

/* one data file of the snapshot */
typedef struct RestoreTable
{
	char	   *name;			/* table name inside the schema */
	List	   *files;			/* char * paths relative to the snapshot
								 * directory, loaded in this order */
	BacCompression compression;
	int64		rows;			/* rows at snapshot time, -1 if unknown */
} RestoreTable;

/* one service to restore */
typedef struct RestoreService
{
	char	   *service;		/* service name */
	char	   *schema;			/* its schema at snapshot time */
	char	   *owner;			/* owner role name at snapshot time, or NULL */
	char	   *group;			/* service group at snapshot time, or NULL */
	char	   *pre_file;		/* paths relative to the snapshot directory */
	char	   *post_file;
	List	   *tables;			/* RestoreTable *, in load order */

	char	   *target;			/* schema to restore into */
	Oid			live_nsp;		/* schema now bearing the service's name, or
								 * InvalidOid */
	char	   *live_name;		/* its name (the compared "current" data) */
	Oid			live_owner;		/* its owner */
	char	   *aside;			/* in place: name the live schema moved to */
	char	   *pre_sql;		/* the scripts, read and parsed before any
								 * change */
	char	   *post_sql;
	List	   *pre_stmts;		/* RawStmt * */
	List	   *post_stmts;
} RestoreService;

/* what the manifest says */
typedef struct RestoreManifest
{
	char	   *snapshot_id;
	char	   *dir;			/* absolute or data-directory-relative path */
	int			format_version;
	int			server_version_num;
	char	   *encoding;		/* server encoding of the source, or NULL */
	BacCompression compression; /* of every data file */
	List	   *services;		/* RestoreService * (all of the snapshot) */
	BacManifest *archive;		/* the same manifest as read by archive.c:
								 * checked against its manifest_checksum,
								 * used to verify the files */
} RestoreManifest;

/* error context while a script statement runs */
typedef struct ScriptContext
{
	const char *service;
	const char *section;
	const char *stmt;
} ScriptContext;

static BacOnBroken BacParseOnBroken(const char *value);
static BacMissingRoles BacParseMissingRoles(const char *value);
static char *BacReadWholeFile(const char *path, const char *what);
static RestoreManifest *BacRestoreReadManifest(const char *snapshot_id);
static List *BacParseScript(const char *sql, const char *service,
							const char *section);
static void BacCollectRoles(List *stmts, List **roles);
static bool BacStatementUsesMissingRole(Node *stmt);
static void BacRunScript(RestoreService *svc, const char *section,
						 const char *sql, List *stmts, BacMissingRoles mr);
static void BacCheckForeignDependents(List *services);
static void BacLockSchema(Oid nspoid, const char *name);
static char *BacAsideName(const char *schema, const char *snapshot_id,
						  bool keep_previous);
static void BacLoadData(RestoreManifest *m, RestoreService *svc);
static int64 BacReport(List *services, Tuplestorestate *ts, TupleDesc desc);
static void BacRestoreServices(RestoreManifest *m, List *services,
							   const char *into_schema, bool keep_previous,
							   bool dry_run, BacOnBroken on_broken,
							   BacMissingRoles missing_roles,
							   Tuplestorestate *ts, TupleDesc desc);

/*
 * BacParseOnBroken
 *		Decode on_broken_links; error listing the valid values otherwise.
 */
static BacOnBroken
BacParseOnBroken(const char *value)
{
	if (strcmp(value, "warn") == 0)
		return BAC_BROKEN_WARN;
	if (strcmp(value, "error") == 0)
		return BAC_BROKEN_ERROR;
	if (strcmp(value, "ignore") == 0)
		return BAC_BROKEN_IGNORE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for on_broken_links: \"%s\"", value),
			 errdetail("on_broken_links decides what a restore does when it leaves broken links."),
			 errhint("Valid values are \"warn\", \"error\" and \"ignore\".")));
	return BAC_BROKEN_WARN;		/* keep compiler quiet */
}

/*
 * BacParseMissingRoles
 *		Decode missing_roles; error listing the valid values otherwise.
 */
static BacMissingRoles
BacParseMissingRoles(const char *value)
{
	if (strcmp(value, "error") == 0)
		return BAC_ROLES_ERROR;
	if (strcmp(value, "current_user") == 0)
		return BAC_ROLES_CURRENT_USER;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for missing_roles: \"%s\"", value),
			 errdetail("missing_roles decides what a restore does with owner and grantee roles that do not exist here."),
			 errhint("Valid values are \"error\" and \"current_user\".")));
	return BAC_ROLES_ERROR;		/* keep compiler quiet */
}

/*
 * BacReadWholeFile
 *		Read a (small) file into a palloc'd NUL-terminated string.
 */
static char *
BacReadWholeFile(const char *path, const char *what)
{
	FILE	   *f;
	StringInfoData buf;
	char		chunk[65536];
	size_t		n;

	f = AllocateFile(path, PG_BINARY_R);
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open %s \"%s\": %m", what, path)));
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
	{
		CHECK_FOR_INTERRUPTS();
		appendBinaryStringInfo(&buf, chunk, n);
	}
	if (ferror(f))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read %s \"%s\": %m", what, path)));
	FreeFile(f);
	if (memchr(buf.data, '\0', buf.len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s \"%s\" contains a zero byte", what, path),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
	return buf.data;
}

/*
 * BacManifestText
 *		Text value of column col of the current SPI result row, or NULL.
 */
static char *
BacManifestText(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/*
 * BacRestoreReadManifest
 *		Read and parse <archive>/<id>/manifest.json with PostgreSQL's jsonb.
 *		The caller is connected to SPI.  Results are allocated in the
 *		caller's (upper) memory context.
 */
static RestoreManifest *
BacRestoreReadManifest(const char *snapshot_id)
{
	RestoreManifest *m = palloc0(sizeof(RestoreManifest));
	char	   *path;
	char	   *json;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int			ret;
	uint64		i;
	char	   *compression;

	m->snapshot_id = pstrdup(snapshot_id);
	m->dir = BacSnapshotDirectory(snapshot_id);
	path = psprintf("%s/manifest.json", m->dir);
	json = BacReadWholeFile(path, "snapshot manifest");
	args[0] = CStringGetTextDatum(json);

	/* the header */
	ret = SPI_execute_with_args(
								"SELECT (m->>'format')::pg_catalog.int4,"
								" (m->>'server_version_num')::pg_catalog.int4,"
								" m->>'snapshot_id', m->>'encoding', m->>'compression'"
								" FROM (SELECT $1::pg_catalog.jsonb AS m) AS s",
								1, argtypes, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read manifest header: %d", ret);
	{
		char	   *fv = BacManifestText(0, 1);
		char	   *sv = BacManifestText(0, 2);
		char	   *id = BacManifestText(0, 3);

		if (fv == NULL || sv == NULL || id == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("manifest of snapshot \"%s\" lacks format, server_version_num or snapshot_id",
							snapshot_id),
					 errhint("Check the snapshot with bac.verify_snapshot().")));
		m->format_version = atoi(fv);
		m->server_version_num = atoi(sv);
		if (strcmp(id, snapshot_id) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("manifest of snapshot \"%s\" names snapshot \"%s\"",
							snapshot_id, id),
					 errdetail("The directory name and the manifest disagree."),
					 errhint("Do not rename snapshot directories.")));
		m->encoding = BacManifestText(0, 4);
		compression = BacManifestText(0, 5);
	}
	if (compression == NULL || strcmp(compression, "none") == 0)
		m->compression = BAC_COMPRESSION_NONE;
	else if (strcmp(compression, "zstd") == 0)
		m->compression = BAC_COMPRESSION_ZSTD;
	else if (strcmp(compression, "lz4") == 0)
		m->compression = BAC_COMPRESSION_LZ4;
	else
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("snapshot \"%s\" uses unknown compression \"%s\"",
						snapshot_id, compression),
				 errhint("Known compressions are \"none\", \"zstd\" and \"lz4\".")));

	if (m->format_version != PG_BAC_ARCHIVE_FORMAT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("snapshot \"%s\" has archive format version %d",
						snapshot_id, m->format_version),
				 errdetail("This version of pg_bac reads archive format version %d only.",
						   PG_BAC_ARCHIVE_FORMAT),
				 errhint("Restore it with the pg_bac version that wrote it.")));
	if (m->server_version_num / 10000 != PG_VERSION_NUM / 10000)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("snapshot \"%s\" was taken on PostgreSQL major version %d, this server is %d",
						snapshot_id, m->server_version_num / 10000,
						PG_VERSION_NUM / 10000),
				 errdetail("Snapshots hold SQL and COPY data written by one major version and are restored only on the same major version."),
				 errhint("Use bac.export() and psql, or pg_dump, to move data across major versions.")));

	/*
	 * archive.c checks the manifest against its manifest_checksum line and
	 * every field and path in it; its file list verifies the files.
	 */
	m->archive = BacReadManifest(snapshot_id);

	/* the services */
	ret = SPI_execute_with_args(
								"SELECT s->>'service', s->>'schema', s->>'owner',"
								" s->>'pre_data', s->>'post_data', s->'tables', s->>'service_group'"
								" FROM pg_catalog.jsonb_array_elements("
								"  ($1::pg_catalog.jsonb)->'services') AS s",
								1, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read manifest services: %d", ret);
	{
		uint64		nservices = SPI_processed;
		SPITupleTable *stt = SPI_tuptable;

		for (i = 0; i < nservices; i++)
		{
			RestoreService *svc = palloc0(sizeof(RestoreService));
			char	   *tables;
			Oid			targ[1] = {TEXTOID};
			Datum		tval[1];
			uint64		j;
			List	   *tabfiles = NIL;
			List	   *filejson = NIL;
			ListCell   *lt,
					   *lf;

			svc->service = SPI_getvalue(stt->vals[i], stt->tupdesc, 1);
			svc->schema = SPI_getvalue(stt->vals[i], stt->tupdesc, 2);
			svc->owner = SPI_getvalue(stt->vals[i], stt->tupdesc, 3);
			svc->pre_file = SPI_getvalue(stt->vals[i], stt->tupdesc, 4);
			svc->post_file = SPI_getvalue(stt->vals[i], stt->tupdesc, 5);
			tables = SPI_getvalue(stt->vals[i], stt->tupdesc, 6);
			svc->group = SPI_getvalue(stt->vals[i], stt->tupdesc, 7);
			if (svc->service == NULL || svc->schema == NULL ||
				svc->pre_file == NULL || svc->post_file == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("manifest of snapshot \"%s\" has a service entry without service, schema, pre_data or post_data",
								snapshot_id),
						 errhint("Check the snapshot with bac.verify_snapshot().")));
			if (tables == NULL)
				tables = "[]";
			tval[0] = CStringGetTextDatum(tables);
			ret = SPI_execute_with_args(
										"SELECT t->>'table', t->'files',"
										" (t->>'rows')::pg_catalog.int8"
										" FROM pg_catalog.jsonb_array_elements($1::pg_catalog.jsonb)"
										" WITH ORDINALITY AS a(t, n) ORDER BY n",
										1, targ, tval, NULL, false, 0);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "could not read manifest tables: %d", ret);
			for (j = 0; j < SPI_processed; j++)
			{
				RestoreTable *t = palloc0(sizeof(RestoreTable));
				char	   *files = BacManifestText(j, 2);
				char	   *rows = BacManifestText(j, 3);

				t->name = BacManifestText(j, 1);
				if (t->name == NULL || files == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("manifest of snapshot \"%s\" has a table entry without table or files in service \"%s\"",
									snapshot_id, svc->service),
							 errhint("Check the snapshot with bac.verify_snapshot().")));
				t->compression = m->compression;
				tabfiles = lappend(tabfiles, t);
				filejson = lappend(filejson, files);
				t->rows = rows ? pg_strtoint64(rows) : -1;
				svc->tables = lappend(svc->tables, t);
			}
			forboth(lt, tabfiles, lf, filejson)
			{
				RestoreTable *t = lfirst(lt);
				uint64		k;

				tval[0] = CStringGetTextDatum((char *) lfirst(lf));
				ret = SPI_execute_with_args(
											"SELECT f FROM pg_catalog.jsonb_array_elements_text($1::pg_catalog.jsonb)"
											" WITH ORDINALITY AS a(f, n) ORDER BY n",
											1, targ, tval, NULL, false, 0);
				if (ret != SPI_OK_SELECT)
					elog(ERROR, "could not read manifest table files: %d", ret);
				for (k = 0; k < SPI_processed; k++)
					t->files = lappend(t->files, BacManifestText(k, 1));
			}
			m->services = lappend(m->services, svc);
		}
	}
	return m;
}

/*
 * BacParseScript
 *		Split a script into raw statements (the server's own grammar), so it
 *		can be checked before any change and run one statement at a time.
 */
static List *
BacParseScript(const char *sql, const char *service, const char *section)
{
	List	   *stmts;

	PG_TRY();
	{
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		errcontext("parsing the %s script of service \"%s\"", section, service);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return stmts;
}

/*
 * BacRoleSpecName
 *		The role name a RoleSpec names literally, or NULL for CURRENT_USER,
 *		PUBLIC and the like.
 */
static const char *
BacRoleSpecName(Node *n)
{
	RoleSpec   *r = (RoleSpec *) n;

	if (n == NULL || !IsA(n, RoleSpec) || r->roletype != ROLESPEC_CSTRING)
		return NULL;
	return r->rolename;
}

static List *BacStatementRoles(Node *stmt);

/*
 * BacDoBlockRoles
 *		The DDL capture names the schema itself only through DO blocks of the
 *		form  DO $bac$BEGIN EXECUTE pg_catalog.format('<statement>',
 *		pg_catalog.current_schema()); END$bac$  (owner, comment, grants of the
 *		schema).  Take the format string out, put a placeholder name in place
 *		of the schema and parse it, to find the roles it names.  Other DO
 *		blocks name no roles we can see.
 */
static List *
BacDoBlockRoles(DoStmt *stmt)
{
	ListCell   *lc;
	const char *body = NULL;
	const char *p;
	StringInfoData fmt;
	List	   *stmts;
	List	   *names = NIL;
	MemoryContext cxt = CurrentMemoryContext;

	foreach(lc, stmt->args)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, "as") == 0)
			body = strVal(d->arg);
	}
	if (body == NULL || (p = strstr(body, "EXECUTE pg_catalog.format(")) == NULL)
		return NIL;
	p += strlen("EXECUTE pg_catalog.format(");
	if (*p == 'E')
		return NIL;				/* backslash escapes: not a form we emit */
	if (*p++ != '\'')
		return NIL;

	/* the literal, with '' for a quote and the format's own escapes */
	initStringInfo(&fmt);
	for (; *p; p++)
	{
		if (*p == '\'')
		{
			if (p[1] != '\'')
				break;
			p++;
			appendStringInfoChar(&fmt, '\'');
		}
		else if (*p == '%' && p[1] == '%')
		{
			appendStringInfoChar(&fmt, '%');
			p++;
		}
		else if (*p == '%' && p[1] == 'I')
		{
			appendStringInfoString(&fmt, "bac_schema");
			p++;
		}
		else if (*p == '%' && strncmp(p, "%1$I", 4) == 0)
		{
			appendStringInfoString(&fmt, "bac_schema");
			p += 3;
		}
		else
			appendStringInfoChar(&fmt, *p);
	}
	if (*p != '\'')
		return NIL;

	PG_TRY();
	{
		stmts = raw_parser(fmt.data, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		/* not a statement we understand: no roles seen */
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		stmts = NIL;
	}
	PG_END_TRY();
	foreach(lc, stmts)
		names = list_concat(names, BacStatementRoles(((RawStmt *) lfirst(lc))->stmt));
	return names;
}

/*
 * BacStatementRoles
 *		Role names a statement of a pre/post-data script names: new owners,
 *		grantees, policy roles, default privilege roles.
 */
static List *
BacStatementRoles(Node *stmt)
{
	List	   *names = NIL;
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_AlterOwnerStmt:
			names = lappend(names, (void *) BacRoleSpecName((Node *) ((AlterOwnerStmt *) stmt)->newowner));
			break;
		case T_AlterTableStmt:
			foreach(lc, ((AlterTableStmt *) stmt)->cmds)
			{
				AlterTableCmd *cmd = lfirst(lc);

				if (cmd->subtype == AT_ChangeOwner)
					names = lappend(names, (void *) BacRoleSpecName((Node *) cmd->newowner));
			}
			break;
		case T_GrantStmt:
			foreach(lc, ((GrantStmt *) stmt)->grantees)
				names = lappend(names, (void *) BacRoleSpecName(lfirst(lc)));
			break;
		case T_AlterDefaultPrivilegesStmt:
			{
				AlterDefaultPrivilegesStmt *a = (AlterDefaultPrivilegesStmt *) stmt;

				foreach(lc, a->options)
				{
					DefElem    *d = lfirst(lc);

					if (strcmp(d->defname, "roles") == 0)
					{
						ListCell   *lr;

						foreach(lr, (List *) d->arg)
							names = lappend(names, (void *) BacRoleSpecName(lfirst(lr)));
					}
				}
				foreach(lc, a->action->grantees)
					names = lappend(names, (void *) BacRoleSpecName(lfirst(lc)));
			}
			break;
		case T_CreatePolicyStmt:
			foreach(lc, ((CreatePolicyStmt *) stmt)->roles)
				names = lappend(names, (void *) BacRoleSpecName(lfirst(lc)));
			break;
		case T_AlterPolicyStmt:
			foreach(lc, ((AlterPolicyStmt *) stmt)->roles)
				names = lappend(names, (void *) BacRoleSpecName(lfirst(lc)));
			break;
		case T_DoStmt:
			names = BacDoBlockRoles((DoStmt *) stmt);
			break;
		case T_VariableSetStmt:
			{
				/* SET ROLE r / SET SESSION AUTHORIZATION r (grants by r) */
				VariableSetStmt *v = (VariableSetStmt *) stmt;

				if (v->kind == VAR_SET_VALUE && v->name &&
					(strcmp(v->name, "role") == 0 ||
					 strcmp(v->name, "session_authorization") == 0) &&
					list_length(v->args) == 1 &&
					IsA(linitial(v->args), A_Const) &&
					IsA(&((A_Const *) linitial(v->args))->val, String))
					names = lappend(names,
									strVal(&((A_Const *) linitial(v->args))->val));
			}
			break;
		default:
			break;
	}
	return names;
}

/*
 * BacCollectRoles
 *		Add to *roles (char *, no duplicates) the roles named by stmts that do
 *		not exist in this cluster.
 */
static void
BacCollectRoles(List *stmts, List **roles)
{
	ListCell   *lc;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst(lc);
		ListCell   *ln;

		foreach(ln, BacStatementRoles(raw->stmt))
		{
			const char *name = lfirst(ln);
			ListCell   *lr;
			bool		seen = false;

			if (name == NULL || OidIsValid(get_role_oid(name, true)))
				continue;
			foreach(lr, *roles)
				if (strcmp(lfirst(lr), name) == 0)
					seen = true;
			if (!seen)
				*roles = lappend(*roles, pstrdup(name));
		}
	}
}

/*
 * BacStatementUsesMissingRole
 *		Does the statement name a role that does not exist here?
 */
static bool
BacStatementUsesMissingRole(Node *stmt)
{
	ListCell   *lc;

	foreach(lc, BacStatementRoles(stmt))
	{
		const char *name = lfirst(lc);

		if (name != NULL && !OidIsValid(get_role_oid(name, true)))
			return true;
	}
	return false;
}

/*
 * BacScriptErrorContext
 *		Error context: which statement of which script failed.
 */
static void
BacScriptErrorContext(void *arg)
{
	ScriptContext *c = arg;
	int			len = strlen(c->stmt);

	errcontext("%s script of service \"%s\", statement: %.*s%s",
			   c->section, c->service, Min(len, 200), c->stmt,
			   len > 200 ? "..." : "");
}

/*
 * BacRunScript
 *		Run a parsed script statement by statement through SPI with
 *		search_path set to the target schema (and check_function_bodies off,
 *		as pg_restore does), in a GUC nest level undone afterwards.  With
 *		missing_roles = current_user, statements that name roles missing here
 *		(owner changes, grants) are skipped: the objects stay owned by the
 *		current user, who created them.
 */
static void
BacRunScript(RestoreService *svc, const char *section, const char *sql,
			 List *stmts, BacMissingRoles mr)
{
	int			nestlevel = NewGUCNestLevel();
	ErrorContextCallback errcb;
	ScriptContext ctx;
	ListCell   *lc;
	int			skipped = 0;
	instr_time	start,
				elapsed;

	INSTR_TIME_SET_CURRENT(start);
	(void) set_config_option("search_path", quote_identifier(svc->target),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	(void) set_config_option("check_function_bodies", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	/* a SET ROLE in a script (grants made by another grantor) ends with it */
	(void) set_config_option("role", GetConfigOption("role", false, false),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	ctx.service = svc->service;
	ctx.section = section;
	errcb.callback = BacScriptErrorContext;
	errcb.arg = &ctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst(lc);
		int			len = raw->stmt_len > 0 ? raw->stmt_len :
		(int) strlen(sql + raw->stmt_location);
		char	   *one = pnstrdup(sql + raw->stmt_location, len);
		int			ret;

		CHECK_FOR_INTERRUPTS();
		ctx.stmt = one;
		if (mr == BAC_ROLES_CURRENT_USER &&
			BacStatementUsesMissingRole(raw->stmt))
		{
			skipped++;
			pfree(one);
			continue;
		}
		ret = SPI_execute(one, false, 0);
		if (ret < 0)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		SPI_freetuptable(SPI_tuptable);
		pfree(one);
	}

	error_context_stack = errcb.previous;
	AtEOXact_GUC(true, nestlevel);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	ereport(NOTICE,
			(errmsg("ran the %s script of service \"%s\": %d statements in %.3f s",
					section, svc->service, list_length(stmts) - skipped,
					INSTR_TIME_GET_DOUBLE(elapsed))));

	if (skipped > 0)
		ereport(NOTICE,
				(errmsg("skipped %d statements of the %s script of service \"%s\" that name missing roles",
						skipped, section, svc->service),
				 errdetail("missing_roles => 'current_user': the objects stay owned by %s and the grants to missing roles are not made.",
						   GetUserNameFromId(GetUserId(), false))));
}

/*
 * BacCheckForeignDependents
 *		Refuse, listing them, when objects outside the schemas being replaced
 *		depend on objects inside them (views, foreign keys, functions, types,
 *		sequences owned by outside columns, ...).  Moving the schema aside
 *		would leave those objects pointing at the old copy, dropping it would
 *		cascade into another service; neither is acceptable.
 */
static void
BacCheckForeignDependents(List *services)
{
	StringInfoData nsps;
	StringInfoData sql;
	StringInfoData list;
	ListCell   *lc;
	int			ret;
	uint64		i;
	bool		any = false;

	initStringInfo(&nsps);
	foreach(lc, services)
	{
		RestoreService *svc = lfirst(lc);

		if (!OidIsValid(svc->live_nsp))
			continue;
		appendStringInfo(&nsps, "%s%u", any ? "," : "", svc->live_nsp);
		any = true;
	}
	if (!any)
		return;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH ours(nsp) AS (SELECT pg_catalog.unnest('{%s}'::pg_catalog.oid[])),"
					 " objs(cls, oid) AS ("
					 "  SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, nsp FROM ours"
					 "  UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, oid FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, oid FROM pg_catalog.pg_type WHERE typnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, oid FROM pg_catalog.pg_proc WHERE pronamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, oid FROM pg_catalog.pg_constraint WHERE connamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, oid FROM pg_catalog.pg_operator WHERE oprnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, oid FROM pg_catalog.pg_collation WHERE collnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_opfamily'::pg_catalog.regclass, oid FROM pg_catalog.pg_opfamily WHERE opfnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_opclass'::pg_catalog.regclass, oid FROM pg_catalog.pg_opclass WHERE opcnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass, oid FROM pg_catalog.pg_conversion WHERE connamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, oid FROM pg_catalog.pg_statistic_ext WHERE stxnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_ts_config'::pg_catalog.regclass, oid FROM pg_catalog.pg_ts_config WHERE cfgnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, oid FROM pg_catalog.pg_ts_dict WHERE dictnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_ts_parser'::pg_catalog.regclass, oid FROM pg_catalog.pg_ts_parser WHERE prsnamespace IN (SELECT nsp FROM ours)"
					 "  UNION ALL SELECT 'pg_catalog.pg_ts_template'::pg_catalog.regclass, oid FROM pg_catalog.pg_ts_template WHERE tmplnamespace IN (SELECT nsp FROM ours)),"
					 " dep AS ("
					 "  SELECT d.classid, d.objid, d.objsubid, d.refclassid, d.refobjid, d.refobjsubid,"
					 "   CASE d.classid"
					 "    WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN (SELECT typnamespace FROM pg_catalog.pg_type WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN (SELECT pronamespace FROM pg_catalog.pg_proc WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT connamespace FROM pg_catalog.pg_constraint WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_operator'::pg_catalog.regclass THEN (SELECT oprnamespace FROM pg_catalog.pg_operator WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_collation'::pg_catalog.regclass THEN (SELECT collnamespace FROM pg_catalog.pg_collation WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_conversion'::pg_catalog.regclass THEN (SELECT connamespace FROM pg_catalog.pg_conversion WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_opclass'::pg_catalog.regclass THEN (SELECT opcnamespace FROM pg_catalog.pg_opclass WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_opfamily'::pg_catalog.regclass THEN (SELECT opfnamespace FROM pg_catalog.pg_opfamily WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass THEN (SELECT stxnamespace FROM pg_catalog.pg_statistic_ext WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_ts_config'::pg_catalog.regclass THEN (SELECT cfgnamespace FROM pg_catalog.pg_ts_config WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_ts_dict'::pg_catalog.regclass THEN (SELECT dictnamespace FROM pg_catalog.pg_ts_dict WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid WHERE t.oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_attrdef a JOIN pg_catalog.pg_class c ON c.oid = a.adrelid WHERE a.oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid WHERE p.oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_default_acl'::pg_catalog.regclass THEN (SELECT defaclnamespace FROM pg_catalog.pg_default_acl WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_ts_parser'::pg_catalog.regclass THEN (SELECT prsnamespace FROM pg_catalog.pg_ts_parser WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_ts_template'::pg_catalog.regclass THEN (SELECT tmplnamespace FROM pg_catalog.pg_ts_template WHERE oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_amop'::pg_catalog.regclass THEN (SELECT f.opfnamespace FROM pg_catalog.pg_amop o JOIN pg_catalog.pg_opfamily f ON f.oid = o.amopfamily WHERE o.oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_amproc'::pg_catalog.regclass THEN (SELECT f.opfnamespace FROM pg_catalog.pg_amproc p JOIN pg_catalog.pg_opfamily f ON f.oid = p.amprocfamily WHERE p.oid = d.objid)"
					 "    WHEN 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN d.objid"
					 "   END AS depnsp,"
					 "   d.refclassid AS r"
					 "  FROM pg_catalog.pg_depend d"
					 "  JOIN objs o ON o.cls = d.refclassid AND o.oid = d.refobjid"
					 "  WHERE d.deptype IN ('n', 'a'))"
					 " SELECT DISTINCT pg_catalog.pg_describe_object(classid, objid, 0),"
					 "  pg_catalog.pg_describe_object(refclassid, refobjid, 0)"
					 " FROM dep"
					 " WHERE depnsp IS NULL OR depnsp NOT IN (SELECT nsp FROM ours)"
					 " ORDER BY 1, 2 LIMIT 51",
					 nsps.data);
	ret = SPI_execute(sql.data, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "dependency query failed: %d", ret);
	if (SPI_processed == 0)
		return;

	initStringInfo(&list);
	for (i = 0; i < SPI_processed && i < 50; i++)
		appendStringInfo(&list, "\n%s depends on %s",
						 BacManifestText(i, 1), BacManifestText(i, 2));
	if (SPI_processed > 50)
		appendStringInfoString(&list, "\nand more");
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("cannot restore in place: objects outside the restored schemas depend on them"),
			 errdetail("Objects of other schemas would be left pointing at the replaced objects:%s",
					   list.data),
			 errhint("Drop or move these objects first, restore the depending services together with bac.restore_group(), or restore beside the live schema with into_schema.")));
}

/*
 * BacLockSchema
 *		Lock a schema against concurrent creation of objects in it, then
 *		every relation in it with ACCESS EXCLUSIVE, in OID order.  These are
 *		ordinary heavyweight lock waits: lock_timeout and cancel apply.
 *		Nothing outside the schema is locked.
 */
static void
BacLockSchema(Oid nspoid, const char *name)
{
	int			ret;
	uint64		i;
	char	   *sql;

	LockDatabaseObject(NamespaceRelationId, nspoid, 0, AccessExclusiveLock);
	AcceptInvalidationMessages();
	if (get_namespace_oid(name, true) != nspoid)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("schema \"%s\" was replaced while the restore waited for its lock",
						name),
				 errdetail("Another transaction renamed, dropped or restored the schema."),
				 errhint("Run the restore again.")));
	sql = psprintf("SELECT oid FROM pg_catalog.pg_class WHERE relnamespace = %u"
				   " AND relkind IN ('r', 'p', 'm', 'S', 'v', 'f')"
				   " ORDER BY oid", nspoid);
	ret = SPI_execute(sql, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not list relations of schema %u", nspoid);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc,
														   1, &isnull));

		CHECK_FOR_INTERRUPTS();
		LockRelationOid(relid, AccessExclusiveLock);
	}
	/* the catalog may have changed while we waited */
	AcceptInvalidationMessages();
}

/*
 * BacAsideName
 *		Name for the live schema while (keep_previous) or until the end of
 *		(otherwise) the restore.  keep_previous: <schema>_before_<id>, or when
 *		that exceeds NAMEDATALEN - 1 bytes, a deterministic shorter name:
 *		the schema name clipped, an 8-hex-digit hash of the full schema name,
 *		then _before_<id>.
 */
static char *
BacAsideName(const char *schema, const char *snapshot_id, bool keep_previous)
{
	char	   *suffix;
	char	   *name;
	int			room;

	if (!keep_previous)
		return psprintf("bac_replaced_%d_%u", MyProcPid,
						get_namespace_oid(schema, false));

	suffix = psprintf("_before_%s", snapshot_id);
	name = psprintf("%s%s", schema, suffix);
	if (strlen(name) < NAMEDATALEN)
		return name;

	room = NAMEDATALEN - 1 - strlen(suffix) - 9;
	if (room < 1)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("cannot name the previous schema of \"%s\" after snapshot \"%s\"",
						schema, snapshot_id),
				 errdetail("The snapshot id is too long for a schema name of at most %d bytes.",
						   NAMEDATALEN - 1),
				 errhint("Use keep_previous => false, or into_schema.")));
	room = pg_mbcliplen(schema, strlen(schema), room);
	return psprintf("%.*s_%08x%s", room, schema,
					hash_bytes((const unsigned char *) schema, strlen(schema)),
					suffix);
}

/*
 * BacBecomeAdmin
 *		Unless the caller is a superuser, act as the owner of the extension
 *		(SECURITY_LOCAL_USERID_CHANGE) until the caller restores the saved
 *		user id.  Used only after BacCheckSchemaPrivilege, for commands whose
 *		names the restore fixes itself, and for the report's counting
 *		queries (which read other services' tables the caller may not read:
 *		the report shows only counts).
 */
static void
BacBecomeAdmin(void)
{
	Oid			save_userid;
	int			save_sec;
	Oid			extowner = InvalidOid;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	if (superuser())
		return;
	GetUserIdAndSecContext(&save_userid, &save_sec);
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("pg_bac"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		extowner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(extowner))
		elog(ERROR, "extension pg_bac is not installed");
	SetUserIdAndSecContext(extowner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
}

/*
 * BacSchemaCommand
 *		Run a command on a whole schema (rename, create, drop).  In place,
 *		these need the CREATE privilege on the database, which the owner of
 *		a service schema normally lacks; BacCheckSchemaPrivilege has already
 *		established that the caller owns the schema (or is a superuser), so
 *		with as_admin the command runs as the owner of the extension, for
 *		this one statement only (SECURITY_LOCAL_USERID_CHANGE).  The names
 *		in the command are fixed by the restore, never taken from a script.
 */
static void
BacSchemaCommand(const char *sql, bool as_admin)
{
	Oid			save_userid;
	int			save_sec;
	int			ret;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (as_admin)
		BacBecomeAdmin();
	PG_TRY();
	{
		ret = SPI_execute(sql, false, 0);
		if (ret < 0)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}

/*
 * BacLoadData
 *		COPY every data file of the service into its freshly created tables.
 */
static void
BacLoadData(RestoreManifest *m, RestoreService *svc)
{
	ListCell   *lc;
	const char *encoding = NULL;

	if (m->encoding != NULL &&
		pg_strcasecmp(m->encoding, GetDatabaseEncodingName()) != 0)
		encoding = m->encoding;

	foreach(lc, svc->tables)
	{
		RestoreTable *t = lfirst(lc);
		Oid			relid;
		uint64		rows;
		bool		frozen;
		char	   *path;
		ListCell   *lf;
		instr_time	start,
					elapsed;

		CHECK_FOR_INTERRUPTS();
		relid = get_relname_relid(t->name, get_namespace_oid(svc->target, false));
		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("table \"%s\" of snapshot \"%s\" was not created by the pre-data script of service \"%s\"",
							t->name, m->snapshot_id, svc->service),
					 errhint("The snapshot is inconsistent; check it with bac.verify_snapshot().")));
		INSTR_TIME_SET_CURRENT(start);
		rows = 0;
		frozen = true;
		foreach(lf, t->files)
		{
			bool		f;

			path = psprintf("%s/%s", m->dir, (char *) lfirst(lf));
			rows += BacCopyIn(relid, path, t->compression, encoding, true, &f);
			frozen = frozen && f;
		}
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		if (t->rows >= 0 && (int64) rows != t->rows)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("data files of table \"%s\" in snapshot \"%s\" hold %llu rows, the manifest says %lld",
							t->name, m->snapshot_id, (unsigned long long) rows,
							(long long) t->rows),
					 errhint("Nothing was changed.  Restore from another snapshot.")));
		ereport(NOTICE,
				(errmsg("restored table %s.%s: %llu rows in %.3f s%s",
						quote_identifier(svc->target), quote_identifier(t->name),
						(unsigned long long) rows,
						INSTR_TIME_GET_DOUBLE(elapsed),
						frozen ? " (frozen)" : "")));
	}
}

/*
 * BacReportValues
 *		Append one row to the report.
 */
static void
BacReportValues(Tuplestorestate *ts, TupleDesc desc, const char *link,
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
 * BacCountQuery
 *		Run a query returning one bigint (or two) and return them.
 */
static void
BacCountQuery(const char *sql, int64 *a, int64 *b)
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
 * BacReportLinks
 *		One report row per registered link (bac.links, declared and
 *		discovered) with an end in a restored schema: broken = referencing
 *		rows whose key (no NULL in it) has no referenced row; orphaned =
 *		referenced rows nothing refers to (only for links with
 *		orphans_matter, NULL otherwise).  For into_schema restores the link
 *		is evaluated with the restored copy in place of the live tables.
 *		Returns the total of broken links.
 */
static int64
BacReportLinks(List *services, Tuplestorestate *ts, TupleDesc desc)
{
	int			ret;
	uint64		nlinks,
				i;
	SPITupleTable *ltt;
	int64		total = 0;

	if (!OidIsValid(get_relname_relid("links", get_namespace_oid("bac", false))))
		return 0;

	ret = SPI_execute("SELECT l.link::pg_catalog.text, fn.nspname::pg_catalog.text, fc.relname::pg_catalog.text,"
					  " l.from_columns::pg_catalog.text[], tn.nspname::pg_catalog.text, tc.relname::pg_catalog.text,"
					  " l.to_columns::pg_catalog.text[], l.orphans_matter,"
					  " l.from_service::pg_catalog.text, l.to_service::pg_catalog.text"
					  " FROM bac.links l"
					  " LEFT JOIN pg_catalog.pg_class fc ON fc.oid = l.from_table"
					  " LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace"
					  " LEFT JOIN pg_catalog.pg_class tc ON tc.oid = l.to_table"
					  " LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace"
					  " ORDER BY 1", false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read bac.links");
	nlinks = SPI_processed;
	ltt = SPI_tuptable;

	for (i = 0; i < nlinks; i++)
	{
		char	   *link = SPI_getvalue(ltt->vals[i], ltt->tupdesc, 1);
		char	   *fnsp = SPI_getvalue(ltt->vals[i], ltt->tupdesc, 2);
		char	   *frel = SPI_getvalue(ltt->vals[i], ltt->tupdesc, 3);
		char	   *tnsp = SPI_getvalue(ltt->vals[i], ltt->tupdesc, 5);
		char	   *trel = SPI_getvalue(ltt->vals[i], ltt->tupdesc, 6);
		bool		isnull;
		bool		orphans_matter = DatumGetBool(SPI_getbinval(ltt->vals[i], ltt->tupdesc, 8, &isnull));
		ArrayType  *fcols = DatumGetArrayTypeP(SPI_getbinval(ltt->vals[i], ltt->tupdesc, 4, &isnull));
		ArrayType  *tcols = DatumGetArrayTypeP(SPI_getbinval(ltt->vals[i], ltt->tupdesc, 7, &isnull));
		Datum	   *fc,
				   *tc;
		int			nf,
					nt,
					k;
		bool		from_ours = false,
					to_ours = false;
		ListCell   *lc;
		StringInfoData cond,
					notnull,
					tnotnull,
					sql,
					detail;
		int64		broken,
					orphaned = 0;
		const char *direction;

		CHECK_FOR_INTERRUPTS();
		if (fnsp == NULL || tnsp == NULL)
		{
			char	   *fsvc = SPI_getvalue(ltt->vals[i], ltt->tupdesc, 9);
			char	   *tsvc = SPI_getvalue(ltt->vals[i], ltt->tupdesc, 10);

			foreach(lc, services)
			{
				RestoreService *svc = lfirst(lc);

				if ((fsvc && strcmp(fsvc, svc->service) == 0) ||
					(tsvc && strcmp(tsvc, svc->service) == 0))
				{
					BacReportValues(ts, desc, link,
									(fsvc && strcmp(fsvc, svc->service) == 0) ?
									"outgoing" : "incoming",
									0, true, 0, true,
									"cannot be checked: one of its tables does not exist after the restore");
					break;
				}
			}
			continue;
		}
		foreach(lc, services)
		{
			RestoreService *svc = lfirst(lc);

			if ((svc->live_name && strcmp(fnsp, svc->live_name) == 0) ||
				strcmp(fnsp, svc->target) == 0 ||
				(svc->aside && strcmp(fnsp, svc->aside) == 0))
			{
				fnsp = svc->target;
				from_ours = true;
			}
			if ((svc->live_name && strcmp(tnsp, svc->live_name) == 0) ||
				strcmp(tnsp, svc->target) == 0 ||
				(svc->aside && strcmp(tnsp, svc->aside) == 0))
			{
				tnsp = svc->target;
				to_ours = true;
			}
		}
		if (!from_ours && !to_ours)
			continue;
		direction = (from_ours && to_ours) ? "internal" :
			from_ours ? "outgoing" : "incoming";

		deconstruct_array(fcols, TEXTOID, -1, false, TYPALIGN_INT, &fc, NULL, &nf);
		deconstruct_array(tcols, TEXTOID, -1, false, TYPALIGN_INT, &tc, NULL, &nt);
		initStringInfo(&cond);
		initStringInfo(&notnull);
		initStringInfo(&tnotnull);
		for (k = 0; k < nf && k < nt; k++)
		{
			const char *f = quote_identifier(TextDatumGetCString(fc[k]));
			const char *t = quote_identifier(TextDatumGetCString(tc[k]));

			appendStringInfo(&cond, "%st.%s = f.%s", k ? " AND " : "", t, f);
			appendStringInfo(&notnull, "%sf.%s IS NOT NULL", k ? " AND " : "", f);
			appendStringInfo(&tnotnull, "%st.%s IS NOT NULL", k ? " AND " : "", t);
		}

		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT pg_catalog.count(*) FROM %s.%s f WHERE %s"
						 " AND NOT EXISTS (SELECT 1 FROM %s.%s t WHERE %s)",
						 quote_identifier(fnsp), quote_identifier(frel), notnull.data,
						 quote_identifier(tnsp), quote_identifier(trel), cond.data);
		BacCountQuery(sql.data, &broken, NULL);
		if (orphans_matter)
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "SELECT pg_catalog.count(*) FROM %s.%s t WHERE %s"
							 " AND NOT EXISTS (SELECT 1 FROM %s.%s f WHERE %s)",
							 quote_identifier(tnsp), quote_identifier(trel),
							 tnotnull.data,
							 quote_identifier(fnsp), quote_identifier(frel), cond.data);
			BacCountQuery(sql.data, &orphaned, NULL);
		}
		total += broken;

		initStringInfo(&detail);
		appendStringInfo(&detail, "%s.%s -> %s.%s: %lld broken",
						 quote_identifier(fnsp), quote_identifier(frel),
						 quote_identifier(tnsp), quote_identifier(trel),
						 (long long) broken);
		if (orphans_matter)
			appendStringInfo(&detail, ", %lld orphaned", (long long) orphaned);
		else
			appendStringInfoString(&detail, ", orphans not tracked (orphans_matter is false)");
		BacReportValues(ts, desc, link, direction, broken, false,
						orphaned, !orphans_matter, detail.data);
	}
	return total;
}

/*
 * BacReportRows
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
static void
BacReportRows(RestoreService *svc, Tuplestorestate *ts, TupleDesc desc)
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
		return;
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

		CHECK_FOR_INTERRUPTS();
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
						   "  FROM (SELECT pg_catalog.hashtextextended(o::pg_catalog.text, 0) AS h FROM %s.%s o) s)"
						   " IS NOT DISTINCT FROM"
						   " (SELECT ROW(pg_catalog.count(*), pg_catalog.sum(h), pg_catalog.bit_xor(h))"
						   "  FROM (SELECT pg_catalog.hashtextextended(n::pg_catalog.text, 0) AS h FROM %s.%s n) s)"
						   " THEN 1 ELSE 0 END::pg_catalog.int8, 0::pg_catalog.int8",
						   quote_identifier(cur), quote_identifier(rel),
						   quote_identifier(svc->target), quote_identifier(rel));
			BacCountQuery(sql, &same, &dummy);
		}
		if (in_cur && in_new && same)
			detail = psprintf("table %s: 0 rows discarded (changed or inserted since the snapshot), 0 rows brought back (changed or deleted since)",
							  quote_identifier(rel));
		else if (in_cur && in_new)
		{
			sql = psprintf("SELECT COALESCE(pg_catalog.sum(d) FILTER (WHERE d > 0), 0)::pg_catalog.int8,"
						   " COALESCE(-pg_catalog.sum(d) FILTER (WHERE d < 0), 0)::pg_catalog.int8"
						   " FROM (SELECT pg_catalog.sum(c) AS d FROM ("
						   "  SELECT pg_catalog.hashtextextended(o::pg_catalog.text, 0) AS h, 1 AS c FROM %s.%s o"
						   "  UNION ALL"
						   "  SELECT pg_catalog.hashtextextended(n::pg_catalog.text, 0), -1 FROM %s.%s n) u"
						   " GROUP BY h) g",
						   quote_identifier(cur), quote_identifier(rel),
						   quote_identifier(svc->target), quote_identifier(rel));
			BacCountQuery(sql, &discarded, &back);
			detail = psprintf("table %s: %lld rows discarded (changed or inserted since the snapshot), %lld rows brought back (changed or deleted since)",
							  quote_identifier(rel), (long long) discarded, (long long) back);
		}
		else if (in_cur)
		{
			sql = psprintf("SELECT pg_catalog.count(*) FROM %s.%s",
						   quote_identifier(cur), quote_identifier(rel));
			BacCountQuery(sql, &discarded, NULL);
			detail = psprintf("table %s: not in the snapshot, its %lld rows are discarded",
							  quote_identifier(rel), (long long) discarded);
		}
		else
		{
			sql = psprintf("SELECT pg_catalog.count(*) FROM %s.%s",
						   quote_identifier(svc->target), quote_identifier(rel));
			BacCountQuery(sql, &back, NULL);
			detail = psprintf("table %s: absent now, %lld rows brought back",
							  quote_identifier(rel), (long long) back);
		}
		BacReportValues(ts, desc, rel, "rows", 0, true, 0, true, detail);
	}
}

/*
 * BacReport
 *		The consequences report; returns the total of broken links.
 */
static int64
BacReport(List *services, Tuplestorestate *ts, TupleDesc desc)
{
	int64		broken = BacReportLinks(services, ts, desc);
	ListCell   *lc;

	foreach(lc, services)
		BacReportRows((RestoreService *) lfirst(lc), ts, desc);
	return broken;
}

/*
 * BacRestoreServices
 *		The restore proper; see the file header for the order of steps.  The
 *		caller is connected to SPI.
 */
static void
BacRestoreServices(RestoreManifest *m, List *services, const char *into_schema,
				   bool keep_previous, bool dry_run, BacOnBroken on_broken,
				   BacMissingRoles missing_roles, Tuplestorestate *ts,
				   TupleDesc desc)
{
	ListCell   *lc;
	List	   *missing = NIL;
	List	   *paths = NIL;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	int64		broken;

	/* targets, privileges */
	foreach(lc, services)
	{
		RestoreService *svc = lfirst(lc);

		svc->target = into_schema ? pstrdup(into_schema) : svc->schema;
		svc->live_nsp = get_namespace_oid(svc->schema, true);
		if (OidIsValid(svc->live_nsp))
		{
			HeapTuple	tup = SearchSysCache1(NAMESPACEOID,
											  ObjectIdGetDatum(svc->live_nsp));

			if (!HeapTupleIsValid(tup))
				elog(ERROR, "cache lookup failed for schema %u", svc->live_nsp);
			svc->live_owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
			ReleaseSysCache(tup);
		}
		svc->live_name = OidIsValid(svc->live_nsp) ? svc->schema : NULL;
		if (OidIsValid(svc->live_nsp))
			BacCheckSchemaPrivilege(svc->live_nsp, "restore");
		else if (!superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to restore service \"%s\"",
							svc->service),
					 errdetail("Schema \"%s\" does not exist here; only a superuser may recreate it.",
							   svc->schema),
					 errhint("Ask a superuser to restore it, or to create the schema with you as its owner.")));
		if (into_schema && OidIsValid(get_namespace_oid(into_schema, true)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_SCHEMA),
					 errmsg("schema \"%s\" already exists", into_schema),
					 errdetail("into_schema must name a schema that does not exist yet."),
					 errhint("Choose another name, or drop that schema first.")));
	}

	/* verify every file we will read, read and parse the scripts */
	foreach(lc, services)
	{
		RestoreService *svc = lfirst(lc);
		ListCell   *lt;

		paths = lappend(paths, svc->pre_file);
		paths = lappend(paths, svc->post_file);
		foreach(lt, svc->tables)
			paths = list_concat(paths, ((RestoreTable *) lfirst(lt))->files);
	}
	/* size and SHA-256 of every file to be read, before any change */
	BacVerifyFilesOrError(m->archive, paths);
	foreach(lc, services)
	{
		RestoreService *svc = lfirst(lc);

		svc->pre_sql = BacReadWholeFile(psprintf("%s/%s", m->dir, svc->pre_file),
										"snapshot script");
		svc->post_sql = BacReadWholeFile(psprintf("%s/%s", m->dir, svc->post_file),
										 "snapshot script");
		svc->pre_stmts = BacParseScript(svc->pre_sql, svc->service, "pre-data");
		svc->post_stmts = BacParseScript(svc->post_sql, svc->service, "post-data");
		if (svc->owner && !OidIsValid(get_role_oid(svc->owner, true)))
			missing = lappend(missing, svc->owner);
		BacCollectRoles(svc->pre_stmts, &missing);
		BacCollectRoles(svc->post_stmts, &missing);
	}
	if (missing != NIL && missing_roles == BAC_ROLES_ERROR)
	{
		StringInfoData names;

		initStringInfo(&names);
		foreach(lc, missing)
			appendStringInfo(&names, "%s%s", foreach_current_index(lc) ? ", " : "",
							 quote_identifier(lfirst(lc)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("roles of snapshot \"%s\" do not exist here: %s",
						m->snapshot_id, names.data),
				 errdetail("The snapshot makes these roles owners or grantees of restored objects."),
				 errhint("Create the roles first, or pass missing_roles => 'current_user' to leave the objects owned by the current user without those grants.")));
	}

	if (dry_run)
	{
		BeginInternalSubTransaction("bac_restore_dry_run");
		MemoryContextSwitchTo(oldcxt);
	}

	PG_TRY();
	{
		/* in place: lock, check dependents, move aside */
		if (into_schema == NULL)
		{
			foreach(lc, services)
			{
				RestoreService *svc = lfirst(lc);

				if (OidIsValid(svc->live_nsp))
					BacLockSchema(svc->live_nsp, svc->schema);
			}
			BacCheckForeignDependents(services);
			foreach(lc, services)
			{
				RestoreService *svc = lfirst(lc);

				if (!OidIsValid(svc->live_nsp))
					continue;
				svc->aside = BacAsideName(svc->schema, m->snapshot_id,
										  keep_previous);
				if (OidIsValid(get_namespace_oid(svc->aside, true)))
					ereport(ERROR,
							(errcode(ERRCODE_DUPLICATE_SCHEMA),
							 errmsg("schema \"%s\" already exists", svc->aside),
							 errdetail("The live schema \"%s\" would be kept under that name.",
									   svc->schema),
							 errhint("Drop schema \"%s\" first, or pass keep_previous => false.",
									 svc->aside)));
				BacSchemaCommand(psprintf("ALTER SCHEMA %s RENAME TO %s",
										  quote_identifier(svc->schema),
										  quote_identifier(svc->aside)), true);
				ereport(NOTICE,
						(errmsg("schema %s moved aside as %s",
								quote_identifier(svc->schema),
								quote_identifier(svc->aside))));
			}
		}

		/* create, pre-data for all; then data; then post-data */
		foreach(lc, services)
		{
			RestoreService *svc = lfirst(lc);

			if (OidIsValid(svc->live_nsp) && into_schema == NULL)
			{
				/* the same owner as the schema it replaces */
				BacSchemaCommand(psprintf("CREATE SCHEMA %s AUTHORIZATION %s",
										  quote_identifier(svc->target),
										  quote_identifier(GetUserNameFromId(svc->live_owner, false))),
								 true);
			}
			else
				BacSchemaCommand(psprintf("CREATE SCHEMA %s",
										  quote_identifier(svc->target)), false);
			BacRunScript(svc, "pre-data", svc->pre_sql, svc->pre_stmts,
						 missing_roles);
		}
		foreach(lc, services)
			BacLoadData(m, (RestoreService *) lfirst(lc));
		foreach(lc, services)
		{
			RestoreService *svc = lfirst(lc);

			BacRunScript(svc, "post-data", svc->post_sql, svc->post_stmts,
						 missing_roles);
			ereport(NOTICE,
					(errmsg("service \"%s\" restored into schema %s from snapshot \"%s\"",
							svc->service, quote_identifier(svc->target),
							m->snapshot_id)));
		}

		{
			Oid			save_userid;
			int			save_sec;

			instr_time	start,
						elapsed;

			INSTR_TIME_SET_CURRENT(start);
			GetUserIdAndSecContext(&save_userid, &save_sec);
			BacBecomeAdmin();
			broken = BacReport(services, ts, desc);
			SetUserIdAndSecContext(save_userid, save_sec);
			INSTR_TIME_SET_CURRENT(elapsed);
			INSTR_TIME_SUBTRACT(elapsed, start);
			ereport(NOTICE,
					(errmsg("computed the consequences report in %.3f s",
							INSTR_TIME_GET_DOUBLE(elapsed))));
		}

		if (broken > 0 && on_broken == BAC_BROKEN_ERROR && !dry_run)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("restore would leave %lld broken links", (long long) broken),
					 errdetail("Rows of one service would refer to rows of another that do not exist."),
					 errhint("Run it with dry_run => true to see the report, restore the linked services together with bac.restore_group(), or pass on_broken_links => 'warn'.")));
		if (broken > 0 && on_broken != BAC_BROKEN_IGNORE)
			ereport(WARNING,
					(errmsg(dry_run ? "the restore would leave %lld broken links" :
							"the restore leaves %lld broken links",
							(long long) broken),
					 errhint("See the rows with direction 'outgoing' or 'incoming' of the report.")));

		/* the old copies go when not kept */
		if (!keep_previous && into_schema == NULL)
		{
			int			nestlevel = NewGUCNestLevel();

			(void) set_config_option("client_min_messages", "warning",
									 PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
			foreach(lc, services)
			{
				RestoreService *svc = lfirst(lc);

				if (svc->aside)
					BacSchemaCommand(psprintf("DROP SCHEMA %s CASCADE",
											  quote_identifier(svc->aside)),
									 true);
			}
			AtEOXact_GUC(true, nestlevel);
		}
	}
	PG_CATCH();
	{
		if (dry_run)
		{
			/*
			 * Roll the internal subtransaction back here, then rethrow: the
			 * caller's transaction sees one ordinary error.
			 */
			ErrorData  *edata;

			MemoryContextSwitchTo(oldcxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
			ReThrowError(edata);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (dry_run)
	{
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ereport(NOTICE,
				(errmsg("dry run: nothing was changed")));
	}
}

/*
 * BacSafeSearchPath
 *		Run the restore's own queries with search_path = pg_catalog, pg_temp
 *		(in a new GUC nest level, returned), so no object of the caller's
 *		search_path can capture an operator or function they use; and
 *		without JIT.
 */
static int
BacSafeSearchPath(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	/* catalog queries look expensive to the planner; compiling them costs seconds */
	(void) set_config_option("jit", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	return nestlevel;
}

/*
 * BacFindService
 *		The service of the manifest named name; error if the snapshot does
 *		not have it.
 */
static RestoreService *
BacFindService(RestoreManifest *m, const char *name)
{
	ListCell   *lc;
	StringInfoData have;

	foreach(lc, m->services)
	{
		RestoreService *svc = lfirst(lc);

		if (strcmp(svc->service, name) == 0)
			return svc;
	}
	initStringInfo(&have);
	foreach(lc, m->services)
		appendStringInfo(&have, "%s%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(((RestoreService *) lfirst(lc))->service));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("service \"%s\" is not in snapshot \"%s\"", name, m->snapshot_id),
			 errdetail("The snapshot holds the services: %s.", have.data),
			 errhint("Pick a snapshot that contains the service; bac.snapshots() lists them.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * BacArgText
 *		A text argument that must not be NULL.
 */
static char *
BacArgText(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what),
				 errhint("Pass a value, or leave the argument out to get its default.")));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * BacArgBool
 *		A boolean argument that must not be NULL.
 */
static bool
BacArgBool(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what),
				 errhint("Pass true or false, or leave the argument out to get its default.")));
	return PG_GETARG_BOOL(n);
}

/*
 * bac.restore(snapshot_id text, service name, into_schema name DEFAULT NULL,
 *			   keep_previous boolean DEFAULT true, dry_run boolean DEFAULT false,
 *			   on_broken_links text DEFAULT 'warn',
 *			   missing_roles text DEFAULT 'error')
 *	RETURNS TABLE (link name, direction text, broken bigint, orphaned bigint,
 *				   detail text)
 *
 *	Restore one service of a snapshot, in place (into_schema NULL) or beside
 *	the live schema under the name into_schema, in the caller's transaction.
 *	keep_previous keeps the replaced schema as <schema>_before_<snapshot_id>;
 *	dry_run reports without changing anything; on_broken_links is 'warn',
 *	'error' or 'ignore'; missing_roles is 'error' or 'current_user'.
 */
PG_FUNCTION_INFO_V1(bac_restore);
Datum
bac_restore(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *snapshot_id = BacArgText(fcinfo, 0, "snapshot_id");
	char	   *service;
	char	   *into_schema = NULL;
	bool		keep_previous = BacArgBool(fcinfo, 3, "keep_previous");
	bool		dry_run = BacArgBool(fcinfo, 4, "dry_run");
	BacOnBroken on_broken = BacParseOnBroken(BacArgText(fcinfo, 5, "on_broken_links"));
	BacMissingRoles missing_roles = BacParseMissingRoles(BacArgText(fcinfo, 6, "missing_roles"));
	RestoreManifest *m;
	RestoreService *svc;
	int			nestlevel;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("service must not be NULL"),
				 errhint("Name the service to restore; bac.restore_group() restores several.")));
	service = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	if (!PG_ARGISNULL(2))
		into_schema = pstrdup(NameStr(*PG_GETARG_NAME(2)));

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nestlevel = BacSafeSearchPath();
	m = BacRestoreReadManifest(snapshot_id);
	svc = BacFindService(m, service);
	if (into_schema && strcmp(into_schema, svc->schema) == 0)
		into_schema = NULL;
	if (svc->group != NULL && into_schema == NULL)
	{
		StringInfoData mates;
		ListCell   *lc;

		initStringInfo(&mates);
		foreach(lc, m->services)
		{
			RestoreService *o = lfirst(lc);

			if (o != svc && o->group && strcmp(o->group, svc->group) == 0)
				appendStringInfo(&mates, "%s%s", mates.len ? ", " : "",
								 quote_identifier(o->service));
		}
		if (mates.len > 0)
			ereport(WARNING,
					(errmsg("service \"%s\" belongs to group \"%s\" and is restored without %s",
							svc->service, svc->group, mates.data),
					 errdetail("The services of a group are meant to be restored together."),
					 errhint("Use bac.restore_group() to restore the whole group to the same instant.")));
	}
	BacRestoreServices(m, list_make1(svc), into_schema, keep_previous, dry_run,
					   on_broken, missing_roles, rsinfo->setResult,
					   rsinfo->setDesc);
	AtEOXact_GUC(true, nestlevel);
	SPI_finish();
	return (Datum) 0;
}

/*
 * bac.restore_group(snapshot_id text, services name[] DEFAULT NULL,
 *					 keep_previous boolean DEFAULT true,
 *					 dry_run boolean DEFAULT false,
 *					 on_broken_links text DEFAULT 'warn',
 *					 missing_roles text DEFAULT 'error')
 *	RETURNS TABLE (link name, direction text, broken bigint, orphaned bigint,
 *				   detail text)
 *
 *	Restore several services of one snapshot in place, to the same instant,
 *	in one transaction.  services NULL means every service of the snapshot.
 */
PG_FUNCTION_INFO_V1(bac_restore_group);
Datum
bac_restore_group(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *snapshot_id = BacArgText(fcinfo, 0, "snapshot_id");
	bool		keep_previous = BacArgBool(fcinfo, 2, "keep_previous");
	bool		dry_run = BacArgBool(fcinfo, 3, "dry_run");
	BacOnBroken on_broken = BacParseOnBroken(BacArgText(fcinfo, 4, "on_broken_links"));
	BacMissingRoles missing_roles = BacParseMissingRoles(BacArgText(fcinfo, 5, "missing_roles"));
	RestoreManifest *m;
	List	   *services = NIL;
	int			nestlevel;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nestlevel = BacSafeSearchPath();
	m = BacRestoreReadManifest(snapshot_id);
	if (PG_ARGISNULL(1))
		services = m->services;
	else
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *names;
		bool	   *nulls;
		int			n,
					i;

		deconstruct_array(arr, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
						  &names, &nulls, &n);
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("services must not be empty"),
					 errhint("Pass NULL to restore every service of the snapshot.")));
		for (i = 0; i < n; i++)
		{
			RestoreService *svc;

			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("services must not contain NULL"),
						 errhint("Name each service to restore.")));
			svc = BacFindService(m, NameStr(*DatumGetName(names[i])));
			if (list_member_ptr(services, svc))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("service \"%s\" is named twice", svc->service),
						 errhint("Name each service once.")));
			services = lappend(services, svc);
		}
	}
	if (!PG_ARGISNULL(1))
	{
		/* a service brings its whole group along */
		List	   *named = list_copy(services);
		ListCell   *lc,
				   *lo;

		foreach(lc, named)
		{
			RestoreService *svc = lfirst(lc);

			if (svc->group == NULL)
				continue;
			foreach(lo, m->services)
			{
				RestoreService *o = lfirst(lo);

				if (o->group && strcmp(o->group, svc->group) == 0 &&
					!list_member_ptr(services, o))
				{
					services = lappend(services, o);
					ereport(NOTICE,
							(errmsg("service \"%s\" is restored too: it is in group \"%s\" with \"%s\"",
									o->service, svc->group, svc->service)));
				}
			}
		}
	}
	if (services == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("snapshot \"%s\" holds no services", snapshot_id),
				 errhint("Pick another snapshot.")));
	BacRestoreServices(m, services, NULL, keep_previous, dry_run, on_broken,
					   missing_roles, rsinfo->setResult, rsinfo->setDesc);
	AtEOXact_GUC(true, nestlevel);
	SPI_finish();
	return (Datum) 0;
}
