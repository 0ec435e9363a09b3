/*-------------------------------------------------------------------------
 *
 * ddl_stub.c
 *		TEMPORARY minimal stand-in for BacCaptureSchemaDDL until the real
 *		capture (branch ddl) lands in main.  Tables, columns with defaults,
 *		NOT NULL, constraints, indexes and sequence values only.  This file
 *		is deleted when the snapshot branch merges the real ddl.c; it must
 *		never reach main.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/ddl_stub.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "pg_bac.h"

/*
 * BacStubQueryText
 *		Run a query returning one text column (NULL allowed) with the schema
 *		OID as $1; return the value of the first row or "".
 */
static char *
BacStubQueryText(const char *sql, Oid nspoid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(nspoid)};
	char	   *result;

	if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "ddl stub query failed");
	result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return result ? result : pstrdup("");
}

/*
 * BacCaptureSchemaDDL (stub)
 *		See pg_bac.h.  Runs under the caller's active snapshot (read-only
 *		SPI never takes a new one).
 */
BacSchemaDDL *
BacCaptureSchemaDDL(Oid nspoid)
{
	BacSchemaDDL *ddl = palloc0(sizeof(BacSchemaDDL));
	MemoryContext caller = CurrentMemoryContext;
	int			save_nestlevel;
	char	   *pre;
	char	   *post;
	List	   *tables = NIL;
	uint64		i;

	SPI_connect();
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path",
							 quote_identifier(get_namespace_name(nspoid)),
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	pre = BacStubQueryText(
						   "SELECT pg_catalog.string_agg(s, E'\\n' ORDER BY o) FROM ("
						   " SELECT c.oid AS o, pg_catalog.format('CREATE SEQUENCE %I;', c.relname) AS s"
						   "  FROM pg_catalog.pg_class c WHERE c.relnamespace = $1 AND c.relkind = 'S'"
						   " UNION ALL"
						   " SELECT c.oid, pg_catalog.format(E'CREATE TABLE %I (\\n%s\\n);', c.relname,"
						   "  (SELECT pg_catalog.string_agg(pg_catalog.format('    %I %s%s%s', a.attname,"
						   "     pg_catalog.format_type(a.atttypid, a.atttypmod),"
						   "     CASE WHEN d.adbin IS NOT NULL THEN ' DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) ELSE '' END,"
						   "     CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END), E',\\n' ORDER BY a.attnum)"
						   "   FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d"
						   "     ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
						   "   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))"
						   "  FROM pg_catalog.pg_class c WHERE c.relnamespace = $1 AND c.relkind = 'r') x",
						   nspoid);
	post = BacStubQueryText(
							"SELECT pg_catalog.string_agg(s, E'\\n' ORDER BY k, o) FROM ("
							" SELECT 1 AS k, con.oid AS o, pg_catalog.format('ALTER TABLE %I ADD CONSTRAINT %I %s;',"
							"   c.relname, con.conname, pg_catalog.pg_get_constraintdef(con.oid)) AS s"
							"  FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid"
							"  WHERE c.relnamespace = $1 AND c.relkind = 'r'"
							" UNION ALL"
							" SELECT 2, i.indexrelid, pg_catalog.pg_get_indexdef(i.indexrelid) || ';'"
							"  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid"
							"  WHERE c.relnamespace = $1 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint x"
							"    WHERE x.conindid = i.indexrelid AND x.contype IN ('p','u','x'))"
							" UNION ALL"
							" SELECT 3, c.oid, pg_catalog.format('SELECT pg_catalog.setval(%L, %s, %s);',"
							"   pg_catalog.quote_ident(c.relname), s.last_value, s.is_called)"
							"  FROM pg_catalog.pg_class c, LATERAL (SELECT * FROM pg_catalog.pg_sequence_last_value(c.oid) v(last_value)) l,"
							"   LATERAL (SELECT COALESCE(l.last_value, q.seqstart) AS last_value, l.last_value IS NOT NULL AS is_called"
							"     FROM pg_catalog.pg_sequence q WHERE q.seqrelid = c.oid) s"
							"  WHERE c.relnamespace = $1 AND c.relkind = 'S') x",
							nspoid);

	if (SPI_execute_with_args("SELECT c.oid FROM pg_catalog.pg_class c"
							  " WHERE c.relnamespace = $1 AND c.relkind = 'r' ORDER BY c.oid",
							  1, (Oid[]) {OIDOID},
							  (Datum[]) {ObjectIdGetDatum(nspoid)},
							  NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "ddl stub query failed");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc,
														   1, &isnull));
		MemoryContext old = MemoryContextSwitchTo(caller);

		tables = lappend_oid(tables, relid);
		MemoryContextSwitchTo(old);
	}

	AtEOXact_GUC(false, save_nestlevel);
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		ddl->pre_data = psprintf("%s\n", pre);
		ddl->post_data = psprintf("%s\n", post);
		MemoryContextSwitchTo(old);
	}
	ddl->tables = tables;
	SPI_finish();
	return ddl;
}
