/*-------------------------------------------------------------------------
 *
 * ddl_catalog.c
 *		The catalog queries that turn each kind of object of a schema into
 *		SQL statements, for the DDL capture driver in ddl.c.
 *
 * Every query takes the schema's OID as $1 and runs with search_path set
 * to that schema alone, so that the server's deparsers (format_type,
 * pg_get_expr, pg_get_constraintdef, regclass/regproc output ...) leave the
 * schema's own objects unqualified and qualify everything else.
 *
 * An item query returns one row per statement group:
 *	 classid, objid		the object the statements create (0, 0 for none)
 *	 prio				ordering class; below 100 is pre-data, else post-data
 *	 sortkey			name used to order items of one class
 *	 sql				the statements, each ending in ";\n"
 *	 dep_classid, dep_objid	one extra dependency (0, 0 for none)
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/ddl_catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pg_bac.h"

/* catalog OIDs as SQL literals */
#define C_TYPE		"1247::pg_catalog.oid"
#define C_PROC		"1255::pg_catalog.oid"
#define C_CLASS		"1259::pg_catalog.oid"
#define C_ATTRDEF	"2604::pg_catalog.oid"
#define C_CONSTR	"2606::pg_catalog.oid"
#define C_REWRITE	"2618::pg_catalog.oid"
#define C_TRIGGER	"2620::pg_catalog.oid"
#define C_POLICY	"3256::pg_catalog.oid"
#define C_STATEXT	"3381::pg_catalog.oid"
#define C_NONE		"0::pg_catalog.oid"

/* not a member of an extension (those come with CREATE EXTENSION) */
#define NOT_EXT(cls, oidexpr) \
	" NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext" \
	" WHERE ext.classid = " cls " AND ext.objid = " oidexpr \
	" AND ext.deptype = 'e') "

/*
 * Not named like an object of pg_catalog: the scripts name objects
 * unqualified and pg_catalog comes first in search_path, so such an object
 * cannot be captured (the uncaptured query lists it).
 */
#define NOT_SHADOWED_REL(c) \
	" NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class shd WHERE shd.relnamespace = 11" \
	" AND shd.relname = " c ".relname) "
#define NOT_SHADOWED_TYPE(t) \
	" NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type shd WHERE shd.typnamespace = 11" \
	" AND shd.typname = " t ".typname) "

/* not made by the system for another object (range constructors ...) */
#define NOT_INTERNAL(cls, oidexpr) \
	" NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend intl" \
	" WHERE intl.classid = " cls " AND intl.objid = " oidexpr \
	" AND intl.deptype = 'i') "

/*
 * A function named by regproc's rules, except that one of the schema's own
 * is always written unqualified: regproc output qualifies a name that is
 * overloaded even inside the schema, which would tie the scripts to the
 * source schema's name (CREATE AGGREGATE and CREATE OPERATOR resolve the
 * bare name by the argument types, so it stays unambiguous).
 */
#define PROC_REF(oidexpr) \
	" (SELECT CASE WHEN pr.pronamespace = $1 THEN pg_catalog.quote_ident(pr.proname)" \
	" ELSE pr.oid::pg_catalog.regproc::pg_catalog.text END" \
	" FROM pg_catalog.pg_proc pr WHERE pr.oid = " oidexpr ") "

/*
 * A routine named like one of pg_catalog with the same argument types: its
 * CREATE names it unqualified (that creates it in the target schema), but a
 * statement that refers to it must name its schema, through current_schema().
 */
#define SHADOWED_PROC(p) \
	" EXISTS (SELECT 1 FROM pg_catalog.pg_proc shd WHERE shd.pronamespace = 11" \
	" AND shd.proname = " p ".proname AND shd.proargtypes = " p ".proargtypes) "

/*
 * Statements about routine p whose text names it after the marker chr(1):
 * the marker is dropped, or for a shadowed routine the statements run
 * through format() with the marker replaced by current_schema().
 */
#define ROUTINE_TAIL(stmts) \
	" CASE WHEN " SHADOWED_PROC("p") " THEN" \
	"  CASE WHEN (" stmts ") = '' THEN '' ELSE" \
	"  'DO $bac$BEGIN EXECUTE pg_catalog.format(' || pg_catalog.quote_literal(" \
	"   pg_catalog.replace(pg_catalog.replace(" stmts ", '%', '%%'), pg_catalog.chr(1), '%1$I.')) ||" \
	"  ', pg_catalog.current_schema()); END$bac$;' || E'\\n' END" \
	" ELSE pg_catalog.replace(" stmts ", pg_catalog.chr(1), '') END "

/* the comment on an object as a COMMENT statement, or '' */
#define COMMENT_SQL(target, cls, oidexpr, subexpr) \
	" COALESCE((SELECT 'COMMENT ON ' || " target " || ' IS ' ||" \
	" pg_catalog.quote_literal(dsc.description) || E';\\n'" \
	" FROM pg_catalog.pg_description dsc WHERE dsc.classoid = " cls \
	" AND dsc.objoid = " oidexpr " AND dsc.objsubid = " subexpr "), '') "

/* ALTER ... OWNER TO */
#define OWNER_SQL(target, owner) \
	" 'ALTER ' || " target " || ' OWNER TO ' ||" \
	" pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(" owner ")) || E';\\n' "

#define ROLE_SQL(r) \
	" CASE WHEN " r " = 0 THEN 'PUBLIC' ELSE" \
	" pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(" r ")) END "

/*
 * A grant made by another role than the owner (one the owner gave the
 * grant option) is replayed as that role, so that the grantor matches.
 */
#define AS_GRANTOR_BEGIN(grantor, owner) \
	" CASE WHEN " grantor " <> " owner " THEN 'SET ROLE ' ||" \
	" pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(" grantor ")) || E';\\n' ELSE '' END "
#define AS_GRANTOR_END(grantor, owner) \
	" CASE WHEN " grantor " <> " owner " THEN E'RESET ROLE;\\n' ELSE '' END "

/*
 * The privileges of an object as REVOKE/GRANT statements that rebuild its
 * ACL item for item, in the same order; '' when the ACL is the default
 * (NULL).
 */
#define ACL_SQL(kind, name, acl, owner) \
	" CASE WHEN " acl " IS NULL THEN '' ELSE" \
	" 'REVOKE ALL ON ' || " kind " || ' ' || " name " || E' FROM PUBLIC;\\n' ||" \
	" 'REVOKE ALL ON ' || " kind " || ' ' || " name " || ' FROM ' ||" \
	"   pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(" owner ")) || E';\\n' ||" \
	" COALESCE((SELECT pg_catalog.string_agg(" \
	"   " AS_GRANTOR_BEGIN("g.grantor", owner) " ||" \
	"   'GRANT ' || g.privs || ' ON ' ||" \
	"   " kind " || ' ' || " name " || ' TO ' || " ROLE_SQL("g.grantee") " ||" \
	"   CASE WHEN g.grantable THEN ' WITH GRANT OPTION' ELSE '' END ||" \
	"   E';\\n' || " AS_GRANTOR_END("g.grantor", owner) ", '' ORDER BY g.ord)" \
	"  FROM (SELECT pg_catalog.min(x.ord) AS ord, x.grantor, x.grantee," \
	"         x.is_grantable AS grantable," \
	"         pg_catalog.string_agg(x.privilege_type, ', ' ORDER BY x.ord) AS privs" \
	"        FROM pg_catalog.aclexplode(" acl ") WITH ORDINALITY" \
	"          AS x(grantor, grantee, privilege_type, is_grantable, ord)" \
	"        GROUP BY x.grantor, x.grantee, x.is_grantable) g), '') END "

/* sequence options shared by CREATE SEQUENCE and identity columns */
#define SEQ_OPTIONS(s) \
	" 'START WITH ' || " s ".seqstart || ' INCREMENT BY ' || " s ".seqincrement ||" \
	" ' MINVALUE ' || " s ".seqmin || ' MAXVALUE ' || " s ".seqmax ||" \
	" ' CACHE ' || " s ".seqcache ||" \
	" CASE WHEN " s ".seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END "

#define RELNAME(c) " pg_catalog.quote_ident(" c ".relname) "
/* TABLE or FOREIGN TABLE, for ALTER, COMMENT ON ... of relation c */
#define REL_KW " CASE c.relkind WHEN 'f' THEN 'FOREIGN TABLE ' ELSE 'TABLE ' END "

/* collations */
static const char q_collations[] =
"SELECT 3456::pg_catalog.oid, o.oid, 5, o.collname::pg_catalog.text,"
" 'CREATE COLLATION ' || pg_catalog.quote_ident(o.collname) || ' (provider = ' ||"
" CASE o.collprovider WHEN 'i' THEN 'icu' WHEN 'c' THEN 'libc' ELSE 'default' END ||"
" CASE WHEN NOT o.collisdeterministic THEN ', deterministic = false' ELSE '' END ||"
" CASE WHEN o.collprovider = 'i' THEN ', locale = ' || pg_catalog.quote_literal(o.colliculocale)"
"   WHEN o.collcollate = o.collctype THEN ', locale = ' || pg_catalog.quote_literal(o.collcollate)"
"   ELSE ', lc_collate = ' || pg_catalog.quote_literal(o.collcollate) ||"
"     ', lc_ctype = ' || pg_catalog.quote_literal(o.collctype) END || E');\\n' ||"
COMMENT_SQL("'COLLATION ' || pg_catalog.quote_ident(o.collname)", "3456::pg_catalog.oid", "o.oid", "0") " ||"
OWNER_SQL("'COLLATION ' || pg_catalog.quote_ident(o.collname)", "o.collowner") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_collation o"
" WHERE o.collnamespace = $1 AND " NOT_EXT("3456::pg_catalog.oid", "o.oid");

