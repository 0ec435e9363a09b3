/*-------------------------------------------------------------------------
 *
 * export_filter.c
 *		The options of bac.export with pg_dump's meaning (-s, -a, -O, -x):
 *		the captured scripts filtered statement by statement, and the data
 *		of a data-only export in foreign-key order.
 *
 * Each statement is classified by its parse node (raw_parser); the
 * schema's own owner, privileges and default privileges are DO blocks
 * (the contract of BAC_SCHEMA_DO_* in pg_bac.h), classified by the
 * statement their format() template starts with.  See export.c for what
 * each option keeps.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/export_filter.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"

#include "export.h"
/* what a statement of a captured script is, for the options */
typedef enum ExportStmtKind
{
	EXPORT_STMT_OTHER,			/* definitions, comments, ... */
	EXPORT_STMT_OWNER,			/* ALTER ... OWNER TO */
	EXPORT_STMT_ACL,			/* GRANT, REVOKE, default privileges, SET ROLE */
	EXPORT_STMT_DATA			/* setval, REFRESH MATERIALIZED VIEW */
} ExportStmtKind;

/* the object whose privileges are being rebuilt, while filtering (-O) */
typedef struct ExportAclState
{
	char	   *object;			/* "<kind> <name>" of the last REVOKE ... FROM PUBLIC */
	char	   *owner;			/* its owner, from the REVOKE ALL ... FROM <owner> after it */
} ExportAclState;

/* the schema's DO blocks: EXECUTE pg_catalog.format('<template>', schema) */
#define EXPORT_DO_PREFIX	"DO " BAC_SCHEMA_DO_QUOTE BAC_SCHEMA_DO_BODY_START "'"
#define EXPORT_DO_SUFFIX	"'" BAC_SCHEMA_DO_BODY_END BAC_SCHEMA_DO_QUOTE

/*
 * ExportDoTemplate
 *		The format() template of one of the schema's DO blocks (still
 *		quoted as a literal), or NULL if stmt is not one.
 */
static char *
ExportDoTemplate(const char *stmt)
{
	size_t		len = strlen(stmt);
	size_t		plen = strlen(EXPORT_DO_PREFIX);
	size_t		slen = strlen(EXPORT_DO_SUFFIX);

	if (len < plen + slen || strncmp(stmt, EXPORT_DO_PREFIX, plen) != 0 ||
		strcmp(stmt + len - slen, EXPORT_DO_SUFFIX) != 0)
		return NULL;
	return pnstrdup(stmt + plen, len - plen - slen);
}

/*
 * ExportIsAclText
 *		True if a statement's text starts like one that sets privileges.
 */
static bool
ExportIsAclText(const char *text)
{
	return strncmp(text, "GRANT ", 6) == 0 ||
		strncmp(text, "REVOKE ", 7) == 0 ||
		strncmp(text, "SET ROLE ", 9) == 0 ||
		strncmp(text, "RESET ROLE", 10) == 0 ||
		strncmp(text, "ALTER DEFAULT PRIVILEGES ", 25) == 0;
}

/*
 * ExportClassify
 *		What a parsed statement of a captured script is; text is its
 *		source text without leading blanks and comments.
 */
