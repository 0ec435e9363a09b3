/*-------------------------------------------------------------------------
 *
 * restore_script.c
 *		The captured scripts of a restore: reading and parsing them (with
 *		the server's own grammar) before any change, the roles they name,
 *		and running them statement by statement in the new schema.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/restore_script.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "portability/instr_time.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "restore.h"
#include "restore_post.h"

/* error context while a script statement runs */
typedef struct ScriptContext
{
	const char *service;
	const char *section;
	const char *stmt;
} ScriptContext;

static List *ScriptStatementRoles(Node *stmt);

/*
 * ScriptParse
 *		Split a script into raw statements (the server's own grammar), so it
 *		can be checked before any change and run one statement at a time.
 */
static List *
ScriptParse(const char *sql, const char *service, const char *section)
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
 * ScriptRoleSpecName
 *		The role name a RoleSpec names literally, or NULL for CURRENT_USER,
 *		PUBLIC and the like.
 */
static const char *
ScriptRoleSpecName(Node *n)
{
	RoleSpec   *r = (RoleSpec *) n;

	if (n == NULL || !IsA(n, RoleSpec) || r->roletype != ROLESPEC_CSTRING)
		return NULL;
	return r->rolename;
}

/*
 * ScriptDoBlockFormat
 *		The format string of a DO block the DDL capture wrote around a
 *		statement about the schema itself (see BAC_SCHEMA_DO_BODY_START in
 *		pg_bac.h, the one definition ddl_catalog.c writes from), with
 *		placeholder name bac_schema in place of the schema; NULL for any
 *		other DO block.
 */
static char *
ScriptDoBlockFormat(const char *body)
{
	const char *p;
	StringInfoData fmt;

	if (strncmp(body, BAC_SCHEMA_DO_BODY_START, strlen(BAC_SCHEMA_DO_BODY_START)) != 0)
		return NULL;
	p = body + strlen(BAC_SCHEMA_DO_BODY_START);
	if (*p++ != '\'')
		return NULL;			/* E'' or anything else: not a form we emit */

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
	if (*p != '\'' || strcmp(p + 1, BAC_SCHEMA_DO_BODY_END) != 0)
		return NULL;
	return fmt.data;
}

/*
 * ScriptDoBlockRoles
 *		The DDL capture names the schema itself only through DO blocks
 *		(owner, comment, grants of the schema): parse the statement inside
 *		one, to find the roles it names.  Other DO blocks name no roles we
 *		can see.
 */
static List *
ScriptDoBlockRoles(DoStmt *stmt)
{
	ListCell   *lc;
	const char *body = NULL;
	char	   *fmt;
	List	   *stmts;
	List	   *names = NIL;
	MemoryContext cxt = CurrentMemoryContext;

	foreach(lc, stmt->args)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, "as") == 0)
			body = strVal(d->arg);
	}
	if (body == NULL || (fmt = ScriptDoBlockFormat(body)) == NULL)
		return NIL;
	PG_TRY();
	{
		stmts = raw_parser(fmt, RAW_PARSE_DEFAULT);
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
		names = list_concat(names, ScriptStatementRoles(((RawStmt *) lfirst(lc))->stmt));
	return names;
}

/*
 * ScriptStatementRoles
 *		Role names a statement of a pre/post-data script names: new owners,
 *		grantees, policy roles, default privilege roles.
 */
static List *
ScriptStatementRoles(Node *stmt)
{
	List	   *names = NIL;
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_AlterOwnerStmt:
			names = lappend(names, (void *) ScriptRoleSpecName((Node *) ((AlterOwnerStmt *) stmt)->newowner));
			break;
		case T_AlterTableStmt:
			foreach(lc, ((AlterTableStmt *) stmt)->cmds)
			{
				AlterTableCmd *cmd = lfirst(lc);

				if (cmd->subtype == AT_ChangeOwner)
					names = lappend(names, (void *) ScriptRoleSpecName((Node *) cmd->newowner));
			}
			break;
		case T_GrantStmt:
			foreach(lc, ((GrantStmt *) stmt)->grantees)
				names = lappend(names, (void *) ScriptRoleSpecName(lfirst(lc)));
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
							names = lappend(names, (void *) ScriptRoleSpecName(lfirst(lr)));
					}
				}
				foreach(lc, a->action->grantees)
					names = lappend(names, (void *) ScriptRoleSpecName(lfirst(lc)));
			}
			break;
		case T_CreatePolicyStmt:
			foreach(lc, ((CreatePolicyStmt *) stmt)->roles)
				names = lappend(names, (void *) ScriptRoleSpecName(lfirst(lc)));
			break;
		case T_AlterPolicyStmt:
			foreach(lc, ((AlterPolicyStmt *) stmt)->roles)
				names = lappend(names, (void *) ScriptRoleSpecName(lfirst(lc)));
			break;
		case T_DoStmt:
			names = ScriptDoBlockRoles((DoStmt *) stmt);
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
 * ScriptCollectRoles
 *		Add to *roles (char *, no duplicates) the roles named by stmts that do
 *		not exist in this cluster.
 */