/* types: enum, composite, range, domain */
static const char q_types[] =
"SELECT " C_TYPE ", t.oid, 10, t.typname::pg_catalog.text,"
" CASE t.typtype"
" WHEN 'e' THEN 'CREATE TYPE ' || pg_catalog.quote_ident(t.typname) || ' AS ENUM (' ||"
"   COALESCE((SELECT pg_catalog.string_agg(E'\\n    ' || pg_catalog.quote_literal(e.enumlabel), ','"
"     ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), '') ||"
"   E'\\n);\\n'"
" WHEN 'c' THEN 'CREATE TYPE ' || pg_catalog.quote_ident(t.typname) || ' AS (' ||"
"   COALESCE((SELECT pg_catalog.string_agg(E'\\n    ' || pg_catalog.quote_ident(a.attname) || ' ' ||"
"     pg_catalog.format_type(a.atttypid, a.atttypmod) ||"
"     CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation"
"       THEN ' COLLATE ' || a.attcollation::pg_catalog.regcollation::pg_catalog.text ELSE '' END,"
"     ',' ORDER BY a.attnum)"
"    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid"
"    WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') ||"
"   E'\\n);\\n'"
" WHEN 'r' THEN 'CREATE TYPE ' || pg_catalog.quote_ident(t.typname) || E' AS RANGE (\\n' ||"
"   '    subtype = ' || pg_catalog.format_type(r.rngsubtype, NULL) ||"
"   (SELECT E',\\n    subtype_opclass = ' ||"
"      CASE WHEN oc.opcnamespace = $1 THEN '' ELSE"
"        pg_catalog.quote_ident(ocn.nspname) || '.' END || pg_catalog.quote_ident(oc.opcname)"
"    FROM pg_catalog.pg_opclass oc JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace"
"    WHERE oc.oid = r.rngsubopc) ||"
"   CASE WHEN r.rngcollation <> 0 THEN E',\\n    collation = ' ||"
"     r.rngcollation::pg_catalog.regcollation::pg_catalog.text ELSE '' END ||"
"   CASE WHEN r.rngcanonical <> 0 THEN E',\\n    canonical = ' ||"
"     " PROC_REF("r.rngcanonical") " ELSE '' END ||"
"   CASE WHEN r.rngsubdiff <> 0 THEN E',\\n    subtype_diff = ' ||"
"     " PROC_REF("r.rngsubdiff") " ELSE '' END ||"
"   E',\\n    multirange_type_name = ' || pg_catalog.quote_ident(mt.typname) || E'\\n);\\n'"
" WHEN 'd' THEN 'CREATE DOMAIN ' || pg_catalog.quote_ident(t.typname) || ' AS ' ||"
"   pg_catalog.format_type(t.typbasetype, t.typtypmod) ||"
"   CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation"
"     THEN ' COLLATE ' || t.typcollation::pg_catalog.regcollation::pg_catalog.text ELSE '' END ||"
"   CASE WHEN t.typdefaultbin IS NOT NULL THEN ' DEFAULT ' ||"
"     pg_catalog.pg_get_expr(t.typdefaultbin, 0) ELSE '' END ||"
"   CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END ||"
"   COALESCE((SELECT pg_catalog.string_agg(E'\\n    CONSTRAINT ' || pg_catalog.quote_ident(dc.conname) ||"
"      ' ' || pg_catalog.pg_get_constraintdef(dc.oid), '' ORDER BY dc.conname)"
"    FROM pg_catalog.pg_constraint dc WHERE dc.contypid = t.oid AND dc.convalidated), '') ||"
"   E';\\n' ||"
"   COALESCE((SELECT pg_catalog.string_agg('COMMENT ON CONSTRAINT ' || pg_catalog.quote_ident(dc.conname) ||"
"      ' ON DOMAIN ' || pg_catalog.quote_ident(t.typname) || ' IS ' ||"
"      pg_catalog.quote_literal(dsc.description) || E';\\n', '' ORDER BY dc.conname)"
"    FROM pg_catalog.pg_constraint dc JOIN pg_catalog.pg_description dsc"
"      ON dsc.classoid = " C_CONSTR " AND dsc.objoid = dc.oid AND dsc.objsubid = 0"
"    WHERE dc.contypid = t.oid AND dc.convalidated), '')"
" END ||"
COMMENT_SQL("CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END || pg_catalog.quote_ident(t.typname)",
			C_TYPE, "t.oid", "0") " ||"
OWNER_SQL("CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END || pg_catalog.quote_ident(t.typname)",
		  "t.typowner") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_type t"
" LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid"
" LEFT JOIN pg_catalog.pg_type mt ON mt.oid = r.rngmultitypid"
" LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype"
" WHERE t.typnamespace = $1 AND t.typtype IN ('e', 'c', 'r', 'd')"
" AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')"
" AND " NOT_EXT(C_TYPE, "t.oid") " AND " NOT_SHADOWED_TYPE("t")
/* comments on composite type columns */
" UNION ALL "
"SELECT " C_NONE ", " C_NONE ", 11, t.typname::pg_catalog.text,"
" pg_catalog.string_agg('COMMENT ON COLUMN ' || pg_catalog.quote_ident(t.typname) || '.' ||"
"   pg_catalog.quote_ident(a.attname) || ' IS ' || pg_catalog.quote_literal(dsc.description) ||"
"   E';\\n', '' ORDER BY a.attnum),"
C_TYPE ", t.oid"
" FROM pg_catalog.pg_type t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.typrelid"
" JOIN pg_catalog.pg_description dsc ON dsc.classoid = " C_CLASS
"   AND dsc.objoid = t.typrelid AND dsc.objsubid = a.attnum"
" WHERE t.typnamespace = $1 AND t.typtype = 'c' AND " NOT_EXT(C_TYPE, "t.oid")
" AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'"
" GROUP BY t.oid, t.typname"
/* domain constraints that are NOT VALID: after the data */
" UNION ALL "
"SELECT " C_CONSTR ", dc.oid, 100, dc.conname::pg_catalog.text,"
" 'ALTER DOMAIN ' || pg_catalog.quote_ident(t.typname) || ' ADD CONSTRAINT ' ||"
"   pg_catalog.quote_ident(dc.conname) || ' ' || pg_catalog.pg_get_constraintdef(dc.oid) || E';\\n' ||"
COMMENT_SQL("'CONSTRAINT ' || pg_catalog.quote_ident(dc.conname) || ' ON DOMAIN ' || pg_catalog.quote_ident(t.typname)",
			C_CONSTR, "dc.oid", "0") ","
C_TYPE ", t.oid"
" FROM pg_catalog.pg_constraint dc JOIN pg_catalog.pg_type t ON t.oid = dc.contypid"
" WHERE t.typnamespace = $1 AND NOT dc.convalidated AND " NOT_EXT(C_TYPE, "t.oid")
/* privileges on types */
" UNION ALL "
"SELECT " C_NONE ", " C_NONE ", 180, t.typname::pg_catalog.text,"
ACL_SQL("CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END", "pg_catalog.quote_ident(t.typname)",
		"t.typacl", "t.typowner") ","
C_TYPE ", t.oid"
" FROM pg_catalog.pg_type t"
" WHERE t.typnamespace = $1 AND t.typtype IN ('e', 'c', 'r', 'd') AND t.typacl IS NOT NULL"
" AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')"
" AND " NOT_EXT(C_TYPE, "t.oid");

/* functions, procedures, aggregates */
#define ROUTINE_SIG \
	" pg_catalog.chr(1) || pg_catalog.quote_ident(p.proname) || '(' ||" \
	" pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' "
/* the same, as ALTER AGGREGATE and COMMENT ON AGGREGATE want it: (*) */
#define ROUTINE_SIG_STAR \
	" pg_catalog.chr(1) || pg_catalog.quote_ident(p.proname) || '(' ||" \
	" CASE WHEN p.prokind = 'a' AND p.pronargs = 0 THEN '*' ELSE" \
	" pg_catalog.pg_get_function_identity_arguments(p.oid) END || ')' "
#define ROUTINE_KIND \
	" CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END "

/*
 * pg_get_functiondef, with "SET search_path TO '<the schema>'" turned into
 * "SET search_path FROM CURRENT": the scripts run with search_path set to
 * the target schema, so a function pinned to its own schema stays pinned
 * to it wherever it is restored.
 */
#define FUNCTIONDEF \
	" pg_catalog.replace(pg_catalog.pg_get_functiondef(p.oid)," \
	"  E'\\n SET search_path TO ' || pg_catalog.quote_literal(n.nspname) || E'\\n'," \
	"  E'\\n SET search_path FROM CURRENT\\n') "

