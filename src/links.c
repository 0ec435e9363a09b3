/*-------------------------------------------------------------------------
 *
 * links.c
 *		Checking links between services: broken references and orphans.
 *
 * Each link (declared in bac.link, or discovered: a real foreign key from
 * one registered service's table to another's) is checked with two
 * set-based anti-joins that the planner can run as hash or merge anti
 * joins, or as index lookups on the target's unique index:
 *
 *	 broken:	SELECT count(*) FROM from_table f
 *				 WHERE f.c1 IS NOT NULL AND ...
 *				   AND NOT EXISTS (SELECT FROM to_table t WHERE f.c1 = t.c1 ...)
 *	 orphaned:	the same the other way round, only when orphans_matter.
 *
 * A reference with a NULL in any of its columns is not broken (as MATCH
 * SIMPLE foreign keys behave); a target row with a NULL key column is
 * never an orphan (nothing could refer to it).  The equality operator is
 * the btree equality operator between the two column types, named by its
 * schema, and the referencing column is compared in the referenced
 * column's collation, so the target's unique index can serve the lookup.
 * Only when something was found, a second query fetches the smallest few
 * distinct keys as a sample (broken and orphaned count rows, not keys).  Every count of one call runs under one snapshot.
 *
 * When both columns of a one-column link lead a btree index of their table
 * (a key and the index on the referencing column, as in every service of
 * the fixture), the counts run with hash joins off: the planner then walks
 * both indexes in order (a merge anti join, or index lookups), which reads
 * far less than hashing one table and scanning the other -- 2.3 times
 * faster on make bench's links, whose tables a restore has just loaded.
 *
 * For a restore's report (BacCheckLinksRemapped), a link with one side
 * replaced by the restored copy counts, over the other side's rows, only
 * what the replacement changes: the references it breaks, the rows it
 * orphans (BacLinkCheck.lost).  Those are found from the keys the copy
 * lacks (LinksLostKeys: the restored service's own tables) through an
 * index of the other side (LinksCountLost), so the cost follows the
 * restored service, not the other services' size.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/links.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "parser/parse_coerce.h"
#include "portability/instr_time.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "storage/proc.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_bac.h"

/*
 * LinksOperatorName
 *		OPERATOR(schema.name) for an operator, so that no search_path
 *		decides which operator runs.
 */
static char *
LinksOperatorName(Oid opno)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator op;
	char	   *result;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	op = (Form_pg_operator) GETSTRUCT(tup);
	result = psprintf("OPERATOR(%s.%s)",
					  quote_identifier(get_namespace_name(op->oprnamespace)),
					  NameStr(op->oprname));
	ReleaseSysCache(tup);
	return result;
}

/*
 * BacLinkComparison
 *		How a link from a column of type ftype to a key column of type ttype
 *		compares, as a foreign key between them would (ATAddForeignKeyConstraint):
 *		the default btree operator class of the key type; its cross-type
 *		equality operators between ftype and the class's input type when the
 *		family has them (and one for ftype itself), else, when both types
 *		can be implicitly coerced to the class's input type (varchar ->
 *		text, binary-coercible types), its equality operator on that type
 *		with both sides cast to it.  The referencing column is the left
 *		operand.  False when no foreign key could exist between the two
 *		types.
 */
bool
BacLinkComparison(Oid ftype, Oid ttype, BacLinkCompare *cmp)
{
	Oid			opclass = GetDefaultOpClass(ttype, BTREE_AM_OID);
	Oid			family;
	Oid			opcintype;
	Oid			types[2];
	Oid			targets[2];

	memset(cmp, 0, sizeof(BacLinkCompare));
	if (!OidIsValid(opclass))
		return false;
	family = get_opclass_family(opclass);
	opcintype = get_opclass_input_type(opclass);
	cmp->opno = get_opfamily_member(family, ftype, opcintype,
									BTEqualStrategyNumber);
	if (OidIsValid(cmp->opno) &&
		OidIsValid(get_opfamily_member(family, opcintype, ftype,
									   BTEqualStrategyNumber)) &&
		OidIsValid(get_opfamily_member(family, ftype, ftype,
									   BTEqualStrategyNumber)))
		return true;
	types[0] = ttype;
	types[1] = ftype;
	targets[0] = targets[1] = opcintype;
	cmp->opno = get_opfamily_member(family, opcintype, opcintype,
									BTEqualStrategyNumber);
	if (!OidIsValid(cmp->opno) ||
		!can_coerce_type(2, types, targets, COERCION_IMPLICIT))
		return false;
	/* a polymorphic input type (anyarray, anyenum) is no type to cast to */
	if (!IsPolymorphicType(opcintype))
		cmp->cast_to = opcintype;
	return true;
}

/*
 * LinksOperand
 *		A column reference as an operand of the link's comparison: cast to
 *		the comparison's type when it has another type, and in collation
 *		coll when that is valid.
 */