static ExportStmtKind
ExportClassify(Node *stmt, const char *text)
{
	switch (nodeTag(stmt))
	{
		case T_AlterOwnerStmt:
			return EXPORT_STMT_OWNER;
		case T_AlterTableStmt:
			{
				AlterTableStmt *at = (AlterTableStmt *) stmt;
				ListCell   *lc;

				foreach(lc, at->cmds)
				{
					if (((AlterTableCmd *) lfirst(lc))->subtype != AT_ChangeOwner)
						return EXPORT_STMT_OTHER;
				}
				return at->cmds != NIL ? EXPORT_STMT_OWNER : EXPORT_STMT_OTHER;
			}
		case T_GrantStmt:
		case T_AlterDefaultPrivilegesStmt:
			return EXPORT_STMT_ACL;
		case T_VariableSetStmt:
			return strcmp(((VariableSetStmt *) stmt)->name, "role") == 0 ?
				EXPORT_STMT_ACL : EXPORT_STMT_OTHER;
		case T_RefreshMatViewStmt:
			return EXPORT_STMT_DATA;
		case T_SelectStmt:
			{
				SelectStmt *sel = (SelectStmt *) stmt;
				ResTarget  *rt;
				FuncCall   *fc;

				if (list_length(sel->targetList) != 1 || sel->fromClause != NIL)
					return EXPORT_STMT_OTHER;
				rt = linitial(sel->targetList);
				if (rt->val == NULL || !IsA(rt->val, FuncCall))
					return EXPORT_STMT_OTHER;
				fc = (FuncCall *) rt->val;
				return strcmp(strVal(llast(fc->funcname)), "setval") == 0 ?
					EXPORT_STMT_DATA : EXPORT_STMT_OTHER;
			}
		case T_DoStmt:
			{
				char	   *tpl = ExportDoTemplate(text);

				if (tpl == NULL)
					return EXPORT_STMT_OTHER;
				if (strncmp(tpl, "ALTER SCHEMA %I OWNER TO ", 25) == 0)
					return EXPORT_STMT_OWNER;
				return ExportIsAclText(tpl) ? EXPORT_STMT_ACL : EXPORT_STMT_OTHER;
			}
		default:
			return EXPORT_STMT_OTHER;
	}
}

/*
 * ExportAclLine
 *		For no_owner: one privilege statement (without its ";"), with the
 *		object owner's own privileges moved to CURRENT_USER.  The captured
 *		privileges of an object read (ACL_SQL in ddl_catalog.c):
 *			REVOKE ALL ON <object> FROM PUBLIC
 *			REVOKE ALL ON <object> FROM <owner>
 *			GRANT <privileges> ON <object> TO <grantee> [WITH GRANT OPTION]
 *		so the second line names the owner.  Other lines pass unchanged.
 */
static char *
ExportAclLine(ExportAclState *acl, const char *line)
{
	const char *revoke = "REVOKE ALL ON ";
	size_t		len = strlen(line);

	if (strncmp(line, revoke, strlen(revoke)) == 0)
	{
		const char *object = line + strlen(revoke);

		if (len > strlen(revoke) + 12 &&
			strcmp(line + len - 12, " FROM PUBLIC") == 0)
		{
			acl->object = pnstrdup(object, len - strlen(revoke) - 12);
			acl->owner = NULL;
			return pstrdup(line);
		}
		if (acl->object != NULL && acl->owner == NULL &&
			strncmp(object, acl->object, strlen(acl->object)) == 0 &&
			strncmp(object + strlen(acl->object), " FROM ", 6) == 0)
		{
			acl->owner = pstrdup(object + strlen(acl->object) + 6);
			return psprintf("%s%s FROM CURRENT_USER", revoke, acl->object);
		}
		acl->object = NULL;
		return pstrdup(line);
	}
	if (strncmp(line, "GRANT ", 6) == 0 && acl->owner != NULL)
	{
		char	   *tail = psprintf(" ON %s TO %s", acl->object, acl->owner);
		char	   *at = strstr(line, tail);

		if (at != NULL && (at[strlen(tail)] == '\0' ||
						   strcmp(at + strlen(tail), " WITH GRANT OPTION") == 0))
			return psprintf("%.*s ON %s TO CURRENT_USER%s", (int) (at - line),
							line, acl->object, at + strlen(tail));
	}
	return pstrdup(line);
}

/*
 * ExportAclStatement
 *		For no_owner: a privilege statement (top-level, or one of the
 *		schema's DO blocks whose template holds several, one per line) with
 *		ExportAclLine applied to each of its statements.
 */