static const char q_routines[] =
"SELECT " C_PROC ", p.oid, CASE p.prokind WHEN 'a' THEN 25 ELSE 20 END,"
" p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',"
" CASE WHEN p.prokind = 'a' THEN"
"   'CREATE AGGREGATE ' || pg_catalog.quote_ident(p.proname) || '(' ||"
"   CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_catalog.pg_get_function_arguments(p.oid) END ||"
"   E') (\\n    SFUNC = ' || " PROC_REF("ag.aggtransfn") " ||"
"   E',\\n    STYPE = ' || pg_catalog.format_type(ag.aggtranstype, NULL) ||"
"   CASE WHEN ag.aggtransspace <> 0 THEN E',\\n    SSPACE = ' || ag.aggtransspace ELSE '' END ||"
"   CASE WHEN ag.agginitval IS NOT NULL THEN E',\\n    INITCOND = ' ||"
"     pg_catalog.quote_literal(ag.agginitval) ELSE '' END ||"
"   CASE WHEN ag.aggfinalfn <> 0 THEN E',\\n    FINALFUNC = ' ||"
"     " PROC_REF("ag.aggfinalfn") " ||"
"     CASE WHEN ag.aggfinalextra THEN E',\\n    FINALFUNC_EXTRA' ELSE '' END ||"
"     E',\\n    FINALFUNC_MODIFY = ' || CASE ag.aggfinalmodify WHEN 'r' THEN 'READ_ONLY'"
"       WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END ELSE '' END ||"
"   CASE WHEN ag.aggcombinefn <> 0 THEN E',\\n    COMBINEFUNC = ' ||"
"     " PROC_REF("ag.aggcombinefn") " ELSE '' END ||"
"   CASE WHEN ag.aggserialfn <> 0 THEN E',\\n    SERIALFUNC = ' ||"
"     " PROC_REF("ag.aggserialfn") " ELSE '' END ||"
"   CASE WHEN ag.aggdeserialfn <> 0 THEN E',\\n    DESERIALFUNC = ' ||"
"     " PROC_REF("ag.aggdeserialfn") " ELSE '' END ||"
"   CASE WHEN ag.aggmtransfn <> 0 THEN E',\\n    MSFUNC = ' ||"
"     " PROC_REF("ag.aggmtransfn") " ||"
"     E',\\n    MINVFUNC = ' || " PROC_REF("ag.aggminvtransfn") " ||"
"     E',\\n    MSTYPE = ' || pg_catalog.format_type(ag.aggmtranstype, NULL) ||"
"     CASE WHEN ag.aggmtransspace <> 0 THEN E',\\n    MSSPACE = ' || ag.aggmtransspace ELSE '' END ||"
"     CASE WHEN ag.aggminitval IS NOT NULL THEN E',\\n    MINITCOND = ' ||"
"       pg_catalog.quote_literal(ag.aggminitval) ELSE '' END ||"
"     CASE WHEN ag.aggmfinalfn <> 0 THEN E',\\n    MFINALFUNC = ' ||"
"       " PROC_REF("ag.aggmfinalfn") " ||"
"       CASE WHEN ag.aggmfinalextra THEN E',\\n    MFINALFUNC_EXTRA' ELSE '' END ||"
"       E',\\n    MFINALFUNC_MODIFY = ' || CASE ag.aggmfinalmodify WHEN 'r' THEN 'READ_ONLY'"
"         WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END ELSE '' END"
"   ELSE '' END ||"
"   CASE WHEN ag.aggsortop <> 0 THEN E',\\n    SORTOP = ' ||"
"     (SELECT CASE WHEN o.oprnamespace = $1 THEN '' ELSE 'OPERATOR(' ||"
"        pg_catalog.quote_ident(n.nspname) || '.' END || o.oprname ||"
"        CASE WHEN o.oprnamespace = $1 THEN '' ELSE ')' END"
"      FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"
"      WHERE o.oid = ag.aggsortop) ELSE '' END ||"
"   CASE WHEN ag.aggkind = 'h' THEN E',\\n    HYPOTHETICAL' ELSE '' END ||"
"   CASE p.proparallel WHEN 's' THEN E',\\n    PARALLEL = safe'"
"     WHEN 'r' THEN E',\\n    PARALLEL = restricted' ELSE '' END ||"
"   E'\\n);\\n'"
" ELSE"
"   'CREATE OR REPLACE ' || CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END ||"
"   pg_catalog.quote_ident(p.proname) ||"
"   pg_catalog.rtrim(pg_catalog.substr(" FUNCTIONDEF ","
"     pg_catalog.length('CREATE OR REPLACE ' || CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END ||"
"       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)) + 1),"
"     E'\\n') || E';\\n'"
" END ||"
ROUTINE_TAIL(COMMENT_SQL(ROUTINE_KIND " || ' ' || " ROUTINE_SIG_STAR, C_PROC, "p.oid", "0") " ||"
			 OWNER_SQL(ROUTINE_KIND " || ' ' || " ROUTINE_SIG_STAR, "p.proowner")) ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
" LEFT JOIN pg_catalog.pg_aggregate ag ON ag.aggfnoid = p.oid"
" WHERE p.pronamespace = $1 AND " NOT_EXT(C_PROC, "p.oid") " AND " NOT_INTERNAL(C_PROC, "p.oid")
" UNION ALL "
"SELECT " C_NONE ", " C_NONE ", 180, p.proname::pg_catalog.text,"
ROUTINE_TAIL(ACL_SQL("CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END", ROUTINE_SIG,
					 "p.proacl", "p.proowner")) ","
C_PROC ", p.oid"
" FROM pg_catalog.pg_proc p"
" WHERE p.pronamespace = $1 AND p.proacl IS NOT NULL AND " NOT_EXT(C_PROC, "p.oid")
" AND " NOT_INTERNAL(C_PROC, "p.oid");

/* an operator as OPERATOR(schema.name) unless it is one of ours */
#define OPERATOR_NAME(oid) \
	" (SELECT CASE WHEN o2.oprnamespace = $1 THEN o2.oprname ELSE 'OPERATOR(' ||" \
	"  pg_catalog.quote_ident(n2.nspname) || '.' || o2.oprname || ')' END" \
	"  FROM pg_catalog.pg_operator o2 JOIN pg_catalog.pg_namespace n2 ON n2.oid = o2.oprnamespace" \
	"  WHERE o2.oid = " oid ") "
#define OPERATOR_SIG \
	" o.oprname || '(' || CASE WHEN o.oprleft = 0 THEN 'NONE'" \
	" ELSE pg_catalog.format_type(o.oprleft, NULL) END || ', ' ||" \
	" pg_catalog.format_type(o.oprright, NULL) || ')' "

/* operators (shells, made by a COMMUTATOR or NEGATOR clause, come along) */
static const char q_operators[] =
"SELECT 2617::pg_catalog.oid, o.oid, 22, " OPERATOR_SIG ","
" 'CREATE OPERATOR ' || o.oprname || E' (\\n    FUNCTION = ' || " PROC_REF("o.oprcode") " ||"
" CASE WHEN o.oprleft <> 0 THEN E',\\n    LEFTARG = ' || pg_catalog.format_type(o.oprleft, NULL) ELSE '' END ||"
" E',\\n    RIGHTARG = ' || pg_catalog.format_type(o.oprright, NULL) ||"
" CASE WHEN o.oprcom <> 0 THEN E',\\n    COMMUTATOR = ' || " OPERATOR_NAME("o.oprcom") " ELSE '' END ||"
" CASE WHEN o.oprnegate <> 0 THEN E',\\n    NEGATOR = ' || " OPERATOR_NAME("o.oprnegate") " ELSE '' END ||"
" CASE WHEN o.oprrest <> 0 THEN E',\\n    RESTRICT = ' || " PROC_REF("o.oprrest") " ELSE '' END ||"
" CASE WHEN o.oprjoin <> 0 THEN E',\\n    JOIN = ' || " PROC_REF("o.oprjoin") " ELSE '' END ||"
" CASE WHEN o.oprcanhash THEN E',\\n    HASHES' ELSE '' END ||"
" CASE WHEN o.oprcanmerge THEN E',\\n    MERGES' ELSE '' END || E'\\n);\\n' ||"
COMMENT_SQL("'OPERATOR ' || " OPERATOR_SIG, "2617::pg_catalog.oid", "o.oid", "0") " ||"
OWNER_SQL("'OPERATOR ' || " OPERATOR_SIG, "o.oprowner") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_operator o"
" WHERE o.oprnamespace = $1 AND o.oprcode <> 0 AND " NOT_EXT("2617::pg_catalog.oid", "o.oid");

/* a name qualified with its schema unless it is ours */
#define QUALIFIED(nspexpr, nameexpr) \
	" CASE WHEN " nspexpr " = $1 THEN '' ELSE" \
	" pg_catalog.quote_ident((SELECT qn.nspname FROM pg_catalog.pg_namespace qn" \
	"  WHERE qn.oid = " nspexpr ")) || '.' END || pg_catalog.quote_ident(" nameexpr ") "

/* text search dictionaries and configurations (with their mappings) */
static const char q_text_search[] =
"SELECT 3600::pg_catalog.oid, d.oid, 23, d.dictname::pg_catalog.text,"
" 'CREATE TEXT SEARCH DICTIONARY ' || pg_catalog.quote_ident(d.dictname) || E' (\\n    TEMPLATE = ' ||"
" (SELECT " QUALIFIED("t.tmplnamespace", "t.tmplname") " FROM pg_catalog.pg_ts_template t"
"  WHERE t.oid = d.dicttemplate) ||"
" COALESCE(E',\\n    ' || d.dictinitoption, '') || E' );\\n' ||"
COMMENT_SQL("'TEXT SEARCH DICTIONARY ' || pg_catalog.quote_ident(d.dictname)", "3600::pg_catalog.oid", "d.oid", "0") " ||"
OWNER_SQL("'TEXT SEARCH DICTIONARY ' || pg_catalog.quote_ident(d.dictname)", "d.dictowner") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_ts_dict d"
" WHERE d.dictnamespace = $1 AND " NOT_EXT("3600::pg_catalog.oid", "d.oid")
" UNION ALL "
"SELECT 3602::pg_catalog.oid, c.oid, 24, c.cfgname::pg_catalog.text,"
" 'CREATE TEXT SEARCH CONFIGURATION ' || pg_catalog.quote_ident(c.cfgname) || E' (\\n    PARSER = ' ||"
" (SELECT " QUALIFIED("p.prsnamespace", "p.prsname") " FROM pg_catalog.pg_ts_parser p"
"  WHERE p.oid = c.cfgparser) || E' );\\n' ||"
" COALESCE((SELECT pg_catalog.string_agg('ALTER TEXT SEARCH CONFIGURATION ' ||"
"   pg_catalog.quote_ident(c.cfgname) || ' ADD MAPPING FOR ' || m.alias || ' WITH ' || m.dicts ||"
"   E';\\n', '' ORDER BY m.tokentype)"
"  FROM (SELECT mp.maptokentype AS tokentype, tt.alias,"
"         pg_catalog.string_agg((SELECT " QUALIFIED("dd.dictnamespace", "dd.dictname")
"           FROM pg_catalog.pg_ts_dict dd WHERE dd.oid = mp.mapdict), ', ' ORDER BY mp.mapseqno) AS dicts"
"        FROM pg_catalog.pg_ts_config_map mp"
"        JOIN pg_catalog.ts_token_type(c.cfgparser) tt ON tt.tokid = mp.maptokentype"
"        WHERE mp.mapcfg = c.oid GROUP BY mp.maptokentype, tt.alias) m), '') ||"
COMMENT_SQL("'TEXT SEARCH CONFIGURATION ' || pg_catalog.quote_ident(c.cfgname)", "3602::pg_catalog.oid", "c.oid", "0") " ||"
OWNER_SQL("'TEXT SEARCH CONFIGURATION ' || pg_catalog.quote_ident(c.cfgname)", "c.cfgowner") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_ts_config c"
" WHERE c.cfgnamespace = $1 AND " NOT_EXT("3602::pg_catalog.oid", "c.oid");