static char *
LinksOperand(const char *col, Oid type, BacLinkCompare *cmp, Oid coll)
{
	char	   *result = pstrdup(col);

	if (OidIsValid(cmp->cast_to) && type != cmp->cast_to)
		result = psprintf("%s::%s", result, format_type_be_qualified(cmp->cast_to));
	if (OidIsValid(coll))
		result = psprintf("%s COLLATE %s", result, generate_collation_name(coll));
	return result;
}

/*
 * LinksCount
 *		Run a query returning one int8 and return it.  Read-only, under the
 *		active snapshot.
 */
static int64
LinksCount(const char *sql)
{
	bool		isnull;
	Datum		d;
	int			ret = SPI_execute(sql, true, 0);

	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "link check query failed: %s", SPI_result_code_string(ret));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * LinksSample
 *		Run a query returning one text (or NULL) and return it palloc'd.
 */
static char *
LinksSample(const char *sql)
{
	int			ret = SPI_execute(sql, true, 0);

	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "link check query failed: %s", SPI_result_code_string(ret));
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * LinksNameArray
 *		Column names of a name[] datum as a C array; returns the count.
 */
static int
LinksNameArray(Datum d, char ***names)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(d), NAMEOID, NAMEDATALEN, false,
					  TYPALIGN_CHAR, &elems, &nulls, &n);
	*names = palloc(sizeof(char *) * (n + 1));
	for (int i = 0; i < n; i++)
		(*names)[i] = nulls[i] ? NULL : pstrdup(NameStr(*DatumGetName(elems[i])));
	return n;
}

/*
 * LinksCountUnmatched
 *		Count the rows of table tab (alias alias) whose key columns are all
 *		not null (notnull) and that no row of othertab (alias otheralias)
 *		matches (cond, written with both aliases); broken references when
 *		tab is the referencing side, orphans when it is the referenced one.
 *		When there are some and sample is not NULL, *sample gets the
 *		smallest distinct keys (key, ncols columns), at most
 *		BAC_LINK_SAMPLES, as text.
 */
static int64
LinksCountUnmatched(const char *alias, const char *tab, const char *notnull,
				  const char *key, const char *otheralias,
				  const char *othertab, const char *cond, int ncols,
				  bool indexed, char **sample)
{
	StringInfoData sql;
	int64		count;
	int			guclevel = NewGUCNestLevel();

	if (indexed)
		(void) set_config_option("enable_hashjoin", "off",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.count(*) FROM %s %s WHERE %s"
					 " AND NOT EXISTS (SELECT FROM %s %s WHERE %s)",
					 tab, alias, notnull, othertab, otheralias, cond);
	count = LinksCount(sql.data);
	if (count > 0 && sample != NULL)
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT pg_catalog.string_agg(s.k::pg_catalog.text, ', ') FROM"
						 " (SELECT DISTINCT %s(%s) AS k FROM %s %s WHERE %s"
						 " AND NOT EXISTS (SELECT FROM %s %s WHERE %s)"
						 " ORDER BY 1 LIMIT %d) s",
						 ncols > 1 ? "ROW" : "", key, tab, alias, notnull,
						 othertab, otheralias, cond, BAC_LINK_SAMPLES);
		*sample = LinksSample(sql.data);
	}
	pfree(sql.data);
	AtEOXact_GUC(true, guclevel);
	return count;
}

/*
 * LinksIsBtree
 *		Is index indexrelid a btree?
 */
static bool
LinksIsBtree(Oid indexrelid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexrelid));
	bool		btree;

	if (!HeapTupleIsValid(tup))
		return false;
	btree = ((Form_pg_class) GETSTRUCT(tup))->relam == BTREE_AM_OID;
	ReleaseSysCache(tup);
	return btree;
}

/*
 * LinksIndexLeads
 *		Does table relid have a valid plain btree index (no predicate, no
 *		expression) whose first key column is att (in collation coll, when
 *		that is valid)?
 */
static bool
LinksIndexLeads(Oid relid, AttrNumber att, Oid coll)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID,
										  ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index idx;

		if (!HeapTupleIsValid(tup))
			continue;
		idx = (Form_pg_index) GETSTRUCT(tup);
		found = idx->indisvalid && idx->indnkeyatts >= 1 &&
			idx->indkey.values[0] == att &&
			heap_attisnull(tup, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(tup, Anum_pg_index_indexprs, NULL) &&
			LinksIsBtree(idx->indexrelid);
		if (found && OidIsValid(coll))
		{
			bool		isnull;
			Datum		d = SysCacheGetAttr(INDEXRELID, tup,
											Anum_pg_index_indcollation, &isnull);

			found = !isnull &&
				((oidvector *) DatumGetPointer(d))->values[0] == coll;
		}
		ReleaseSysCache(tup);
		if (found)
			break;
	}
	list_free(indexes);
	relation_close(rel, AccessShareLock);
	return found;
}

/*
 * LinksTableName
 *		The schema-qualified, quoted name of table relid.
 */