static char *
ExportAclStatement(ExportAclState *acl, const char *text)
{
	char	   *tpl = ExportDoTemplate(text);
	StringInfoData out;
	char	   *line;
	char	   *next;

	if (tpl == NULL)
		return ExportAclLine(acl, text);

	/* lines "<statement>;" of the template, each ending with a newline */
	initStringInfo(&out);
	appendStringInfoString(&out, EXPORT_DO_PREFIX);
	for (line = tpl; *line; line = next)
	{
		char	   *nl = strchr(line, '\n');
		size_t		n = nl ? (size_t) (nl - line) : strlen(line);
		bool		semi = n > 0 && line[n - 1] == ';';

		next = nl ? nl + 1 : line + n;
		appendStringInfoString(&out,
							   ExportAclLine(acl, pnstrdup(line, semi ? n - 1 : n)));
		appendStringInfoString(&out, semi ? ";" : "");
		appendStringInfoString(&out, nl ? "\n" : "");
	}
	appendStringInfoString(&out, EXPORT_DO_SUFFIX);
	return out.data;
}

/*
 * ExportSkipBlanks
 *		Offset of the first character of sql at or after pos that is not
 *		white space nor part of a "--" comment.
 */
static int
ExportSkipBlanks(const char *sql, int pos)
{
	for (;;)
	{
		while (sql[pos] == ' ' || sql[pos] == '\t' || sql[pos] == '\n' ||
			   sql[pos] == '\r')
			pos++;
		if (sql[pos] != '-' || sql[pos + 1] != '-')
			return pos;
		while (sql[pos] != '\0' && sql[pos] != '\n')
			pos++;
	}
}

/*
 * ExportFilterScript
 *		A captured script with the statements the options leave out removed
 *		(their leading blank lines and comments are kept) and, for no_owner,
 *		the owners' own privileges given to CURRENT_USER instead.  Without
 *		any option the script is returned as it is.
 */
char *
ExportFilterScript(const char *sql, const ExportOptions *opt)
{
	List	   *stmts;
	ListCell   *lc;
	StringInfoData out;
	ExportAclState acl = {0};
	int			pos = 0;
	int			len = strlen(sql);

	if (!opt->schema_only && !opt->data_only && !opt->no_owner &&
		!opt->no_privileges)
		return pstrdup(sql);

	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	initStringInfo(&out);
	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst(lc);
		int			start = raw->stmt_location;
		int			end = raw->stmt_len > 0 ? start + raw->stmt_len : len;
		int			first = ExportSkipBlanks(sql, start);
		char	   *text = pnstrdup(sql + first, Max(end - first, 0));
		ExportStmtKind kind = ExportClassify(raw->stmt, text);
		bool		keep;

		CHECK_FOR_INTERRUPTS();
		if (opt->data_only)
			keep = (kind == EXPORT_STMT_DATA);
		else
			keep = !(opt->schema_only && kind == EXPORT_STMT_DATA) &&
				!(opt->no_owner && kind == EXPORT_STMT_OWNER) &&
				!(opt->no_privileges && kind == EXPORT_STMT_ACL);

		/* what precedes the statement: blank lines and comments */
		appendBinaryStringInfo(&out, sql + pos, first - pos);
		if (keep)
		{
			if (opt->no_owner && kind == EXPORT_STMT_ACL)
				appendStringInfoString(&out, ExportAclStatement(&acl, text));
			else
				appendStringInfoString(&out, text);
		}
		pos = end;
		/* the statement's ";" and the rest of its line */
		if (pos < len && sql[pos] == ';')
			pos++;
		if (keep)
			appendStringInfoChar(&out, ';');
		while (pos < len && sql[pos] != '\n' && isspace((unsigned char) sql[pos]))
			pos++;
		if (!keep && pos < len && sql[pos] == '\n')
			pos++;
	}
	appendStringInfoString(&out, sql + pos);
	return out.data;
}

/*
 * ExportParents
 *		Pairs (table, parent) of the schema's own tables, from the CREATE
 *		TABLE ... INHERITS / PARTITION OF statements of the pre-data script
 *		(*children, *parents: parallel lists of names).
 */
