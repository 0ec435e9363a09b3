/*-------------------------------------------------------------------------
 *
 * restore_schema.c
 *		The schema side of a restore: locks, the check for objects of other
 *		schemas that depend on the ones replaced, the name the live schema
 *		is moved aside under, schema commands run as the extension owner,
 *		and loading the data files into the new tables.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/restore_schema.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "progress.h"
#include "restore.h"

/*
 * RestoreCheckForeignDependents
 *		Refuse, listing them, when objects outside the schemas being replaced
 *		depend on objects inside them (views, foreign keys, functions, types,
 *		sequences owned by outside columns, ...).  Moving the schema aside
 *		would leave those objects pointing at the old copy, dropping it would
 *		cascade into another service; neither is acceptable.
 */
void
RestoreCheckForeignDependents(List *services)
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
					 "  WHERE d.deptype IN ('n', 'a')"
	/*
	 * An extension installed in one of the schemas moves into the restored
	 * schema (restore_order.c): neither it, nor its members, nor what uses
	 * its members is left dangling.
	 */
					 "  AND NOT (d.classid = 'pg_catalog.pg_extension'::pg_catalog.regclass"
					 "   AND (SELECT x.extnamespace FROM pg_catalog.pg_extension x WHERE x.oid = d.objid) IN (SELECT nsp FROM ours))"
					 "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e JOIN pg_catalog.pg_extension x ON x.oid = e.refobjid"
					 "   WHERE e.deptype = 'e' AND x.extnamespace IN (SELECT nsp FROM ours)"
					 "   AND ((e.classid = d.classid AND e.objid = d.objid)"
					 "    OR (e.classid = d.refclassid AND e.objid = d.refobjid))))"
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
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
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
 * RestoreLockSchema
 *		Lock a schema against concurrent creation of objects in it, then
 *		every relation in it with ACCESS EXCLUSIVE, in OID order.  These are
 *		ordinary heavyweight lock waits: lock_timeout and cancel apply.
 *		Nothing outside the schema is locked.
 */
void
RestoreLockSchema(Oid nspoid, const char *name)
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
 * RestoreAsideName
 *		Name for the live schema while (keep_previous) or until the end of
 *		(otherwise) the restore.  keep_previous: <schema>_before_<id>, or when
 *		that exceeds NAMEDATALEN - 1 bytes, a deterministic shorter name:
 *		the schema name clipped, an 8-hex-digit hash of the full schema name,
 *		then _before_<id>.
 */
char *
RestoreAsideName(const char *schema, const char *snapshot_id, bool keep_previous)
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
 * RestoreBecomeAdmin
 *		Unless the caller is a superuser, act as the owner of the extension
 *		(SECURITY_LOCAL_USERID_CHANGE) until the caller restores the saved
 *		user id.  Used only after BacCheckSchemaPrivilege, for commands whose
 *		names the restore fixes itself, and for the report's counting
 *		queries (which read other services' tables the caller may not read:
 *		the report shows only counts).
 */
void
RestoreBecomeAdmin(void)
{
	Oid			save_userid;
	int			save_sec;

	if (superuser())
		return;
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(BacExtensionOwner(),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE);
}

/*
 * RestoreSchemaCommand
 *		Run a command on a whole schema (rename, create, drop).  In place,
 *		these need the CREATE privilege on the database, which the owner of
 *		a service schema normally lacks; BacCheckSchemaPrivilege has already
 *		established that the caller owns the schema (or is a superuser), so
 *		with as_admin the command runs as the owner of the extension, for
 *		this one statement only (SECURITY_LOCAL_USERID_CHANGE).  The names
 *		in the command are fixed by the restore, never taken from a script.
 */
void
RestoreSchemaCommand(const char *sql, bool as_admin)
{
	Oid			save_userid;
	int			save_sec;
	int			ret;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (as_admin)
		RestoreBecomeAdmin();
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
 * RestoreLoadData
 *		COPY every data file of the service into its freshly created tables.
 */
void
RestoreLoadData(BacManifest *m, RestoreService *svc)
{
	ListCell   *lc;
	const char *encoding = NULL;

	if (m->encoding != NULL &&
		pg_strcasecmp(m->encoding, GetDatabaseEncodingName()) != 0)
		encoding = m->encoding;

	foreach(lc, svc->ms->tables)
	{
		BacManifestTable *t = lfirst(lc);
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
							t->name, m->snapshot_id, svc->ms->service),
					 errhint("The snapshot is inconsistent; check it with bac.verify_snapshot().")));
		BacProgressTable(t->name);
		INSTR_TIME_SET_CURRENT(start);
		rows = 0;
		frozen = true;
		foreach(lf, t->files)
		{
			bool		f;

			path = psprintf("%s/%s", m->directory, (char *) lfirst(lf));
			rows += BacCopyIn(relid, path, m->compression, encoding, true, &f);
			frozen = frozen && f;
		}
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		if ((int64) rows != t->rows)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("data files of table \"%s\" in snapshot \"%s\" hold %llu rows, the manifest says %lld",
							t->name, m->snapshot_id, (unsigned long long) rows,
							(long long) t->rows),
					 errhint("Nothing was changed.  Restore from another snapshot.")));
		BacProgressAdvance(1, 0);
		ereport(DEBUG1,
				(errmsg("restored table %s.%s: %llu rows in %.3f s%s",
						quote_identifier(svc->target), quote_identifier(t->name),
						(unsigned long long) rows,
						INSTR_TIME_GET_DOUBLE(elapsed),
						frozen ? " (frozen)" : "")));
	}
}