/* sequences that are not identity sequences (those come with the column) */
#define IS_IDENTITY_SEQ(s) \
	" EXISTS (SELECT 1 FROM pg_catalog.pg_depend sd WHERE sd.classid = " C_CLASS \
	" AND sd.objid = " s " AND sd.refclassid = " C_CLASS " AND sd.deptype = 'i') "

static const char q_sequences[] =
"SELECT " C_CLASS ", c.oid, 30, c.relname::pg_catalog.text,"
" 'CREATE ' || CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END ||"
" 'SEQUENCE ' || " RELNAME("c") " || E'\\n    AS ' || pg_catalog.format_type(s.seqtypid, NULL) ||"
" E'\\n    ' || " SEQ_OPTIONS("s") " || E';\\n' ||"
COMMENT_SQL("'SEQUENCE ' || " RELNAME("c"), C_CLASS, "c.oid", "0") " ||"
OWNER_SQL("'SEQUENCE ' || " RELNAME("c"), "c.relowner") " ||"
" COALESCE((SELECT 'ALTER SEQUENCE ' || " RELNAME("c") " || ' OWNED BY ' ||"
"   d.refobjid::pg_catalog.regclass::pg_catalog.text || '.' || pg_catalog.quote_ident(a.attname) || E';\\n'"
"  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a"
"    ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
"  WHERE d.classid = " C_CLASS " AND d.objid = c.oid AND d.refclassid = " C_CLASS
"    AND d.deptype = 'a' AND d.refobjsubid > 0), ''),"
C_NONE ", " C_NONE
" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid"
" WHERE c.relnamespace = $1 AND c.relkind = 'S' AND NOT " IS_IDENTITY_SEQ("c.oid")
" AND " NOT_SHADOWED_REL("c")
" AND " NOT_EXT(C_CLASS, "c.oid")
" UNION ALL "
"SELECT " C_NONE ", " C_NONE ", 180, c.relname::pg_catalog.text,"
ACL_SQL("'SEQUENCE'", RELNAME("c"), "c.relacl", "c.relowner") ","
C_CLASS ", c.oid"
" FROM pg_catalog.pg_class c"
" WHERE c.relnamespace = $1 AND c.relkind = 'S' AND c.relacl IS NOT NULL"
" AND " NOT_EXT(C_CLASS, "c.oid");

/* the definition of one column of table c, attribute a */
#define COLUMN_SQL \
	" E'\\n    ' || pg_catalog.quote_ident(a.attname) || ' ' ||" \
	" pg_catalog.format_type(a.atttypid, a.atttypmod) ||" \
	" COALESCE(' OPTIONS (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) ||" \
	"   ' ' || pg_catalog.quote_literal(o.option_value), ', ')" \
	"   FROM pg_catalog.pg_options_to_table(a.attfdwoptions) o) || ')', '') ||" \
	" CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation" \
	"   THEN ' COLLATE ' || a.attcollation::pg_catalog.regcollation::pg_catalog.text ELSE '' END ||" \
	" CASE WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' ||" \
	"   (SELECT pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) FROM pg_catalog.pg_attrdef ad" \
	"    WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum) || ') STORED' ELSE '' END ||" \
	" CASE WHEN a.attidentity IN ('a', 'd') THEN ' GENERATED ' ||" \
	"   CASE a.attidentity WHEN 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END || ' AS IDENTITY (' ||" \
	"   (SELECT 'SEQUENCE NAME ' || pg_catalog.quote_ident(sc.relname) || ' ' || " SEQ_OPTIONS("sq") \
	"    FROM pg_catalog.pg_depend sd JOIN pg_catalog.pg_class sc ON sc.oid = sd.objid" \
	"    JOIN pg_catalog.pg_sequence sq ON sq.seqrelid = sc.oid" \
	"    WHERE sd.classid = " C_CLASS " AND sd.refclassid = " C_CLASS \
	"      AND sd.refobjid = a.attrelid AND sd.refobjsubid = a.attnum AND sd.deptype = 'i'" \
	"      AND sc.relkind = 'S') || ')' ELSE '' END ||" \
	" CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END "

/*
 * The column options a user set; Debian's server keeps an internal
 * pg_attver option there that pg_dump leaves out, and so do we.
 */
#define USER_ATTOPTIONS \
	" pg_catalog.array_to_string(ARRAY(SELECT o FROM pg_catalog.unnest(a.attoptions) o" \
	"  WHERE o NOT LIKE 'pg\\_attver=%'), ', ') "

/* is column a of table c written in its CREATE TABLE */
#define COLUMN_WRITTEN " (a.attislocal OR c.relispartition) "

/*
 * A valid CHECK constraint k of table c is written inside CREATE TABLE,
 * like pg_dump does, except when it calls a function of the schema and the
 * table has no inheritance relatives: then it is a statement of its own,
 * so that a function that reads the table (BEGIN ATOMIC) can come between.
 */
#define SEPARATE_CHECK \
	" (NOT c.relispartition AND c.relkind = 'r'" \
	"  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i" \
	"   WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)" \
	"  AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc f" \
	"   ON d.refclassid = " C_PROC " AND f.oid = d.refobjid" \
	"   WHERE d.classid = " C_CONSTR " AND d.objid = k.oid AND f.pronamespace = $1)) "

/* tables: regular, unlogged, partitioned, partitions, inheritance children */
static const char q_tables[] =
"SELECT " C_CLASS ", c.oid, 40, c.relname::pg_catalog.text,"
" 'CREATE ' || CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END ||"
" CASE c.relkind WHEN 'f' THEN 'FOREIGN ' ELSE '' END || 'TABLE ' || " RELNAME("c") " || ' (' ||"
" COALESCE(pg_catalog.array_to_string(ARRAY("
"   SELECT " COLUMN_SQL
"   FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid"
"   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND " COLUMN_WRITTEN
"   ORDER BY a.attnum) ||"
"  ARRAY(SELECT E'\\n    CONSTRAINT ' || pg_catalog.quote_ident(k.conname) || ' ' ||"
"     pg_catalog.pg_get_constraintdef(k.oid)"
"   FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c'"
"     AND k.convalidated AND (k.conislocal OR c.relispartition) AND NOT " SEPARATE_CHECK
"   ORDER BY k.conname), ','), '') || E'\\n)' ||"
" CASE WHEN NOT c.relispartition AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)"
"   THEN E'\\nINHERITS (' || (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::pg_catalog.text, ', '"
"     ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) || ')' ELSE '' END ||"
" CASE WHEN c.relkind = 'p' THEN E'\\nPARTITION BY ' || pg_catalog.pg_get_partkeydef(c.oid) ELSE '' END ||"
" CASE WHEN c.relkind = 'f' THEN (SELECT E'\\nSERVER ' || pg_catalog.quote_ident(fs.srvname) ||"
"   COALESCE(E'\\nOPTIONS (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || ' ' ||"
"     pg_catalog.quote_literal(o.option_value), ', ') FROM pg_catalog.pg_options_to_table(ft.ftoptions) o) || ')', '')"
"   FROM pg_catalog.pg_foreign_table ft JOIN pg_catalog.pg_foreign_server fs ON fs.oid = ft.ftserver"
"   WHERE ft.ftrelid = c.oid) ELSE '' END ||"
" CASE WHEN am.amname IS NOT NULL AND am.amname <> 'heap' THEN E'\\nUSING ' ||"
"   pg_catalog.quote_ident(am.amname) ELSE '' END ||"
" CASE WHEN c.reloptions IS NOT NULL THEN E'\\nWITH (' ||"
"   pg_catalog.array_to_string(c.reloptions, ', ') || ')' ELSE '' END || E';\\n' ||"
/* NOT NULL on inherited columns that the parents do not have */
" COALESCE((SELECT pg_catalog.string_agg('ALTER ' || " REL_KW " || 'ONLY ' || " RELNAME("c") " || ' ALTER COLUMN ' ||"
"   pg_catalog.quote_ident(a.attname) || E' SET NOT NULL;\\n', '' ORDER BY a.attnum)"
"  FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
"  AND NOT " COLUMN_WRITTEN " AND a.attnotnull AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i"
"    JOIN pg_catalog.pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname"
"    WHERE i.inhrelid = c.oid AND pa.attnotnull)), '') ||"
/* per-column settings */
" COALESCE((SELECT pg_catalog.string_agg("
"   CASE WHEN a.attstattarget >= 0 THEN 'ALTER ' || " REL_KW " || 'ONLY ' || " RELNAME("c") " || ' ALTER COLUMN ' ||"
"     pg_catalog.quote_ident(a.attname) || ' SET STATISTICS ' || a.attstattarget || E';\\n' ELSE '' END ||"
"   CASE WHEN a.attstorage <> at.typstorage THEN 'ALTER ' || " REL_KW " || 'ONLY ' || " RELNAME("c") " || ' ALTER COLUMN ' ||"
"     pg_catalog.quote_ident(a.attname) || ' SET STORAGE ' || CASE a.attstorage WHEN 'p' THEN 'PLAIN'"
"     WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END || E';\\n' ELSE '' END ||"
"   CASE WHEN a.attcompression <> '' THEN 'ALTER ' || " REL_KW " || 'ONLY ' || " RELNAME("c") " || ' ALTER COLUMN ' ||"
"     pg_catalog.quote_ident(a.attname) || ' SET COMPRESSION ' || CASE a.attcompression WHEN 'l'"
"     THEN 'lz4' ELSE 'pglz' END || E';\\n' ELSE '' END ||"
"   CASE WHEN " USER_ATTOPTIONS " <> '' THEN 'ALTER ' || " REL_KW " || 'ONLY ' || " RELNAME("c") " || ' ALTER COLUMN ' ||"
"     pg_catalog.quote_ident(a.attname) || ' SET (' || " USER_ATTOPTIONS " ||"
"     E');\\n' ELSE '' END, '' ORDER BY a.attnum)"
"  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid"
"  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') ||"
" CASE WHEN c.relispartition THEN 'ALTER TABLE ONLY ' ||"
"   (SELECT i.inhparent::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_inherits i"
"    WHERE i.inhrelid = c.oid) || ' ATTACH PARTITION ' || " RELNAME("c") " || ' ' ||"
"   pg_catalog.pg_get_expr(c.relpartbound, c.oid) || E';\\n' ELSE '' END ||"
COMMENT_SQL(REL_KW " || " RELNAME("c"), C_CLASS, "c.oid", "0") " ||"
" COALESCE((SELECT pg_catalog.string_agg('COMMENT ON COLUMN ' || " RELNAME("c") " || '.' ||"
"   pg_catalog.quote_ident(a.attname) || ' IS ' || pg_catalog.quote_literal(dsc.description) ||"
"   E';\\n', '' ORDER BY a.attnum)"
"  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_description dsc ON dsc.classoid = " C_CLASS
"   AND dsc.objoid = c.oid AND dsc.objsubid = a.attnum WHERE a.attrelid = c.oid), '') ||"
" COALESCE((SELECT pg_catalog.string_agg('COMMENT ON CONSTRAINT ' || pg_catalog.quote_ident(k.conname) ||"
"   ' ON ' || " RELNAME("c") " || ' IS ' || pg_catalog.quote_literal(dsc.description) || E';\\n', ''"
"   ORDER BY k.conname)"
"  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_description dsc ON dsc.classoid = " C_CONSTR
"   AND dsc.objoid = k.oid AND dsc.objsubid = 0"
"  WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.convalidated"
"   AND (k.conislocal OR c.relispartition) AND NOT " SEPARATE_CHECK "), '') ||"
OWNER_SQL(REL_KW " || " RELNAME("c"), "c.relowner") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam"
" WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'f') AND " NOT_EXT(C_CLASS, "c.oid")
" AND " NOT_SHADOWED_REL("c")
/* table flags after the data: row level security, replica identity */
" UNION ALL "
"SELECT " C_NONE ", " C_NONE ", 130, c.relname::pg_catalog.text,"
" CASE WHEN c.relrowsecurity THEN 'ALTER TABLE ' || " RELNAME("c") " || E' ENABLE ROW LEVEL SECURITY;\\n'"
"   ELSE '' END ||"
" CASE WHEN c.relforcerowsecurity THEN 'ALTER TABLE ' || " RELNAME("c") " || E' FORCE ROW LEVEL SECURITY;\\n'"
"   ELSE '' END ||"
" CASE c.relreplident WHEN 'f' THEN 'ALTER TABLE ONLY ' || " RELNAME("c") " || E' REPLICA IDENTITY FULL;\\n'"
"   WHEN 'n' THEN 'ALTER TABLE ONLY ' || " RELNAME("c") " || E' REPLICA IDENTITY NOTHING;\\n' ELSE '' END,"
C_CLASS ", c.oid"
" FROM pg_catalog.pg_class c"
" WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'm') AND " NOT_EXT(C_CLASS, "c.oid")
" AND (c.relrowsecurity OR c.relforcerowsecurity OR c.relreplident IN ('f', 'n'))"
/* CHECK constraints that call the schema's functions, see SEPARATE_CHECK */
" UNION ALL "
"SELECT " C_CONSTR ", k.oid, 45, k.conname || ' ' || c.relname,"
" 'ALTER TABLE ONLY ' || " RELNAME("c") " || ' ADD CONSTRAINT ' || pg_catalog.quote_ident(k.conname) ||"
" ' ' || pg_catalog.pg_get_constraintdef(k.oid) || E';\\n' ||"
COMMENT_SQL("'CONSTRAINT ' || pg_catalog.quote_ident(k.conname) || ' ON ' || " RELNAME("c"),
			C_CONSTR, "k.oid", "0") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid"