static void
ScriptCollectRoles(List *stmts, List **roles)
{
	ListCell   *lc;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst(lc);
		ListCell   *ln;

		foreach(ln, ScriptStatementRoles(raw->stmt))
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
 * ScriptUsesMissingRole
 *		Does the statement name a role that does not exist here?
 */
static bool
ScriptUsesMissingRole(Node *stmt)
{
	ListCell   *lc;

	foreach(lc, ScriptStatementRoles(stmt))
	{
		const char *name = lfirst(lc);

		if (name != NULL && !OidIsValid(get_role_oid(name, true)))
			return true;
	}
	return false;
}

/*
 * ScriptErrorContext
 *		Error context: which statement of which script failed.
 */
static void
ScriptErrorContext(void *arg)
{
	ScriptContext *c = arg;
	int			len = strlen(c->stmt);

	errcontext("%s script of service \"%s\", statement: %.*s%s",
			   c->section, c->service, Min(len, 200), c->stmt,
			   len > 200 ? "..." : "");
}

/*
 * RestoreRunScript
 *		Run a parsed script statement by statement through SPI with
 *		search_path set to the target schema (and check_function_bodies off,
 *		as pg_restore does), in a GUC nest level undone afterwards.  With
 *		missing_roles = current_user, statements that name roles missing here
 *		(owner changes, grants) are skipped: the objects stay owned by the
 *		current user, who created them.
 */
void
RestoreRunScript(RestoreService *svc, const char *section, const char *sql,
			 List *stmts, BacMissingRoles mr)
{
	int			skipped;
	instr_time	start,
				elapsed;

	INSTR_TIME_SET_CURRENT(start);
	skipped = RestoreRunStatements(svc, section, sql, stmts, mr);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	ereport(DEBUG1,
			(errmsg("ran the %s script of service \"%s\": %d statements in %.3f s",
					section, svc->ms->service, list_length(stmts) - skipped,
					INSTR_TIME_GET_DOUBLE(elapsed))));
	RestoreNoticeSkipped(svc, section, skipped);
}

/*
 * RestoreNoticeSkipped
 *		Say how many statements naming missing roles were skipped, if any.
 */
void
RestoreNoticeSkipped(RestoreService *svc, const char *section, int skipped)
{
	if (skipped > 0)
		ereport(NOTICE,
				(errmsg("skipped %d statements of the %s script of service \"%s\" that name missing roles",
						skipped, section, svc->ms->service),
				 errdetail("missing_roles => 'current_user': the objects stay owned by %s and the grants to missing roles are not made.",
						   GetUserNameFromId(GetUserId(), false))));
}

/*
 * RestoreRunStatements
 *		The work of RestoreRunScript for some statements of a service's
 *		script (all of them, or one run of a group restore's one order),
 *		without the NOTICE; returns how many were skipped.
 */
int
RestoreRunStatements(RestoreService *svc, const char *section, const char *sql,
					 List *stmts, BacMissingRoles mr)
{
	int			nestlevel = NewGUCNestLevel();
	ErrorContextCallback errcb;
	ScriptContext ctx;
	ListCell   *lc;
	int			skipped = 0;

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

	ctx.service = svc->ms->service;
	ctx.section = section;
	errcb.callback = ScriptErrorContext;
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
			ScriptUsesMissingRole(raw->stmt))
		{
			skipped++;
			pfree(one);
			continue;
		}
		if (strcmp(section, "post-data") == 0 && BacPostIsForeignKey(raw, one))
		{
			/* a foreign key between restored tables is trusted */
			(void) BacPostRunForeignKey(raw, one,
										list_make1_oid(get_namespace_oid(svc->target, false)));
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
	return skipped;
}

/*
 * ScriptRead
 *		Read one script of a service (verified already) as text.
 */
static char *
ScriptRead(BacManifest *m, const char *relpath)
{
	char	   *path = psprintf("%s/%s", m->directory, relpath);
	size_t		len;
	char	   *sql = BacReadWholeFile(path, "snapshot script", false, &len);

	if (memchr(sql, '\0', len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s \"%s\" contains a zero byte", "snapshot script", path),
				 errhint("Check the snapshot with bac.verify_snapshot().")));
	return sql;
}

/*
 * RestoreReadScripts
 *		Read and parse both scripts of a service, before any change.
 */
void
RestoreReadScripts(RestoreState *st, RestoreService *svc)
{
	svc->pre_sql = ScriptRead(st->manifest, svc->ms->pre_data);
	svc->post_sql = ScriptRead(st->manifest, svc->ms->post_data);
	svc->pre_stmts = ScriptParse(svc->pre_sql, svc->ms->service, "pre-data");
	svc->post_stmts = ScriptParse(svc->post_sql, svc->ms->service, "post-data");
}

/*
 * RestoreCheckRoles
 *		The roles the services' owners and scripts name that do not exist
 *		here: an error listing them unless missing_roles is current_user.
 */
void
RestoreCheckRoles(RestoreState *st)
{
	List	   *missing = NIL;
	ListCell   *lc;
	StringInfoData names;

	foreach(lc, st->services)
	{
		RestoreService *svc = lfirst(lc);

		if (svc->ms->owner && !OidIsValid(get_role_oid(svc->ms->owner, true)))
			missing = lappend(missing, svc->ms->owner);
		ScriptCollectRoles(svc->pre_stmts, &missing);
		ScriptCollectRoles(svc->post_stmts, &missing);
	}
	if (missing == NIL || st->missing_roles != BAC_ROLES_ERROR)
		return;
	initStringInfo(&names);
	foreach(lc, missing)
		appendStringInfo(&names, "%s%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(lfirst(lc)));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("roles of snapshot \"%s\" do not exist here: %s",
					st->manifest->snapshot_id, names.data),
			 errdetail("The snapshot makes these roles owners or grantees of restored objects."),
			 errhint("Create the roles first, or pass missing_roles => 'current_user' to leave the objects owned by the current user without those grants.")));
}

