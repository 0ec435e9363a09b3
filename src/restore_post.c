/*-------------------------------------------------------------------------
 *
 * restore_post.c
 *		Faster post-data for a restore: foreign keys between restored tables
 *		trusted from the snapshot instead of checked row by row.
 *
 * A foreign key of the post-data script whose referencing and referenced
 * tables both belong to the services being restored holds by construction:
 * both tables' rows come from one snapshot, taken under one MVCC snapshot
 * while the constraint was in force and validated (a constraint that was
 * NOT VALID at the source is captured as NOT VALID and left so), and the
 * files were checked against their SHA-256 before loading.  Checking it
 * again (the anti-join ALTER TABLE ADD FOREIGN KEY runs) costs as much as
 * building an index.  So such a constraint is added NOT VALID and then
 * marked validated in pg_constraint, which is what ALTER TABLE VALIDATE
 * CONSTRAINT does once its check passes.  A foreign key referencing a table
 * outside the restored schemas, or on a partitioned table, or on a table
 * with row security (whose snapshot may not hold every row), is validated
 * as usual (ALTER TABLE VALIDATE CONSTRAINT right after).
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/restore_post.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "pg_bac.h"
#include "restore_post.h"

/*
 * BacPostForeignKey
 *		The FOREIGN KEY constraint the statement adds, when it is a single
 *		"ALTER TABLE [ONLY] t ADD CONSTRAINT name FOREIGN KEY ..." that
 *		validates the existing rows; NULL otherwise.
 */
static Constraint *
BacPostForeignKey(RawStmt *raw)
{
	AlterTableStmt *at;
	AlterTableCmd *cmd;
	Constraint *con;

	if (raw == NULL || !IsA(raw->stmt, AlterTableStmt))
		return NULL;
	at = (AlterTableStmt *) raw->stmt;
	if (at->objtype != OBJECT_TABLE || list_length(at->cmds) != 1)
		return NULL;
	cmd = linitial(at->cmds);
	if (cmd->subtype != AT_AddConstraint || cmd->def == NULL ||
		!IsA(cmd->def, Constraint))
		return NULL;
	con = (Constraint *) cmd->def;
	if (con->contype != CONSTR_FOREIGN || con->skip_validation ||
		con->conname == NULL)
		return NULL;
	return con;
}

/*
 * BacPostStatementText
 *		The text of one statement (one, as the script runner cut it out: the
 *		last statement of a script runs to the end of the script) without
 *		trailing semicolons and blanks, ready for " NOT VALID"; NULL when a
 *		comment or another semicolon could follow the statement.
 */
static char *
BacPostStatementText(const char *one)
{
	char	   *text = pstrdup(one);
	int			len = strlen(text);

	while (len > 0 && (text[len - 1] == ';' || isspace((unsigned char) text[len - 1])))
		text[--len] = '\0';
	if (strstr(text, "--") || strstr(text, "/*") || strchr(text, ';'))
	{
		pfree(text);
		return NULL;
	}
	return text;
}

/*
 * BacPostIsForeignKey
 *		Is the statement (parse tree raw, text one) a foreign key
 *		BacPostRunForeignKey can add?
 */
bool
BacPostIsForeignKey(RawStmt *raw, const char *one)
{
	char	   *text;

	if (BacPostForeignKey(raw) == NULL)
		return false;
	text = BacPostStatementText(one);
	if (text == NULL)
		return false;
	pfree(text);
	return true;
}

/*
 * BacPostTrustable
 *		May the foreign key conoid be marked valid without a check: a plain
 *		table referencing a plain table, both in the restored schemas
 *		(restored, a list of schema OIDs), neither with row security?
 */
static bool
BacPostTrustable(Form_pg_constraint con, List *restored)
{
	Oid			rels[2];
	int			i;

	if (OidIsValid(con->conparentid))
		return false;
	rels[0] = con->conrelid;
	rels[1] = con->confrelid;
	for (i = 0; i < 2; i++)
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rels[i]));
		Form_pg_class c;
		bool		ok;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for relation %u", rels[i]);
		c = (Form_pg_class) GETSTRUCT(tup);
		ok = c->relkind == RELKIND_RELATION && !c->relrowsecurity &&
			list_member_oid(restored, c->relnamespace);
		ReleaseSysCache(tup);
		if (!ok)
			return false;
	}
	return true;
}

/*
 * BacPostRunForeignKey
 *		Run the foreign key statement one (whose parse tree is raw, checked
 *		by BacPostIsForeignKey) as NOT VALID, then mark the constraint valid
 *		when BacPostTrustable allows it, or validate it with ALTER TABLE
 *		VALIDATE CONSTRAINT.  Returns true when it was trusted.  The caller
 *		is connected to SPI and has set search_path for the script.
 */
bool
BacPostRunForeignKey(RawStmt *raw, const char *one, List *restored)
{
	Constraint *def = BacPostForeignKey(raw);
	AlterTableStmt *at = (AlterTableStmt *) raw->stmt;
	char	   *sql;
	int			ret;
	Oid			relid;
	Oid			conoid;
	Relation	conrel;
	HeapTuple	tup;
	Form_pg_constraint con;
	bool		trusted;

	Assert(def != NULL);

	/*
	 * A partitioned table cannot take a NOT VALID foreign key: run the
	 * statement as it is, which checks the rows.
	 */
	relid = RangeVarGetRelid(at->relation, NoLock, false);
	if (get_rel_relkind(relid) != RELKIND_RELATION)
	{
		ret = SPI_execute(one, false, 0);
		if (ret < 0)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		elog(DEBUG1, "foreign key %s of the post-data script validated",
			 quote_identifier(def->conname));
		return false;
	}

	sql = psprintf("%s NOT VALID", BacPostStatementText(one));
	ret = SPI_execute(sql, false, 0);
	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	pfree(sql);

	conoid = get_relation_constraint_oid(relid, def->conname, false);
	conrel = table_open(ConstraintRelationId, RowExclusiveLock);
	tup = SearchSysCacheCopy1(CONSTROID, ObjectIdGetDatum(conoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for constraint %u", conoid);
	con = (Form_pg_constraint) GETSTRUCT(tup);
	trusted = BacPostTrustable(con, restored);
	if (trusted)
	{
		con->convalidated = true;
		CatalogTupleUpdate(conrel, &tup->t_self, tup);
		InvokeObjectPostAlterHook(ConstraintRelationId, conoid, 0);
	}
	heap_freetuple(tup);
	table_close(conrel, RowExclusiveLock);
	CommandCounterIncrement();

	elog(DEBUG1, "foreign key %s of the post-data script %s",
		 quote_identifier(def->conname),
		 trusted ? "trusted from the snapshot" : "validated");
	if (!trusted)
	{
		sql = psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
					   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												  get_rel_name(relid)),
					   quote_identifier(def->conname));
		ret = SPI_execute(sql, false, 0);
		if (ret < 0)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		pfree(sql);
	}
	return trusted;
}