" WHERE c.relnamespace = $1 AND k.contype = 'c' AND k.convalidated AND k.conislocal"
" AND " NOT_EXT(C_CLASS, "c.oid") " AND " NOT_SHADOWED_REL("c") " AND " SEPARATE_CHECK
/* column defaults (not generated columns): their own items */
" UNION ALL "
"SELECT " C_ATTRDEF ", ad.oid, 50, c.relname || '.' || a.attname,"
" 'ALTER ' || " REL_KW " || 'ONLY ' || " RELNAME("c") " || ' ALTER COLUMN ' || pg_catalog.quote_ident(a.attname) ||"
" ' SET DEFAULT ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) || E';\\n',"
C_NONE ", " C_NONE
" FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_class c ON c.oid = ad.adrelid"
" JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum"
" WHERE c.relnamespace = $1 AND a.attgenerated = '' AND NOT a.attisdropped"
" AND " NOT_EXT(C_CLASS, "c.oid")
/* privileges on tables, views, materialized views, and their columns */
" UNION ALL "
"SELECT " C_NONE ", " C_NONE ", 180, c.relname::pg_catalog.text,"
ACL_SQL("'TABLE'", RELNAME("c"), "c.relacl", "c.relowner") " ||"
" COALESCE((SELECT pg_catalog.string_agg(" AS_GRANTOR_BEGIN("x.grantor", "c.relowner") " ||"
"   'GRANT ' || x.privilege_type || ' (' ||"
"   pg_catalog.quote_ident(a.attname) || ') ON TABLE ' || " RELNAME("c") " || ' TO ' ||"
"   " ROLE_SQL("x.grantee") " || CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END ||"
"   E';\\n' || " AS_GRANTOR_END("x.grantor", "c.relowner") ", '' ORDER BY a.attnum, x.ord)"
"  FROM pg_catalog.pg_attribute a, pg_catalog.aclexplode(a.attacl) WITH ORDINALITY"
"    AS x(grantor, grantee, privilege_type, is_grantable, ord)"
"  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''),"
C_CLASS ", c.oid"
" FROM pg_catalog.pg_class c"
" WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND " NOT_EXT(C_CLASS, "c.oid")
" AND (c.relacl IS NOT NULL OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
"   WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL))";

/* views and materialized views */
static const char q_views[] =
"SELECT " C_CLASS ", c.oid, 60, c.relname::pg_catalog.text,"
" 'CREATE ' || CASE c.relkind WHEN 'm' THEN 'MATERIALIZED ' ELSE '' END || 'VIEW ' || " RELNAME("c") " ||"
" CASE WHEN c.reloptions IS NOT NULL THEN ' WITH (' ||"
"   pg_catalog.array_to_string(c.reloptions, ', ') || ')' ELSE '' END || E' AS\\n' ||"
" CASE WHEN c.relkind = 'm' THEN"
"   pg_catalog.rtrim(pg_catalog.pg_get_viewdef(c.oid), ';') || E'\\n  WITH NO DATA;\\n'"
" ELSE pg_catalog.pg_get_viewdef(c.oid) || E'\\n' END ||"
COMMENT_SQL("CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW ' ELSE 'VIEW ' END || " RELNAME("c"),
			C_CLASS, "c.oid", "0") " ||"
" COALESCE((SELECT pg_catalog.string_agg('COMMENT ON COLUMN ' || " RELNAME("c") " || '.' ||"
"   pg_catalog.quote_ident(a.attname) || ' IS ' || pg_catalog.quote_literal(dsc.description) ||"
"   E';\\n', '' ORDER BY a.attnum)"
"  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_description dsc ON dsc.classoid = " C_CLASS
"   AND dsc.objoid = c.oid AND dsc.objsubid = a.attnum WHERE a.attrelid = c.oid), '') ||"
OWNER_SQL("CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW ' ELSE 'VIEW ' END || " RELNAME("c"),
		  "c.relowner") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_class c"
" WHERE c.relnamespace = $1 AND c.relkind IN ('v', 'm') AND " NOT_EXT(C_CLASS, "c.oid")
" AND " NOT_SHADOWED_REL("c")
" UNION ALL "
"SELECT " C_NONE ", " C_NONE ", 170, c.relname::pg_catalog.text,"
" 'REFRESH MATERIALIZED VIEW ' || " RELNAME("c") " || E';\\n',"
C_CLASS ", c.oid"
" FROM pg_catalog.pg_class c"
" WHERE c.relnamespace = $1 AND c.relkind = 'm' AND c.relispopulated AND " NOT_EXT(C_CLASS, "c.oid");

/* constraints after the data: keys, exclusion, checks NOT VALID, foreign keys */
static const char q_constraints[] =
"SELECT " C_CONSTR ", k.oid,"
" CASE k.contype WHEN 'f' THEN 120 ELSE 100 END, k.conname || ' ' || c.relname,"
" CASE WHEN k.contype = 'f' AND fc.relnamespace <> $1 THEN"
"   'DO $bac$BEGIN IF pg_catalog.to_regclass(' ||"
"   pg_catalog.quote_literal(pg_catalog.quote_ident(fn.nspname) || '.' || pg_catalog.quote_ident(fc.relname)) ||"
"   ') IS NOT NULL THEN EXECUTE ' || pg_catalog.quote_literal("
"     'ALTER TABLE ' || CASE WHEN c.relkind = 'p' THEN '' ELSE 'ONLY ' END || " RELNAME("c") " ||"
"     ' ADD CONSTRAINT ' || pg_catalog.quote_ident(k.conname) || ' ' || pg_catalog.pg_get_constraintdef(k.oid)) ||"
"   '; ELSE RAISE WARNING ''foreign key % of table % not restored'', ' ||"
"   pg_catalog.quote_literal(k.conname) || ', ' || pg_catalog.quote_literal(c.relname) || ' USING DETAIL = ' ||"
"   pg_catalog.quote_literal('The table it references, ' || pg_catalog.quote_ident(fn.nspname) || '.' ||"
"     pg_catalog.quote_ident(fc.relname) || ', does not exist.') || E'; END IF; END$bac$;\\n'"
" ELSE"
"   'ALTER TABLE ' || CASE WHEN (k.contype = 'c' AND NOT k.connoinherit)"
"     OR (k.contype = 'f' AND c.relkind = 'p') THEN '' ELSE 'ONLY ' END || " RELNAME("c") " ||"
"   ' ADD CONSTRAINT ' || pg_catalog.quote_ident(k.conname) || ' ' ||"
"   pg_catalog.pg_get_constraintdef(k.oid) ||"
"   CASE WHEN k.contype IN ('p', 'u') AND ic2.reloptions IS NOT NULL THEN"
"     ' WITH (' || pg_catalog.array_to_string(ic2.reloptions, ', ') || ')' ELSE '' END || E';\\n'"
" END ||"
" CASE WHEN k.conparentid <> 0 AND k.contype IN ('p', 'u', 'x') THEN"
"   'ALTER INDEX ' || (SELECT pk.conindid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_constraint pk"
"     WHERE pk.oid = k.conparentid) || ' ATTACH PARTITION ' || k.conindid::pg_catalog.regclass::pg_catalog.text ||"
"   E';\\n' ELSE '' END ||"
" COALESCE((SELECT 'ALTER TABLE ' || " RELNAME("c") " || ' CLUSTER ON ' ||"
"   pg_catalog.quote_ident(ic.relname) || E';\\n' FROM pg_catalog.pg_index x"
"   JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid"
"   WHERE x.indexrelid = k.conindid AND k.contype IN ('p', 'u', 'x') AND x.indisclustered), '') ||"
" COALESCE((SELECT 'ALTER TABLE ONLY ' || " RELNAME("c") " || ' REPLICA IDENTITY USING INDEX ' ||"
"   pg_catalog.quote_ident(ic.relname) || E';\\n' FROM pg_catalog.pg_index x"
"   JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid"
"   WHERE x.indexrelid = k.conindid AND k.contype IN ('p', 'u', 'x') AND x.indisreplident), '') ||"
COMMENT_SQL("'CONSTRAINT ' || pg_catalog.quote_ident(k.conname) || ' ON ' || " RELNAME("c"),
			C_CONSTR, "k.oid", "0") " ||"
