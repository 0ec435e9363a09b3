/*-------------------------------------------------------------------------
 *
 * pg_bac.c
 *		Module entry point: settings and the helpers shared by subsystems.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/pg_bac.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pg_bac.h"
#include "progress.h"
#include "pitr.h"

PG_MODULE_MAGIC;

/* GUC: where snapshots are written; relative paths are under the data dir */
char	   *bac_archive_directory = NULL;

void		_PG_init(void);

/*
 * Module load callback: define the bac.* settings.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("bac.archive_directory",
							   "Directory that holds pg_bac snapshots.",
							   "A relative path is taken relative to the data directory.",
							   &bac_archive_directory,
							   "pg_bac",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("bac.change_segment_size",
							"Size past which the change archive starts a new segment.",
							"Segments are the unit in which the change archive is pruned with the snapshots.",
							&bac_change_segment_size,
							16 * 1024,
							64,
							1024 * 1024,
							PGC_SIGHUP,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("bac.restore_maintenance_work_mem",
							"maintenance_work_mem for the index builds of a restore's post-data.",
							"A restore raises maintenance_work_mem to at least this value while it runs its post-data scripts (index and constraint builds), then sets it back; 0 or -1 leaves maintenance_work_mem as it is.",
							&bac_restore_maintenance_work_mem,
							BAC_RESTORE_MWM_DEFAULT,
							-1,
							MAX_KILOBYTES,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("bac");

	BacProgressInit();
	BacArchiverInit();
}

/*
 * bac.version() RETURNS text
 *		The version of the loaded library.  Calling it (or any other bac
 *		function) loads the library, which makes the bac.* settings visible.
 */
PG_FUNCTION_INFO_V1(bac_version);
Datum
bac_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(PG_BAC_VERSION));
}

/*
 * BacSchemaOid
 *		Look up a schema by name; error (or InvalidOid if missing_ok) when
 *		it does not exist.
 */
Oid
BacSchemaOid(const char *nspname, bool missing_ok)
{
	Oid			nspoid = get_namespace_oid(nspname, true);

	if (!OidIsValid(nspoid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"%s\" does not exist", nspname)));
	return nspoid;
}

/*
 * BacMayActOnSchema
 *		The one rule of who may act on a service's schema (snapshot,
 *		restore, export, links): a superuser, or the owner of the schema (or
 *		a member of the owner role).
 */
bool
BacMayActOnSchema(Oid nspoid)
{
	return superuser() || pg_namespace_ownercheck(nspoid, GetUserId());
}

/*
 * BacRequireSuperuser
 *		Error unless the caller is a superuser: for the functions of
 *		server-wide facilities (the change archive).  function names the SQL
 *		function, what completes "Only a superuser may ...".
 */
void
BacRequireSuperuser(const char *function, const char *what)
{
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", function),
				 errdetail("Only a superuser may %s.", what)));
}

/*
 * BacCheckSchemaPrivilege
 *		A superuser may act on every service; any other role only on the
 *		services whose schema it owns (or is a member of the owner role).
 */
void
BacCheckSchemaPrivilege(Oid nspoid, const char *action)
{
	if (!BacMayActOnSchema(nspoid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s schema \"%s\"",
						action, get_namespace_name(nspoid)),
				 errdetail("Only a superuser or the owner of the schema may %s it.",
						   action),
				 errhint("Run this as a superuser or as the role that owns the schema.")));
}

/*
 * BacNameArrayElements
 *		Deconstruct a name[] argument called argname into its elements and
 *		null flags; returns their number.  A multi-dimensional array is an
 *		error whose hint (flat_hint) shows the caller's kind of names.  The
 *		caller checks the elements (NULLs included) in its own order.
 */
int
BacNameArrayElements(ArrayType *arr, const char *argname,
					 const char *flat_hint, Datum **elems, bool **nulls)
{
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", argname),
				 errdetail("The array has %d dimensions.", ARR_NDIM(arr)),
				 errhint("%s", flat_hint)));
	deconstruct_array(arr, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
					  elems, nulls, &n);
	return n;
}