static char *
LinksTableName(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * LinksBlocks
 *		The size of table relid in blocks.
 */
static BlockNumber
LinksBlocks(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	BlockNumber n = RelationGetNumberOfBlocks(rel);

	relation_close(rel, AccessShareLock);
	return n;
}

/*
 * LinksCond
 *		How one link's rows are compared (LinksBuildCond): the condition
 *		between aliases f and t, the NOT NULL tests and key lists of each
 *		side, and whether indexes can serve it.
 */
typedef struct LinksCond
{
	StringInfoData cond;		/* f.c1 = t.c1 AND ... */
	StringInfoData fnotnull;	/* f.c1 IS NOT NULL AND ... */
	StringInfoData tnotnull;
	StringInfoData fkey;		/* f.c1, ... */
	StringInfoData tkey;
	bool		indexed;		/* one column leading an index on both sides,
								 * the same type, no cast, no collation */
	bool		plain;			/* one column, the same type on both sides,
								 * no cast, one collation (or none): the
								 * equality is an equivalence on that type */
	Oid			type;			/* plain: the column type (base type) */
	Oid			coll;			/* plain: its collation, or InvalidOid */
	Oid			opno;			/* plain: the equality operator */
	AttrNumber	fatt;			/* plain: the columns */
	AttrNumber	tatt;
	Oid			frel;			/* the tables compared */
	Oid			trel;
} LinksCond;

/*
 * LinksBuildCond
 *		Build the comparison of a link from frel's columns fcols to trel's
 *		tcols (ncols each); returns NULL, or why the link cannot be checked.
 */
static char *
LinksBuildCond(Oid frel, char **fcols, Oid trel, char **tcols, int ncols,
			   const char *ftab, const char *ttab, LinksCond *c)
{
	memset(c, 0, sizeof(LinksCond));
	c->frel = frel;
	c->trel = trel;
	initStringInfo(&c->cond);
	initStringInfo(&c->fnotnull);
	initStringInfo(&c->tnotnull);
	initStringInfo(&c->fkey);
	initStringInfo(&c->tkey);
	for (int i = 0; i < ncols; i++)
	{
		AttrNumber	fatt = fcols[i] ? get_attnum(frel, fcols[i]) : InvalidAttrNumber;
		AttrNumber	tatt = tcols[i] ? get_attnum(trel, tcols[i]) : InvalidAttrNumber;
		Oid			ftype,
					ttype,
					fcoll,
					tcoll;
		BacLinkCompare cmp;
		int32		typmod;
		const char *fc,
				   *tc;

		if (fatt <= 0)
			return psprintf("cannot check: column \"%s\" of %s no longer exists",
							fcols[i] ? fcols[i] : "", ftab);
		if (tatt <= 0)
			return psprintf("cannot check: column \"%s\" of %s no longer exists",
							tcols[i] ? tcols[i] : "", ttab);
		get_atttypetypmodcoll(frel, fatt, &ftype, &typmod, &fcoll);
		get_atttypetypmodcoll(trel, tatt, &ttype, &typmod, &tcoll);
		ftype = getBaseType(ftype);
		ttype = getBaseType(ttype);
		if (!BacLinkComparison(ftype, ttype, &cmp))
			return psprintf("cannot check: no equality operator between %s and %s",
							format_type_be(ftype), format_type_be(ttype));

		fc = psprintf("f.%s", quote_identifier(fcols[i]));
		tc = psprintf("t.%s", quote_identifier(tcols[i]));
		appendStringInfo(&c->cond, "%s%s", i > 0 ? " AND " : "",
						 LinksOperand(fc, ftype, &cmp,
									  OidIsValid(tcoll) && fcoll != tcoll ? tcoll : InvalidOid));
		appendStringInfo(&c->cond, " %s %s", LinksOperatorName(cmp.opno),
						 LinksOperand(tc, ttype, &cmp, InvalidOid));
		appendStringInfo(&c->fnotnull, "%s%s IS NOT NULL", i > 0 ? " AND " : "", fc);
		appendStringInfo(&c->tnotnull, "%s%s IS NOT NULL", i > 0 ? " AND " : "", tc);
		appendStringInfo(&c->fkey, "%s%s", i > 0 ? ", " : "", fc);
		appendStringInfo(&c->tkey, "%s%s", i > 0 ? ", " : "", tc);
		/* the same type, no cast, no collation: both indexes can serve */
		c->indexed = ncols == 1 && ftype == ttype && !OidIsValid(cmp.cast_to) &&
			!type_is_collatable(ftype) &&
			LinksIndexLeads(frel, fatt, InvalidOid) &&
			LinksIndexLeads(trel, tatt, InvalidOid);
		c->plain = ncols == 1 && ftype == ttype && !OidIsValid(cmp.cast_to) &&
			(!OidIsValid(tcoll) || fcoll == tcoll);
		c->type = ftype;
		c->coll = tcoll;
		c->opno = cmp.opno;
		c->fatt = fatt;
		c->tatt = tatt;
	}
	return NULL;
}

/*
 * The keys of a replaced table that its replacement lacks, found once for
 * every link that compares the same column the same way (two services
 * referring to one restored table); valid during one call of
 * BacCheckLinksRemapped, in LinksLostContext.
 */
typedef struct LinksLost
{
	Oid			yold;			/* the replaced table and its column */
	AttrNumber	yold_att;
	Oid			ynew;			/* its replacement and its column */
	AttrNumber	ynew_att;
	Oid			opno;			/* the equality compared with */
	Datum		keys;			/* array of the lost keys */
} LinksLost;

static List *LinksLostCache = NIL;
static MemoryContext LinksLostContext = NULL;

/* the rows of replaced tables known to be changed (BacLinksKnownChanges) */
typedef struct LinksChanges
{
	Oid			relid;
	int64		n;
	Datum		tids;			/* tid[] */
} LinksChanges;

static List *LinksChangesList = NIL;
static MemoryContext LinksChangesContext = NULL;	/* in TopTransactionContext */
static LocalTransactionId LinksChangesXact = InvalidLocalTransactionId;

/*
 * LinksChangesCurrent
 *		Drop what an earlier transaction left (its memory went with it).
 */
static void
LinksChangesCurrent(void)
{
	if (LinksChangesXact != MyProc->lxid)
	{
		LinksChangesList = NIL;
		LinksChangesContext = NULL;
		LinksChangesXact = MyProc->lxid;
	}
}

/*
 * BacLinksKnownChanges
 *		See pg_bac.h.
 */
void
BacLinksKnownChanges(Oid relid, ItemPointerData *tids, int64 n)
{
	MemoryContext old;
	LinksChanges *c;
	Datum	   *elems;

	LinksChangesCurrent();
	if (LinksChangesContext == NULL)
		LinksChangesContext = AllocSetContextCreate(TopTransactionContext,
													"pg_bac known changes",
													ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(LinksChangesContext);
	c = palloc(sizeof(LinksChanges));
	c->relid = relid;
	c->n = n;
	elems = palloc(sizeof(Datum) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
		elems[i] = PointerGetDatum(&tids[i]);
	c->tids = PointerGetDatum(construct_array(elems, (int) n, TIDOID,
											  sizeof(ItemPointerData), false,
											  TYPALIGN_SHORT));
	pfree(elems);
	LinksChangesList = lappend(LinksChangesList, c);
	MemoryContextSwitchTo(old);
}

/*
 * BacLinksForgetChanges
 *		See pg_bac.h.
 */
void
BacLinksForgetChanges(void)
{
	LinksChangesCurrent();
	LinksChangesList = NIL;
	if (LinksChangesContext != NULL)
		MemoryContextDelete(LinksChangesContext);
	LinksChangesContext = NULL;
}

/*
 * LinksKnownChanges
 *		The changed rows BacLinksKnownChanges gave for relid, or NULL.
 */
static LinksChanges *
LinksKnownChanges(Oid relid)
{
	ListCell   *lc;

	LinksChangesCurrent();
	foreach(lc, LinksChangesList)
	{
		LinksChanges *c = lfirst(lc);

		if (c->relid == relid)
			return c;
	}
	return NULL;
}

/*
 * LinksLostKeys
 *		The array of the (non-null) keys of table yold (column ycol) that
 *		no row of ynew equals (the link's plain equality, see LinksCond).
 *		The two tables are the restored service's own.  When the report
 *		knows which rows of yold are not in ynew unchanged
 *		(BacLinksKnownChanges), only those are looked up in ynew; else,
 *		when both have an index on the column, they are walked in order (a
 *		merge anti join, in one process: it reads each index once), else
 *		as the planner chooses.
 */
static Datum
LinksLostKeys(LinksCond *cnew, LinksCond *cold, bool x_is_from,
			  const char *yold, const char *ynew, const char *ycol)
{
	Oid			yoldrel = x_is_from ? cold->trel : cold->frel;
	AttrNumber	yoldatt = x_is_from ? cold->tatt : cold->fatt;
	Oid			ynewrel = x_is_from ? cnew->trel : cnew->frel;
	AttrNumber	ynewatt = x_is_from ? cnew->tatt : cnew->fatt;
	ListCell   *lc;
	LinksLost  *l;
	MemoryContext old;
	const char *yc = quote_identifier(ycol);
	const char *op = LinksOperatorName(cnew->opno);
	int			guclevel = NewGUCNestLevel();
	int			ret;
	bool		isnull;
	Datum		d;
	LinksChanges *changes;

	foreach(lc, LinksLostCache)
	{
		l = lfirst(lc);
		if (l->yold == yoldrel && l->yold_att == yoldatt &&
			l->ynew == ynewrel && l->ynew_att == ynewatt &&
			l->opno == cnew->opno)
			return l->keys;
	}
	changes = LinksKnownChanges(yoldrel);
	if (changes != NULL)
	{
		/* only the changed rows can hold a key the replacement lacks */
		Oid			argtypes[1] = {TIDARRAYOID};
		Datum		values[1] = {changes->tids};

		ret = SPI_execute_with_args(psprintf("SELECT ARRAY(SELECT o.%s FROM %s o"
											 " WHERE o.ctid OPERATOR(pg_catalog.=) ANY ($1)"
											 " AND o.%s IS NOT NULL"
											 " AND NOT EXISTS (SELECT FROM %s n WHERE o.%s %s n.%s))",
											 yc, yold, yc, ynew, yc, op, yc),
									1, argtypes, values, NULL, true, 0);
	}
	else if (LinksIndexLeads(yoldrel, yoldatt, cnew->coll) &&
			 LinksIndexLeads(ynewrel, ynewatt, cnew->coll))
	{
		(void) set_config_option("enable_hashjoin", "off",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
		(void) set_config_option("max_parallel_workers_per_gather", "0",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	}
	if (changes == NULL)
		ret = SPI_execute(psprintf("SELECT ARRAY(SELECT o.%s FROM %s o WHERE o.%s IS NOT NULL"
								   " AND NOT EXISTS (SELECT FROM %s n WHERE o.%s %s n.%s))",
								   yc, yold, yc, ynew, yc, op, yc),
						  true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "link check query failed: %s", SPI_result_code_string(ret));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	AtEOXact_GUC(true, guclevel);
	Assert(!isnull);

	old = MemoryContextSwitchTo(LinksLostContext);
	l = palloc(sizeof(LinksLost));
	l->yold = yoldrel;
	l->yold_att = yoldatt;
	l->ynew = ynewrel;
	l->ynew_att = ynewatt;
	l->opno = cnew->opno;
	l->keys = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
	LinksLostCache = lappend(LinksLostCache, l);
	MemoryContextSwitchTo(old);
	return l->keys;
}

/*
 * LinksCountLost
 *		The rows of table xtab (alias xa, the side of the link that is not
 *		replaced) whose key, all columns not null (xnotnull), matched a row
 *		of yold (the replaced table) and matches no row of ynew (its
 *		replacement): the references a replacement breaks (x the
 *		referencing side) or the rows it orphans (x the referenced side).
 *		condold and condnew compare x with the old and the new table under
 *		alias ya.
 *
 * When the link is plain in both (one column, one type and collation, the
 * same in the old and the new table: its equality is an equivalence) and
 * x's column leads a btree index of its table (in that collation), the
 * keys of yold that ynew lacks are found first, from the replaced table
 * and its replacement alone, and x is read only through its index for
 * those keys: a row of x that equals a lost key equals no row of ynew.
 * The cost then depends on the replaced table, not on x.  When x is no
 * larger than the replaced table, x is read instead (the planner may then
 * probe the two tables' indexes for each row of x): the same count.
 */
static int64
LinksCountLost(const char *xa, const char *xtab, const char *xnotnull,
			   const char *ya, const char *yold, const char *ynew,
			   const char *condold, const char *condnew,
			   LinksCond *cnew, LinksCond *cold, Oid xrel, AttrNumber xatt,
			   const char *xcol, const char *ycol)
{
	bool		x_is_from = cnew->frel == xrel;
	Oid			yoldrel = x_is_from ? cold->trel : cold->frel;
	char	   *sql;

	if (LinksBlocks(xrel) > LinksBlocks(yoldrel) &&
		cnew->plain && cold->plain && cnew->type == cold->type &&
		cnew->coll == cold->coll && cnew->opno == cold->opno &&
		OidIsValid(get_array_type(cnew->type)) &&
		LinksIndexLeads(xrel, xatt, cnew->coll))
	{
		Oid			argtypes[1] = {get_array_type(cnew->type)};
		Datum		values[1];
		int			ret;
		bool		isnull;

		elog(DEBUG2, "counting the rows of %s that a replacement of %s loses through an index",
			 xtab, yold);
		values[0] = LinksLostKeys(cnew, cold, x_is_from, yold, ynew, ycol);
		if (ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(values[0])),
						   ARR_DIMS(DatumGetArrayTypeP(values[0]))) == 0)
			return 0;
		sql = psprintf("SELECT pg_catalog.count(*) FROM %s %s WHERE %s.%s %s ANY ($1)",
					   xtab, xa, xa, quote_identifier(xcol),
					   LinksOperatorName(cnew->opno));
		ret = SPI_execute_with_args(sql, 1, argtypes, values, NULL, true, 0);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "link check query failed: %s", SPI_result_code_string(ret));
		return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	}
	sql = psprintf("SELECT pg_catalog.count(*) FROM %s %s WHERE %s"
				   " AND EXISTS (SELECT FROM %s %s WHERE %s)"
				   " AND NOT EXISTS (SELECT FROM %s %s WHERE %s)",
				   xtab, xa, xnotnull, yold, ya, condold, ynew, ya, condnew);
	return LinksCount(sql);
}

/*
 * LinksCheckOne
 *		Count broken references and (if orphans_matter) orphans of one
 *		link; fills r (whose strings the caller allocated already).
 *		frel_old / trel_old: when valid, the table the referencing /
 *		referenced table replaces (only one side): its broken references /
 *		orphans are then the ones the replacement makes (see
 *		BacLinkCheck.lost).  Returns NULL, or why the link cannot be
 *		checked.
 */
static char *
LinksCheckOne(Oid frel, char **fcols, Oid trel, char **tcols, int ncols,
			  bool orphans_matter, bool samples, BacLinkCheck *r,
			  MemoryContext resultctx, Oid frel_old, Oid trel_old)
{
	LinksCond	c,
				cold;
	char	   *ftab,
			   *ttab;
	char	   *bsample = NULL,
			   *osample = NULL;
	char	   *why;

	if (!OidIsValid(frel) || !OidIsValid(trel))
		return psprintf("cannot check: the %s table no longer exists",
						OidIsValid(frel) ? "referenced" : "referencing");

	ftab = LinksTableName(frel);
	ttab = LinksTableName(trel);
	why = LinksBuildCond(frel, fcols, trel, tcols, ncols, ftab, ttab, &c);
	if (why)
		return why;

	/* the replaced table must compare as its replacement does */
	if (OidIsValid(trel_old) &&
		LinksBuildCond(frel, fcols, trel_old, tcols, ncols, ftab,
					   LinksTableName(trel_old), &cold) == NULL)
	{
		r->lost = true;
		r->broken = LinksCountLost("f", ftab, c.fnotnull.data, "t",
								   LinksTableName(trel_old), ttab,
								   cold.cond.data, c.cond.data, &c, &cold,
								   frel, c.fatt, fcols[0], tcols[0]);
	}
	else
		r->broken = LinksCountUnmatched("f", ftab, c.fnotnull.data, c.fkey.data,
										"t", ttab, c.cond.data, ncols, c.indexed,
										samples ? &bsample : NULL);
	r->orphans_checked = orphans_matter;
	if (orphans_matter && OidIsValid(frel_old) &&
		LinksBuildCond(frel_old, fcols, trel, tcols, ncols,
					   LinksTableName(frel_old), ttab, &cold) == NULL)
	{
		r->lost = true;
		r->orphaned = LinksCountLost("t", ttab, c.tnotnull.data, "f",
									 LinksTableName(frel_old), ftab,
									 cold.cond.data, c.cond.data, &c, &cold,
									 trel, c.tatt, tcols[0], fcols[0]);
	}
	else if (orphans_matter)
		r->orphaned = LinksCountUnmatched("t", ttab, c.tnotnull.data, c.tkey.data,
										  "f", ftab, c.cond.data, ncols, c.indexed,
										  samples ? &osample : NULL);
	r->checked = true;

	if (bsample || osample)
	{
		MemoryContext old = MemoryContextSwitchTo(resultctx);

		r->sample = psprintf("%s%s%s%s%s",
							 bsample ? "broken: " : "", bsample ? bsample : "",
							 bsample && osample ? "; " : "",
							 osample ? "orphaned: " : "", osample ? osample : "");
		MemoryContextSwitchTo(old);
	}
	return NULL;
}

/*
 * LinksRemapped
 *		The relation that stands for relid while links are checked: the
 *		table of the same name in the schema a remap puts in place of
 *		relid's schema (InvalidOid when there is none), else relid itself.
 *		Sets *nspname and *relname to the names of the result (NULL when it
 *		does not exist).
 */
static Oid
LinksRemapped(Oid relid, List *remaps, char **nspname, char **relname)
{
	ListCell   *lc;

	*nspname = *relname = NULL;
	if (!OidIsValid(relid))
		return InvalidOid;
	*nspname = get_namespace_name(get_rel_namespace(relid));
	*relname = get_rel_name(relid);
	foreach(lc, remaps)
	{
		BacSchemaRemap *r = lfirst(lc);
		Oid			nsp;

		if (strcmp(r->from, *nspname) != 0)
			continue;
		nsp = get_namespace_oid(r->to, true);
		relid = OidIsValid(nsp) ? get_relname_relid(*relname, nsp) : InvalidOid;
		*nspname = OidIsValid(relid) ? pstrdup(r->to) : NULL;
		if (!OidIsValid(relid))
			*relname = NULL;
		break;
	}
	return relid;
}

/*
 * LinksReplaced
 *		When table nspname.relname (a link's table after remapping) is in a
 *		schema a remap puts in place of another, that schema's table of the
 *		same name: the table it replaces, or InvalidOid when that schema
 *		has none.  *replaced tells whether the schema is one put in place
 *		of another.
 */
static Oid
LinksReplaced(const char *nspname, const char *relname, List *remaps,
			  bool *replaced)
{
	ListCell   *lc;

	*replaced = false;
	if (nspname == NULL || relname == NULL)
		return InvalidOid;
	foreach(lc, remaps)
	{
		BacSchemaRemap *r = lfirst(lc);
		Oid			nsp;

		if (strcmp(r->to, nspname) != 0)
			continue;
		*replaced = true;
		nsp = get_namespace_oid(r->from, true);
		return OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
	}
	return InvalidOid;
}

/*
 * LinksCheckRow
 *		Check the link of one row of bac.links (as BacCheckLinksRemapped
 *		reads them) and return its BacLinkCheck, allocated in resultctx.
 */
static BacLinkCheck *
LinksCheckRow(HeapTuple tup, TupleDesc desc, List *remaps, bool quiet,
			  MemoryContext resultctx)
{
	bool		isnull;
	Datum		d;
	Oid			frel = InvalidOid,
				trel = InvalidOid,
				frel_old,
				trel_old;
	char	  **fcols,
			  **tcols;
	char	   *fnsp,
			   *fname,
			   *tnsp,
			   *tname;
	int			nf,
				nt;
	bool		orphans_matter;
	bool		freplaced,
				treplaced;
	BacLinkCheck *r;
	MemoryContext old;
	char	   *why;

	d = SPI_getbinval(tup, desc, 2, &isnull);
	if (!isnull)
		frel = DatumGetObjectId(d);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	if (!isnull)
		trel = DatumGetObjectId(d);
	frel = LinksRemapped(frel, remaps, &fnsp, &fname);
	trel = LinksRemapped(trel, remaps, &tnsp, &tname);
	/* one side replaced: the table it replaces (see BacLinkCheck.lost) */
	frel_old = LinksReplaced(fnsp, fname, remaps, &freplaced);
	trel_old = LinksReplaced(tnsp, tname, remaps, &treplaced);
	if (treplaced)
		frel_old = InvalidOid;
	if (freplaced)
		trel_old = InvalidOid;
	nf = LinksNameArray(SPI_getbinval(tup, desc, 3, &isnull), &fcols);
	nt = LinksNameArray(SPI_getbinval(tup, desc, 5, &isnull), &tcols);
	orphans_matter = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));

	old = MemoryContextSwitchTo(resultctx);
	r = palloc0(sizeof(BacLinkCheck));
	r->link = SPI_getvalue(tup, desc, 1);
	r->declared = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
	r->from_service = SPI_getvalue(tup, desc, 8);
	r->to_service = SPI_getvalue(tup, desc, 9);
	r->from_schema = fnsp ? pstrdup(fnsp) : NULL;
	r->from_table = fname ? pstrdup(fname) : NULL;
	r->to_schema = tnsp ? pstrdup(tnsp) : NULL;
	r->to_table = tname ? pstrdup(tname) : NULL;
	MemoryContextSwitchTo(old);

	if (nf != nt)
		why = pstrdup("cannot check: column counts differ");
	else
		why = LinksCheckOne(frel, fcols, trel, tcols, nf, orphans_matter,
							!quiet, r, resultctx, frel_old, trel_old);
	if (why)
	{
		old = MemoryContextSwitchTo(resultctx);
		r->checked = false;
		r->broken = 0;
		r->orphans_checked = false;
		r->sample = pstrdup(why);
		MemoryContextSwitchTo(old);
		if (!quiet)
			ereport(WARNING,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("link \"%s\" %s", r->link, why),
					 errdetail("Its counts are reported as NULL."),
					 errhint("Drop the link with bac.drop_link and declare it again for the current tables.")));
	}
	return r;
}