" CASE WHEN k.contype IN ('p', 'u', 'x') THEN" COMMENT_SQL("'INDEX ' || pg_catalog.quote_ident(ic2.relname)", C_CLASS, "k.conindid", "0") " ELSE '' END,"
C_NONE ", " C_NONE
" FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid"
" LEFT JOIN pg_catalog.pg_class fc ON fc.oid = k.confrelid"
" LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace"
" LEFT JOIN pg_catalog.pg_class ic2 ON ic2.oid = k.conindid"
" WHERE c.relnamespace = $1 AND " NOT_EXT(C_CLASS, "c.oid")
" AND (k.contype IN ('p', 'u', 'x')"
"   OR (k.contype = 'f' AND k.conparentid = 0)"
"   OR (k.contype = 'c' AND NOT k.convalidated AND k.conislocal))";

/* indexes that do not belong to a constraint */
static const char q_indexes[] =
"SELECT " C_CLASS ", ic.oid, 110, ic.relname::pg_catalog.text,"
" pg_catalog.pg_get_indexdef(ic.oid, 0, true) || E';\\n' ||"
" COALESCE((SELECT 'ALTER INDEX ' || i.inhparent::pg_catalog.regclass::pg_catalog.text ||"
"   ' ATTACH PARTITION ' || pg_catalog.quote_ident(ic.relname) || E';\\n'"
"   FROM pg_catalog.pg_inherits i WHERE i.inhrelid = ic.oid), '') ||"
" CASE WHEN x.indisclustered THEN 'ALTER TABLE ' || " RELNAME("c") " || ' CLUSTER ON ' ||"
"   pg_catalog.quote_ident(ic.relname) || E';\\n' ELSE '' END ||"
" CASE WHEN x.indisreplident THEN 'ALTER TABLE ONLY ' || " RELNAME("c") " || ' REPLICA IDENTITY USING INDEX ' ||"
"   pg_catalog.quote_ident(ic.relname) || E';\\n' ELSE '' END ||"
" COALESCE((SELECT pg_catalog.string_agg('ALTER INDEX ' || pg_catalog.quote_ident(ic.relname) ||"
"   ' ALTER COLUMN ' || a.attnum || ' SET STATISTICS ' || a.attstattarget || E';\\n', '' ORDER BY a.attnum)"
"   FROM pg_catalog.pg_attribute a WHERE a.attrelid = ic.oid AND a.attstattarget >= 0), '') ||"
COMMENT_SQL("'INDEX ' || pg_catalog.quote_ident(ic.relname)", C_CLASS, "ic.oid", "0") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid"
" JOIN pg_catalog.pg_class c ON c.oid = x.indrelid"
" WHERE c.relnamespace = $1 AND " NOT_EXT(C_CLASS, "c.oid")
" AND (x.indisvalid OR ic.relkind = 'I')"
" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = ic.oid"
"   AND k.contype IN ('p', 'u', 'x'))";

/* triggers, rules, policies, extended statistics */
static const char q_rules_etc[] =
"SELECT " C_TRIGGER ", t.oid, 130, t.tgname || ' ' || c.relname,"
" pg_catalog.pg_get_triggerdef(t.oid, true) || E';\\n' ||"
" CASE t.tgenabled WHEN 'D' THEN 'ALTER TABLE ' || " RELNAME("c") " || ' DISABLE TRIGGER ' ||"
"   pg_catalog.quote_ident(t.tgname) || E';\\n'"
"  WHEN 'A' THEN 'ALTER TABLE ' || " RELNAME("c") " || ' ENABLE ALWAYS TRIGGER ' ||"
"   pg_catalog.quote_ident(t.tgname) || E';\\n'"
"  WHEN 'R' THEN 'ALTER TABLE ' || " RELNAME("c") " || ' ENABLE REPLICA TRIGGER ' ||"
"   pg_catalog.quote_ident(t.tgname) || E';\\n' ELSE '' END ||"
COMMENT_SQL("'TRIGGER ' || pg_catalog.quote_ident(t.tgname) || ' ON ' || " RELNAME("c"),
			C_TRIGGER, "t.oid", "0") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"
" WHERE c.relnamespace = $1 AND NOT t.tgisinternal AND t.tgparentid = 0"
" AND " NOT_EXT(C_CLASS, "c.oid")
" UNION ALL "
"SELECT " C_REWRITE ", r.oid, 130, r.rulename || ' ' || c.relname,"
" pg_catalog.pg_get_ruledef(r.oid, true) || E'\\n' ||"
" CASE r.ev_enabled WHEN 'D' THEN 'ALTER TABLE ' || " RELNAME("c") " || ' DISABLE RULE ' ||"
"   pg_catalog.quote_ident(r.rulename) || E';\\n'"
"  WHEN 'A' THEN 'ALTER TABLE ' || " RELNAME("c") " || ' ENABLE ALWAYS RULE ' ||"
"   pg_catalog.quote_ident(r.rulename) || E';\\n'"
"  WHEN 'R' THEN 'ALTER TABLE ' || " RELNAME("c") " || ' ENABLE REPLICA RULE ' ||"
"   pg_catalog.quote_ident(r.rulename) || E';\\n' ELSE '' END ||"
COMMENT_SQL("'RULE ' || pg_catalog.quote_ident(r.rulename) || ' ON ' || " RELNAME("c"),
			C_REWRITE, "r.oid", "0") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class"
" WHERE c.relnamespace = $1 AND r.rulename <> '_RETURN' AND " NOT_EXT(C_CLASS, "c.oid")
" UNION ALL "
"SELECT " C_POLICY ", p.oid, 130, p.polname || ' ' || c.relname,"
" 'CREATE POLICY ' || pg_catalog.quote_ident(p.polname) || ' ON ' || " RELNAME("c") " ||"
" CASE WHEN NOT p.polpermissive THEN ' AS RESTRICTIVE' ELSE '' END ||"
" ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'"
"   WHEN 'd' THEN 'DELETE' ELSE 'ALL' END ||"
" ' TO ' || (SELECT pg_catalog.string_agg(" ROLE_SQL("r.r") ", ', ' ORDER BY r.n)"
"   FROM pg_catalog.unnest(p.polroles) WITH ORDINALITY AS r(r, n)) ||"
" CASE WHEN p.polqual IS NOT NULL THEN ' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')'"
"   ELSE '' END ||"
" CASE WHEN p.polwithcheck IS NOT NULL THEN ' WITH CHECK (' ||"
"   pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')' ELSE '' END || E';\\n' ||"
COMMENT_SQL("'POLICY ' || pg_catalog.quote_ident(p.polname) || ' ON ' || " RELNAME("c"),
			C_POLICY, "p.oid", "0") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid"
" WHERE c.relnamespace = $1 AND " NOT_EXT(C_CLASS, "c.oid")
" UNION ALL "
"SELECT " C_STATEXT ", s.oid, 150, s.stxname::pg_catalog.text,"
" 'CREATE STATISTICS ' || pg_catalog.quote_ident(s.stxname) ||"
" pg_catalog.substr(pg_catalog.pg_get_statisticsobjdef(s.oid),"
"   pg_catalog.length('CREATE STATISTICS ' || pg_catalog.quote_ident(n.nspname) || '.' ||"
"     pg_catalog.quote_ident(s.stxname)) + 1) || E';\\n' ||"
" CASE WHEN s.stxstattarget >= 0 THEN 'ALTER STATISTICS ' || pg_catalog.quote_ident(s.stxname) ||"
"   ' SET STATISTICS ' || s.stxstattarget || E';\\n' ELSE '' END ||"
COMMENT_SQL("'STATISTICS ' || pg_catalog.quote_ident(s.stxname)", C_STATEXT, "s.oid", "0") " ||"
OWNER_SQL("'STATISTICS ' || pg_catalog.quote_ident(s.stxname)", "s.stxowner") ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace"
" WHERE s.stxnamespace = $1 AND " NOT_EXT(C_STATEXT, "s.oid");

/*
 * The schema itself, named only through current_schema() in the DO block
 * whose form pg_bac.h defines (BAC_SCHEMA_DO_*): owner and comment
 * first; its privileges before those of its objects (a grantor replaying
 * a grant needs USAGE on the schema); default privileges last, so that
 * they do not touch the objects the scripts create.
 */
#define IN_CURRENT_SCHEMA(template) \
	" 'DO " BAC_SCHEMA_DO_QUOTE BAC_SCHEMA_DO_BODY_START "' ||" \
	" pg_catalog.quote_literal(" template ") ||" \
	" '" BAC_SCHEMA_DO_BODY_END BAC_SCHEMA_DO_QUOTE ";' || E'\\n' "