static void
ExportParents(const char *pre, List **children, List **parents)
{
	ListCell   *lc;

	foreach(lc, raw_parser(pre, RAW_PARSE_DEFAULT))
	{
		Node	   *stmt = ((RawStmt *) lfirst(lc))->stmt;
		ListCell   *li;

		if (!IsA(stmt, CreateStmt) ||
			((CreateStmt *) stmt)->relation->schemaname != NULL)
			continue;
		foreach(li, ((CreateStmt *) stmt)->inhRelations)
		{
			RangeVar   *parent = lfirst(li);

			if (parent->schemaname != NULL)
				continue;
			*children = lappend(*children, ((CreateStmt *) stmt)->relation->relname);
			*parents = lappend(*parents, parent->relname);
		}
	}
}

/*
 * ExportIsOrDescends
 *		True if table is ancestor or inherits from it, at any depth.
 */
static bool
ExportIsOrDescends(const char *table, const char *ancestor, List *children,
				   List *parents, int depth)
{
	ListCell   *c;
	ListCell   *p;

	if (strcmp(table, ancestor) == 0)
		return true;
	if (depth > 100)			/* no inheritance is that deep: a cycle */
		return false;
	forboth(c, children, p, parents)
	{
		if (strcmp(lfirst(c), table) == 0 &&
			ExportIsOrDescends(lfirst(p), ancestor, children, parents, depth + 1))
			return true;
	}
	return false;
}

/*
 * ExportForeignKeyOrder
 *		For data_only, where the constraints exist already while the data
 *		loads: the tables in an order where the rows a foreign key refers
 *		to come first (as pg_dump --data-only orders them).  The foreign
 *		keys are the post-data script's ALTER TABLE ... ADD CONSTRAINT
 *		... FOREIGN KEY within the schema; a key on a partitioned or parent
 *		table binds its partitions and children.  Tables in a cycle keep
 *		their manifest order (pg_dump warns about those).
 */
List *
ExportForeignKeyOrder(List *tables, const char *pre, const char *post)
{
	List	   *children = NIL;
	List	   *parents = NIL;
	List	   *fk_from = NIL;
	List	   *fk_to = NIL;
	List	   *todo = list_copy(tables);
	List	   *done = NIL;
	ListCell   *lc;

	ExportParents(pre, &children, &parents);
	foreach(lc, raw_parser(post, RAW_PARSE_DEFAULT))
	{
		Node	   *stmt = ((RawStmt *) lfirst(lc))->stmt;
		ListCell   *lcmd;

		if (!IsA(stmt, AlterTableStmt) ||
			((AlterTableStmt *) stmt)->relation->schemaname != NULL)
			continue;
		foreach(lcmd, ((AlterTableStmt *) stmt)->cmds)
		{
			AlterTableCmd *cmd = lfirst(lcmd);
			Constraint *con = (Constraint *) cmd->def;

			if (cmd->subtype != AT_AddConstraint || con == NULL ||
				!IsA(con, Constraint) || con->contype != CONSTR_FOREIGN ||
				con->pktable->schemaname != NULL)
				continue;
			fk_from = lappend(fk_from, ((AlterTableStmt *) stmt)->relation->relname);
			fk_to = lappend(fk_to, con->pktable->relname);
		}
	}

	while (todo != NIL)
	{
		BacManifestTable *ready = NULL;

		foreach(lc, todo)
		{
			BacManifestTable *t = lfirst(lc);
			bool		waits = false;
			ListCell   *f;
			ListCell   *k;

			/* t waits for any other table still to load that a key of t refers to */
			forboth(f, fk_from, k, fk_to)
			{
				ListCell   *lu;

				if (!ExportIsOrDescends(t->name, lfirst(f), children, parents, 0))
					continue;
				foreach(lu, todo)
				{
					BacManifestTable *u = lfirst(lu);

					if (u != t &&
						ExportIsOrDescends(u->name, lfirst(k), children, parents, 0))
						waits = true;
				}
			}
			if (!waits)
			{
				ready = t;
				break;
			}
		}
		if (ready == NULL)		/* a cycle: the rest in manifest order */
			return list_concat(done, todo);
		done = lappend(done, ready);
		todo = list_delete_ptr(todo, ready);
	}
	return done;
}