/*
 * BacCheckLinks
 *		Check every link touching the given services (List of char *; NIL:
 *		all links).  See pg_bac.h for the contract.
 */
List *
BacCheckLinks(List *service_names)
{
	return BacCheckLinksRemapped(service_names, NIL, false);
}

/*
 * BacCheckLinksRemapped
 *		BacCheckLinks, with the tables of some schemas replaced by the
 *		tables of the same names in other schemas (remaps, BacSchemaRemap
 *		*); quiet: no WARNING for a link that cannot be checked and no
 *		samples.  See pg_bac.h.
 */
List *
BacCheckLinksRemapped(List *service_names, List *remaps, bool quiet)
{
	MemoryContext resultctx = CurrentMemoryContext;
	List	   *result = NIL;
	int			guclevel;
	int			ret;
	Oid			argtypes[1] = {NAMEARRAYOID};
	Datum		values[1] = {(Datum) 0};
	char		nulls[1] = {'n'};
	SPITupleTable *defs;
	uint64		ndefs;

	guclevel = BacPinSearchPath();
	LinksLostCache = NIL;
	LinksLostContext = AllocSetContextCreate(CurrentMemoryContext,
											 "pg_bac lost link keys",
											 ALLOCSET_DEFAULT_SIZES);
	SPI_connect();

	if (service_names != NIL)
	{
		Datum	   *elems = palloc(sizeof(Datum) * list_length(service_names));
		int			i = 0;
		ListCell   *lc;

		foreach(lc, service_names)
		{
			Name		n = palloc0(NAMEDATALEN);

			namestrcpy(n, (char *) lfirst(lc));
			elems[i++] = NameGetDatum(n);
		}
		values[0] = PointerGetDatum(construct_array(elems, i, NAMEOID, NAMEDATALEN,
													false, TYPALIGN_CHAR));
		nulls[0] = ' ';
	}

	/* one snapshot for every count, seeing the caller's own changes */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());

	ret = BacRegistryQuery("SELECT link, from_table::pg_catalog.oid, from_columns,"
						   " to_table::pg_catalog.oid, to_columns, orphans_matter,"
						   " declared, from_service, to_service"
						   "  FROM bac.links"
						   " WHERE $1 IS NULL"
						   "    OR from_service OPERATOR(pg_catalog.=) ANY ($1)"
						   "    OR to_service OPERATOR(pg_catalog.=) ANY ($1)"
						   " ORDER BY declared DESC, link, from_service, to_service",
						   1, argtypes, values, nulls);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	defs = SPI_tuptable;
	ndefs = SPI_processed;

	for (uint64 i = 0; i < ndefs; i++)
	{
		BacLinkCheck *r;
		MemoryContext old;
		instr_time	start,
					elapsed;

		CHECK_FOR_INTERRUPTS();
		INSTR_TIME_SET_CURRENT(start);
		r = LinksCheckRow(defs->vals[i], defs->tupdesc, remaps, quiet, resultctx);
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		ereport(DEBUG1,
				(errmsg("checked link \"%s\"%s in %.3f s", r->link,
						r->lost ? " (what the restore changes)" : "",
						INSTR_TIME_GET_DOUBLE(elapsed))));
		old = MemoryContextSwitchTo(resultctx);
		result = lappend(result, r);
		MemoryContextSwitchTo(old);
	}

	PopActiveSnapshot();
	SPI_finish();
	LinksLostCache = NIL;
	MemoryContextDelete(LinksLostContext);
	LinksLostContext = NULL;
	AtEOXact_GUC(true, guclevel);
	return result;
}