static const char q_schema[] =
"SELECT " C_NONE ", " C_NONE ", 1, ''::pg_catalog.text,"
IN_CURRENT_SCHEMA("'ALTER SCHEMA %I OWNER TO ' || pg_catalog.replace(pg_catalog.quote_ident("
				  "pg_catalog.pg_get_userbyid(n.nspowner)), '%', '%%')") " ||"
" COALESCE((SELECT " IN_CURRENT_SCHEMA("'COMMENT ON SCHEMA %I IS ' || pg_catalog.replace("
									   "pg_catalog.quote_literal(dsc.description), '%', '%%')")
"   FROM pg_catalog.pg_description dsc WHERE dsc.classoid = 2615 AND dsc.objoid = n.oid"
"   AND dsc.objsubid = 0), ''),"
C_NONE ", " C_NONE
" FROM pg_catalog.pg_namespace n WHERE n.oid = $1"
" UNION ALL "
"SELECT " C_NONE ", " C_NONE ", 175, ''::pg_catalog.text,"
IN_CURRENT_SCHEMA(ACL_SQL("'SCHEMA'", "'%1$I'", "n.nspacl", "n.nspowner")) ","
C_NONE ", " C_NONE
" FROM pg_catalog.pg_namespace n WHERE n.oid = $1 AND n.nspacl IS NOT NULL"
" UNION ALL "
"SELECT " C_NONE ", " C_NONE ", 190, ''::pg_catalog.text,"
" pg_catalog.string_agg(" IN_CURRENT_SCHEMA("'ALTER DEFAULT PRIVILEGES FOR ROLE ' ||"
		"pg_catalog.replace(pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(d.defaclrole)), '%', '%%') ||"
		"' IN SCHEMA %I GRANT ' || x.privilege_type || ' ON ' ||"
		"CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS'"
		" WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END || ' TO ' ||"
		"pg_catalog.replace(" ROLE_SQL("x.grantee") ", '%', '%%') ||"
		"CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END")
"   , '' ORDER BY d.defaclrole, d.defaclobjtype, x.ord),"
C_NONE ", " C_NONE
" FROM pg_catalog.pg_default_acl d, pg_catalog.aclexplode(d.defaclacl) WITH ORDINALITY"
"   AS x(grantor, grantee, privilege_type, is_grantable, ord)"
" WHERE d.defaclnamespace = $1"
" HAVING pg_catalog.count(*) > 0";

/*
 * Objects that stand for another item when a dependency names them:
 * alias classid, alias objid, item classid, item objid.
 */
const char bac_ddl_alias_query[] =
"SELECT " C_TYPE ", t.typarray, " C_TYPE ", t.oid FROM pg_catalog.pg_type t"
"  WHERE t.typnamespace = $1 AND t.typarray <> 0"
" UNION ALL SELECT " C_CLASS ", t.typrelid, " C_TYPE ", t.oid FROM pg_catalog.pg_type t"
"  WHERE t.typnamespace = $1 AND t.typtype = 'c'"
" UNION ALL SELECT " C_TYPE ", c.reltype, " C_CLASS ", c.oid FROM pg_catalog.pg_class c"
"  WHERE c.relnamespace = $1 AND c.reltype <> 0"
" UNION ALL SELECT " C_TYPE ", t.typarray, " C_CLASS ", c.oid FROM pg_catalog.pg_class c"
"  JOIN pg_catalog.pg_type t ON t.oid = c.reltype WHERE c.relnamespace = $1 AND t.typarray <> 0"
" UNION ALL SELECT " C_TYPE ", r.rngmultitypid, " C_TYPE ", r.rngtypid FROM pg_catalog.pg_range r"
"  JOIN pg_catalog.pg_type t ON t.oid = r.rngtypid WHERE t.typnamespace = $1"
" UNION ALL SELECT " C_TYPE ", mt.typarray, " C_TYPE ", r.rngtypid FROM pg_catalog.pg_range r"
"  JOIN pg_catalog.pg_type t ON t.oid = r.rngtypid JOIN pg_catalog.pg_type mt ON mt.oid = r.rngmultitypid"
"  WHERE t.typnamespace = $1"
" UNION ALL SELECT " C_CONSTR ", k.oid, " C_TYPE ", k.contypid FROM pg_catalog.pg_constraint k"
"  JOIN pg_catalog.pg_type t ON t.oid = k.contypid WHERE t.typnamespace = $1 AND k.convalidated"
" UNION ALL SELECT " C_CONSTR ", k.oid, " C_CLASS ", k.conrelid FROM pg_catalog.pg_constraint k"
"  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = $1 AND k.contype = 'c'"
"  AND k.convalidated"
" UNION ALL SELECT " C_ATTRDEF ", ad.oid, " C_CLASS ", ad.adrelid FROM pg_catalog.pg_attrdef ad"
"  JOIN pg_catalog.pg_class c ON c.oid = ad.adrelid JOIN pg_catalog.pg_attribute a"
"  ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum WHERE c.relnamespace = $1 AND a.attgenerated <> ''"
" UNION ALL SELECT " C_REWRITE ", r.oid, " C_CLASS ", r.ev_class FROM pg_catalog.pg_rewrite r"
"  JOIN pg_catalog.pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = $1 AND r.rulename = '_RETURN'"
" UNION ALL SELECT " C_CLASS ", d.objid, " C_CLASS ", d.refobjid FROM pg_catalog.pg_depend d"
"  JOIN pg_catalog.pg_class c ON c.oid = d.objid WHERE c.relnamespace = $1 AND c.relkind = 'S'"
"  AND d.classid = " C_CLASS " AND d.refclassid = " C_CLASS " AND d.deptype = 'i'"
" UNION ALL SELECT " C_CLASS ", k.conindid, " C_CONSTR ", k.oid FROM pg_catalog.pg_constraint k"
"  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = $1"
"  AND k.contype IN ('p', 'u', 'x') AND k.conindid <> 0";

/*
 * Extensions the schema needs: those its objects depend on (directly or
 * through an array type), and those installed into the schema itself.
 * Returns a statement that creates the extension unless it exists (quietly:
 * CREATE EXTENSION IF NOT EXISTS would raise a NOTICE on every restore),
 * and the name.
 */
const char bac_ddl_extension_query[] =
"WITH used AS ("
"  SELECT m.refobjid AS extoid FROM pg_catalog.pg_depend d"
"  JOIN pg_catalog.pg_depend m ON m.classid = d.refclassid AND m.objid = d.refobjid"
"   AND m.deptype = 'e' AND m.refclassid = 3079"
"  WHERE d.objid IN (SELECT pg_catalog.unnest($2)) AND d.deptype <> 'e'"
"  UNION"
"  SELECT m.refobjid FROM pg_catalog.pg_depend d"
"  JOIN pg_catalog.pg_type at ON d.refclassid = " C_TYPE " AND at.oid = d.refobjid AND at.typelem <> 0"
"  JOIN pg_catalog.pg_depend m ON m.classid = " C_TYPE " AND m.objid = at.typelem"
"   AND m.deptype = 'e' AND m.refclassid = 3079"
"  WHERE d.objid IN (SELECT pg_catalog.unnest($2)) AND d.deptype <> 'e'"
"  UNION"
"  SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extnamespace = $1"
/* the extension a foreign table's server's wrapper belongs to */
"  UNION"
"  SELECT m.refobjid FROM pg_catalog.pg_foreign_table ft"
"  JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid"
"  JOIN pg_catalog.pg_foreign_server fs ON fs.oid = ft.ftserver"
"  JOIN pg_catalog.pg_depend m ON m.classid = 2328::pg_catalog.oid AND m.objid = fs.srvfdw"
"   AND m.deptype = 'e' AND m.refclassid = 3079"
"  WHERE c.relnamespace = $1"
")"
" SELECT 'DO $bac$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = ' ||"
"   pg_catalog.quote_literal(e.extname) || ') THEN EXECUTE pg_catalog.format(' ||"
"   pg_catalog.quote_literal('CREATE EXTENSION %I WITH SCHEMA %I') || ', ' ||"
"   pg_catalog.quote_literal(e.extname) || ', ' ||"
"   CASE WHEN e.extnamespace = $1 THEN 'pg_catalog.current_schema()'"
"     ELSE pg_catalog.quote_literal(n.nspname) END || E'); END IF; END$bac$;\\n' ||"
/*
 * An extension installed in the schema itself, found elsewhere when the
 * script runs (the scripts restored under another name, beside the
 * original): its schema goes after the target in search_path, so that the
 * names the scripts use unqualified for its members resolve.
 */
"   CASE WHEN e.extnamespace = $1 THEN"
"    'DO $bac$BEGIN IF (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = ' ||"
"    pg_catalog.quote_literal(e.extname) || ') OPERATOR(pg_catalog.<>) (SELECT n.oid FROM pg_catalog.pg_namespace n' ||"
"    ' WHERE n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema()) THEN' ||"
"    ' PERFORM pg_catalog.set_config(''search_path'', pg_catalog.current_setting(''search_path'') || '', '' ||' ||"
"    ' (SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n' ||"
"    ' ON n.oid OPERATOR(pg_catalog.=) e.extnamespace WHERE e.extname = ' || pg_catalog.quote_literal(e.extname) ||"
"    E'), true); END IF; END$bac$;\\n' ELSE '' END,"
"   e.extname::pg_catalog.text, e.extversion, n.nspname::pg_catalog.text,"
"   e.extnamespace = $1, e.extrelocatable"
" FROM used JOIN pg_catalog.pg_extension e ON e.oid = used.extoid"
" JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
" ORDER BY e.extname";

/* an options array (name=value items) as an OPTIONS clause, or '' */
#define OPTIONS_SQL(arr) \
	" COALESCE((SELECT ' OPTIONS (' || pg_catalog.string_agg(" \
	"  pg_catalog.quote_ident(pg_catalog.split_part(o.o, '=', 1)) || ' ' ||" \
	"  pg_catalog.quote_literal(pg_catalog.substr(o.o, pg_catalog.strpos(o.o, '=') + 1)), ', '" \
	"  ORDER BY o.n) || ')' FROM pg_catalog.unnest(" arr ") WITH ORDINALITY AS o(o, n)), '') "