/*
 * bac.check_links(services name[] DEFAULT NULL)
 *	RETURNS TABLE (link name, from_service name, to_service name,
 *				   broken bigint, orphaned bigint, sample text)
 *
 *	services: check the links whose referencing or referenced service is
 *			  one of these.  NULL: every service the caller may act on (a
 *			  superuser: all; another role: the services whose schema it
 *			  owns).  Each named service must be registered and the caller
 *			  allowed to act on it.
 *
 * orphaned is NULL when the link's orphans do not matter (not counted);
 * broken and orphaned are NULL when the link cannot be checked any more
 * (a WARNING and sample say why).  Reading the tables needs the caller's
 * SELECT privilege on them.
 */
PG_FUNCTION_INFO_V1(bac_check_links);
Datum
bac_check_links(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *services = NIL;
	bool		none = false;
	List	   *checks;
	ListCell   *lc;
	int			guclevel;
	MemoryContext outer = CurrentMemoryContext;

	InitMaterializedSRF(fcinfo, 0);

	guclevel = BacPinSearchPath();
	SPI_connect();
	if (PG_ARGISNULL(0))
	{
		if (!superuser())
		{
			int			ret;

			/* pg_has_role runs as the registry owner: pass the caller */
			Oid			argtypes[1] = {OIDOID};
			Datum		values[1] = {ObjectIdGetDatum(GetUserId())};

			ret = BacRegistryQuery("SELECT s.service FROM bac.service s"
								   " JOIN pg_catalog.pg_namespace n"
								   "   ON n.nspname OPERATOR(pg_catalog.=) s.schema_name"
								   " WHERE pg_catalog.pg_has_role($1, n.nspowner, 'USAGE')",
								   1, argtypes, values, NULL);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				MemoryContext old = MemoryContextSwitchTo(outer);

				services = lappend(services,
								   pstrdup(SPI_getvalue(SPI_tuptable->vals[i],
														SPI_tuptable->tupdesc, 1)));
				MemoryContextSwitchTo(old);
			}
			none = (services == NIL);
		}
	}
	else
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
		Datum	   *elems;
		bool	   *elnulls;
		int			n;

		n = BacNameArrayElements(arr, "services",
								 "Pass the service names as a flat array, e.g. '{orders,customers}'.",
								 &elems, &elnulls);
		for (int i = 0; i < n; i++)
		{
			char	   *name;

			if (elnulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("services must not contain NULL"),
						 errdetail("Element %d is NULL.", i + 1),
						 errhint("Pass service names, or NULL instead of the array for every service.")));
			name = NameStr(*DatumGetName(elems[i]));
			BacCheckServicePrivilege(name, "check links of");
			{
				MemoryContext old = MemoryContextSwitchTo(outer);

				services = lappend(services, pstrdup(name));
				MemoryContextSwitchTo(old);
			}
		}
		none = (services == NIL);
	}
	SPI_finish();
	AtEOXact_GUC(true, guclevel);

	if (none)
		return (Datum) 0;

	checks = BacCheckLinks(services);
	foreach(lc, checks)
	{
		BacLinkCheck *r = (BacLinkCheck *) lfirst(lc);
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		NameData   *names = palloc(sizeof(NameData) * 3);

		namestrcpy(&names[0], r->link);
		values[0] = NameGetDatum(&names[0]);
		if (r->from_service)
		{
			namestrcpy(&names[1], r->from_service);
			values[1] = NameGetDatum(&names[1]);
		}
		else
			nulls[1] = true;
		if (r->to_service)
		{
			namestrcpy(&names[2], r->to_service);
			values[2] = NameGetDatum(&names[2]);
		}
		else
			nulls[2] = true;
		values[3] = Int64GetDatum(r->broken);
		nulls[3] = !r->checked;
		values[4] = Int64GetDatum(r->orphaned);
		nulls[4] = !r->checked || !r->orphans_checked;
		if (r->sample)
			values[5] = CStringGetTextDatum(r->sample);
		else
			nulls[5] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