/*
 * The foreign servers the schema's foreign tables use, and their
 * foreign-data wrappers unless an extension makes them: statements that
 * create each where it is missing, and warn of user mappings that existed
 * at capture time and are missing where the scripts run (user mappings
 * hold credentials: they are the operator's to make).  Owners stay the
 * restoring role's.  Text that holds the dollar-quote tag is left out, with
 * a warning, rather than quoted unsafely.
 */
const char bac_ddl_server_query[] =
"WITH srv AS ("
"  SELECT DISTINCT fs.oid, fs.srvname, fs.srvtype, fs.srvversion, fs.srvoptions,"
"   w.oid AS fdwoid, w.fdwname, w.fdwhandler, w.fdwvalidator, w.fdwoptions,"
"   EXISTS (SELECT 1 FROM pg_catalog.pg_depend m WHERE m.classid = 2328::pg_catalog.oid"
"    AND m.objid = w.oid AND m.deptype = 'e') AS fdw_in_extension"
"  FROM pg_catalog.pg_foreign_table ft"
"  JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid"
"  JOIN pg_catalog.pg_foreign_server fs ON fs.oid = ft.ftserver"
"  JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = fs.srvfdw"
"  WHERE c.relnamespace = $1),"
" stmt AS ("
"  SELECT srv.srvname, 'DO $bac_srv$BEGIN' ||"
"   CASE WHEN srv.fdw_in_extension THEN '' ELSE"
"    ' IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_data_wrapper WHERE fdwname = ' ||"
"    pg_catalog.quote_literal(srv.fdwname) || ') THEN CREATE FOREIGN DATA WRAPPER ' ||"
"    pg_catalog.quote_ident(srv.fdwname) ||"
"    CASE WHEN srv.fdwhandler <> 0 THEN ' HANDLER ' || srv.fdwhandler::pg_catalog.regproc::pg_catalog.text"
"     ELSE '' END ||"
"    CASE WHEN srv.fdwvalidator <> 0 THEN ' VALIDATOR ' || srv.fdwvalidator::pg_catalog.regproc::pg_catalog.text"
"     ELSE '' END ||" OPTIONS_SQL("srv.fdwoptions") " || '; END IF;' END ||"
"   ' IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_server WHERE srvname = ' ||"
"   pg_catalog.quote_literal(srv.srvname) || ') THEN CREATE SERVER ' || pg_catalog.quote_ident(srv.srvname) ||"
"   COALESCE(' TYPE ' || pg_catalog.quote_literal(srv.srvtype), '') ||"
"   COALESCE(' VERSION ' || pg_catalog.quote_literal(srv.srvversion), '') ||"
"   ' FOREIGN DATA WRAPPER ' || pg_catalog.quote_ident(srv.fdwname) ||" OPTIONS_SQL("srv.srvoptions") " ||"
"   '; END IF;' ||"
"   COALESCE((SELECT pg_catalog.string_agg(' IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_user_mappings' ||"
"     ' WHERE srvname = ' || pg_catalog.quote_literal(srv.srvname) || ' AND usename = ' ||"
"     pg_catalog.quote_literal(um.usename) || ') THEN RAISE WARNING ' ||"
"     pg_catalog.quote_literal('user mapping for ' || pg_catalog.quote_ident(um.usename) ||"
"      ' on server ' || pg_catalog.quote_ident(srv.srvname) || ' is missing') ||"
"     ' USING DETAIL = ' || pg_catalog.quote_literal('It existed when the snapshot was taken;' ||"
"      ' user mappings hold credentials and are not part of a snapshot.') ||"
"     ', HINT = ' || pg_catalog.quote_literal('Create it with CREATE USER MAPPING before using the foreign tables.') ||"
"     '; END IF;', '' ORDER BY um.usename)"
"    FROM pg_catalog.pg_user_mappings um WHERE um.srvid = srv.oid), '') ||"
"   E' END$bac_srv$;\\n' AS sql"
"  FROM srv)"
" SELECT CASE WHEN pg_catalog.strpos(pg_catalog.substr(stmt.sql, 18,"
"   pg_catalog.length(stmt.sql) - 32), '$bac_srv$') > 0"
"  THEN 'DO $bac_srv$BEGIN RAISE WARNING ' || pg_catalog.quote_literal('foreign server ' ||"
"   pg_catalog.quote_ident(stmt.srvname) || ' was not recreated: its definition holds the dollar-quote tag pg_bac uses') ||"
"   E'; END$bac_srv$;\\n'"
"  ELSE stmt.sql END"
" FROM stmt ORDER BY stmt.srvname";

/* what cannot be captured, one description per row */
const char bac_ddl_uncaptured_query[] =
"SELECT 'foreign table ' || pg_catalog.quote_ident(c.relname) || ' (remote data; the definition is captured)'"
"  FROM pg_catalog.pg_class c WHERE c.relnamespace = $1 AND c.relkind = 'f'"
" UNION ALL SELECT 'base type ' || pg_catalog.quote_ident(t.typname) FROM pg_catalog.pg_type t"
"  WHERE t.typnamespace = $1 AND t.typtype IN ('b', 'p') AND t.typelem = 0"
"  AND " NOT_EXT(C_TYPE, "t.oid")
" UNION ALL SELECT 'base type ' || pg_catalog.quote_ident(t.typname) FROM pg_catalog.pg_type t"
"  WHERE t.typnamespace = $1 AND t.typtype = 'b' AND t.typelem <> 0"
"  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)"
"  AND " NOT_EXT(C_TYPE, "t.oid")
" UNION ALL SELECT 'operator ' || o.oid::pg_catalog.regoperator::pg_catalog.text || ' (a shell: never defined)'"
"  FROM pg_catalog.pg_operator o WHERE o.oprnamespace = $1 AND o.oprcode = 0"
"  AND " NOT_EXT("2617::pg_catalog.oid", "o.oid")
" UNION ALL SELECT 'operator class ' || pg_catalog.quote_ident(o.opcname) FROM pg_catalog.pg_opclass o"
"  WHERE o.opcnamespace = $1 AND " NOT_EXT("2616::pg_catalog.oid", "o.oid")
" UNION ALL SELECT 'operator family ' || pg_catalog.quote_ident(o.opfname) FROM pg_catalog.pg_opfamily o"
"  WHERE o.opfnamespace = $1 AND " NOT_EXT("2753::pg_catalog.oid", "o.oid")
" UNION ALL SELECT 'conversion ' || pg_catalog.quote_ident(o.conname) FROM pg_catalog.pg_conversion o"
"  WHERE o.connamespace = $1 AND " NOT_EXT("2607::pg_catalog.oid", "o.oid")
" UNION ALL SELECT 'text search parser ' || pg_catalog.quote_ident(o.prsname)"
"  FROM pg_catalog.pg_ts_parser o WHERE o.prsnamespace = $1 AND " NOT_EXT("3601::pg_catalog.oid", "o.oid")
" UNION ALL SELECT 'text search template ' || pg_catalog.quote_ident(o.tmplname)"
"  FROM pg_catalog.pg_ts_template o WHERE o.tmplnamespace = $1 AND " NOT_EXT("3764::pg_catalog.oid", "o.oid")
" UNION ALL SELECT 'publication ' || pg_catalog.quote_ident(p.pubname) || ' (publishes tables of the schema)'"
"  FROM pg_catalog.pg_publication p WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr"
"  JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid WHERE pr.prpubid = p.oid AND c.relnamespace = $1)"
"  OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_namespace pn WHERE pn.pnpubid = p.oid"
"  AND pn.pnnspid = $1)"
" UNION ALL SELECT 'event trigger ' || pg_catalog.quote_ident(et.evtname) || ' (calls a function of the schema)'"
"  FROM pg_catalog.pg_event_trigger et JOIN pg_catalog.pg_proc p ON p.oid = et.evtfoid"
"  WHERE p.pronamespace = $1"
" UNION ALL SELECT 'relation ' || pg_catalog.quote_ident(c.relname) || ' (pg_catalog has the same name,"
" so the scripts could not name it)' FROM pg_catalog.pg_class c WHERE c.relnamespace = $1"
"  AND EXISTS (SELECT 1 FROM pg_catalog.pg_class s WHERE s.relnamespace = 11 AND s.relname = c.relname)"
" UNION ALL SELECT 'type ' || pg_catalog.quote_ident(t.typname) || ' (pg_catalog has the same name,"
" so the scripts could not name it)' FROM pg_catalog.pg_type t WHERE t.typnamespace = $1"
"  AND t.typrelid = 0"
"  AND EXISTS (SELECT 1 FROM pg_catalog.pg_type s WHERE s.typnamespace = 11 AND s.typname = t.typname)"
" UNION ALL SELECT 'security labels of ' || l.provider || ' on ' || pg_catalog.count(*) || ' objects'"
"  FROM pg_catalog.pg_seclabel l WHERE (l.classoid = " C_CLASS " AND l.objoid IN"
"   (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = $1))"
"  OR (l.classoid = " C_PROC " AND l.objoid IN"
"   (SELECT p.oid FROM pg_catalog.pg_proc p WHERE p.pronamespace = $1))"
"  OR (l.classoid = " C_TYPE " AND l.objoid IN"
"   (SELECT t.oid FROM pg_catalog.pg_type t WHERE t.typnamespace = $1))"
"  OR (l.classoid = 2615 AND l.objoid = $1)"
"  GROUP BY l.provider"
" UNION ALL SELECT 'large objects owned by ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(n.nspowner)) ||"
"  ' (' || (SELECT pg_catalog.count(*) FROM pg_catalog.pg_largeobject_metadata l"
"   WHERE l.lomowner = n.nspowner) || ')'"
"  FROM pg_catalog.pg_namespace n WHERE n.oid = $1 AND EXISTS (SELECT 1"
"  FROM pg_catalog.pg_largeobject_metadata l WHERE l.lomowner = n.nspowner)"
" ORDER BY 1";

/* the item queries, in the order their items are numbered */
const char *const bac_ddl_item_queries[] = {
	q_schema,
	q_collations,
	q_types,
	q_routines,
	q_operators,
	q_text_search,
	q_sequences,
	q_tables,
	q_views,
	q_constraints,
	q_indexes,
	q_rules_etc,
	NULL
};
