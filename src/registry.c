/*-------------------------------------------------------------------------
 *
 * registry.c
 *		The service registry: register and unregister services, declare
 *		and drop links between them.
 *
 * The registry is two ordinary tables in schema bac, bac.service and
 * bac.link, marked with pg_extension_config_dump so that pg_dump keeps
 * their rows.  Nobody but the extension owner has any privilege on them.
 *
 * How writes are protected: the SQL functions here are plain C functions,
 * not SECURITY DEFINER.  They run as the caller, check the caller's right
 * to act on the services involved (BacCheckSchemaPrivilege: a superuser,
 * or the owner of the service's schema), run the DDL on the service's
 * schema as the caller (so PostgreSQL's own checks apply to CREATE SCHEMA
 * and ALTER SCHEMA ... OWNER TO), and only then switch, for the one
 * statement that writes the registry row, to the owner of the registry
 * tables with SetUserIdAndSecContext (SECURITY_LOCAL_USERID_CHANGE and
 * SECURITY_RESTRICTED_OPERATION; an error anywhere restores the user at
 * transaction or subtransaction abort).  The statements are fixed strings
 * with parameters, fully schema-qualified, and run with search_path pinned
 * to pg_catalog, pg_temp; the tables have no triggers, so no user code
 * runs with the owner's rights.
 *
 * Every change of the registry first takes ShareRowExclusiveLock on
 * bac.service (RegistryLock), so two sessions registering the same
 * service or adding links concurrently run one after the other; the
 * second one's checks then see the first one's committed rows (in READ
 * COMMITTED, each SPI statement takes a fresh snapshot) and it fails with
 * a clean error instead of a unique violation.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/registry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "access/nbtree.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "pg_bac.h"
#include "pitr.h"

/*
 * RegistryRelid
 *		OID of relation bac.<relname> (the registry tables and views).
 */
static Oid
RegistryRelid(const char *relname)
{
	Oid			nspoid = BacSchemaOid("bac", false);
	Oid			relid = get_relname_relid(relname, nspoid);

	if (!OidIsValid(relid))
		elog(ERROR, "pg_bac registry relation bac.%s is missing", relname);
	return relid;
}

/*
 * RegistryLock
 *		Serialize changes of the registry: ShareRowExclusiveLock on
 *		bac.service conflicts with itself but not with readers.
 */
static void
RegistryLock(void)
{
	LockRelationOid(RegistryRelid("service"), ShareRowExclusiveLock);
}

/*
 * BacPinSearchPath
 *		Set search_path to pg_catalog, pg_temp for the rest of the calling
 *		function; returns the GUC nest level to hand to AtEOXact_GUC(true,
 *		level) when done (an error restores it on its own).
 */
int
BacPinSearchPath(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * BacExtensionOwner
 *		The role owning the registry tables: the extension owner.
 */
Oid
BacExtensionOwner(void)
{
	Oid			relid = RegistryRelid("service");
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * BacRegistryQuery
 *		Run one statement on the registry as the registry owner (see the
 *		file header) and return the SPI result code.  Reads go through here
 *		too, since callers other than superusers have no privilege on the
 *		registry tables.  Always takes a fresh snapshot (read_only = false),
 *		so that after RegistryLock the rows committed by a session we
 *		waited for are seen.  The caller is connected to SPI and has
 *		checked the caller's rights for anything it writes.
 */
int
BacRegistryQuery(const char *sql, int nargs, Oid *argtypes, Datum *values,
				 const char *nulls)
{
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(BacExtensionOwner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ret = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);

	if (ret < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	return ret;
}

/*
 * RegistryExecute
 *		Run one registry-writing statement as the registry owner and check
 *		it touched expected_rows rows (-1: any).
 */
static void
RegistryExecute(const char *sql, int nargs, Oid *argtypes, Datum *values,
				   const char *nulls, int expected_rows)
{
	(void) BacRegistryQuery(sql, nargs, argtypes, values, nulls);
	if (expected_rows >= 0 && SPI_processed != (uint64) expected_rows)
		elog(ERROR, "registry statement changed " UINT64_FORMAT " rows, expected %d",
			 SPI_processed, expected_rows);
}

/*
 * RegistryLookupOne
 *		Run a one-parameter (name) query returning at most one text column
 *		of one row; returns the value palloc'd in the current context, or
 *		NULL when there is no row.  Caller is connected to SPI.
 */
static char *
RegistryLookupOne(const char *sql, const char *arg)
{
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1];
	NameData	n;
	int			ret;

	namestrcpy(&n, arg);
	values[0] = NameGetDatum(&n);
	ret = BacRegistryQuery(sql, 1, argtypes, values, NULL);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "registry lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * RegistryServiceOfSchema
 *		Name of the service registered for schema nspname, or NULL.
 *		Caller is connected to SPI.
 */
static char *
RegistryServiceOfSchema(const char *nspname)
{
	return RegistryLookupOne("SELECT service FROM bac.service"
						" WHERE schema_name OPERATOR(pg_catalog.=) $1",
						nspname);
}

/*
 * RegistrySchemaOfService
 *		Schema name of a registered service, or NULL when the service is
 *		not registered.  Caller is connected to SPI.
 */
static char *
RegistrySchemaOfService(const char *service)
{
	return RegistryLookupOne("SELECT schema_name FROM bac.service"
						" WHERE service OPERATOR(pg_catalog.=) $1",
						service);
}

/*
 * RegistryUnknownService
 *		Report a service name that is not registered.
 */
static void
RegistryUnknownService(const char *service)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("service \"%s\" is not registered", service),
			 errdetail("bac.service has no row for service \"%s\".", service),
			 errhint("See SELECT service FROM bac.services for the registered services, or register it with bac.register_service.")));
}

/*
 * BacCheckServicePrivilege
 *		The caller must be allowed to act on a registered service: a
 *		superuser, or the owner of the service's schema.  When the schema
 *		no longer exists only a superuser may act on the service.  Errors
 *		out for unknown services.  Caller is connected to SPI.
 */
void
BacCheckServicePrivilege(const char *service, const char *action)
{
	char	   *schema = RegistrySchemaOfService(service);
	Oid			nspoid;

	if (schema == NULL)
		RegistryUnknownService(service);
	nspoid = BacSchemaOid(schema, true);
	if (OidIsValid(nspoid))
		BacCheckSchemaPrivilege(nspoid, action);
	else if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s service \"%s\"", action, service),
				 errdetail("The schema \"%s\" of the service no longer exists, so no role owns it.",
						   schema),
				 errhint("Run this as a superuser.")));
}

/*
 * RegistryRequireArg
 *		Reject a NULL argument of a registry function.
 */
static void
RegistryRequireArg(FunctionCallInfo fcinfo, int argno, const char *argname,
			  const char *funcname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname),
				 errdetail("%s() was called with a NULL %s.", funcname, argname),
				 errhint("Pass a value for %s.", argname)));
}

/*
 * RegistryRequireNonEmpty
 *		Reject an empty name.
 */
static void
RegistryRequireNonEmpty(const char *value, const char *argname)
{
	if (value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", argname),
				 errdetail("An empty string is not a valid %s.", argname),
				 errhint("Pass a non-empty name.")));
}

/*
 * RegistrySpiExec
 *		Run a utility statement or query as the caller; errors propagate.
 */
static void
RegistrySpiExec(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}

/*
 * RegistryWarnExtensionMembers
 *		Warn when schema nspoid holds members of extensions: they are not
 *		the service's own objects (a snapshot records the extension, not its
 *		members), and a non-relocatable one cannot move with the schema.
 *		Needs an SPI connection.
 */
static void
RegistryWarnExtensionMembers(Oid nspoid, const char *schema)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	char	   *names;
	char	   *fixed;

	values[0] = ObjectIdGetDatum(nspoid);
	if (SPI_execute_with_args("SELECT pg_catalog.string_agg(pg_catalog.quote_ident(e.extname) ||"
							  "  ' ' || e.extversion, ', ' ORDER BY e.extname),"
							  " pg_catalog.string_agg(CASE WHEN NOT e.extrelocatable THEN"
							  "  pg_catalog.quote_ident(e.extname) END, ', ' ORDER BY e.extname)"
							  " FROM pg_catalog.pg_extension e"
							  " WHERE e.extnamespace = $1 OR EXISTS (SELECT 1"
							  "  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p"
							  "   ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.objid"
							  "  WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass"
							  "   AND d.refobjid = e.oid AND d.deptype = 'e' AND p.pronamespace = $1)",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not list the extensions in schema \"%s\"", schema);
	names = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	fixed = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (names == NULL)
		return;
	ereport(WARNING,
			(errcode(ERRCODE_WARNING),
			 errmsg("schema \"%s\" holds the objects of extensions: %s",
					schema, names),
			 errdetail("Extension members are not the service's own objects: a snapshot records each extension by name, version and schema, as pg_dump emits CREATE EXTENSION.%s",
					   fixed ? psprintf(" Not relocatable, so they cannot move with the schema on a restore in place: %s.", fixed) : ""),
			 errhint("Install extensions into a schema of their own (CREATE EXTENSION ... SCHEMA ...), or move a relocatable one with ALTER EXTENSION ... SET SCHEMA.")));
}

/*
 * bac.register_service(service name, schema_name name DEFAULT NULL,
 *						owner regrole DEFAULT NULL,
 *						service_group name DEFAULT NULL) RETURNS void
 *
 *	service:	   the service's name (registry key).
 *	schema_name:   its schema (NULL: same as service).  Created, as the
 *				   caller, when it does not exist; otherwise the caller must
 *				   own it (or be superuser).
 *	owner:		   role to own the schema (NULL: keep the owner, or the
 *				   caller for a new schema).
 *	service_group: services restored together (NULL: none).
 *
 * The schema is revoked from PUBLIC, so that other services' roles cannot
 * use it.  The registry row records the schema's owner after all this.
 * When point-in-time restore is enabled in the database, its tables that
 * cannot be replayed are named, as bac.enable_pitr does.
 */
PG_FUNCTION_INFO_V1(bac_register_service);
Datum
bac_register_service(PG_FUNCTION_ARGS)
{
	const char *service;
	const char *schema;
	Oid			owner = InvalidOid;
	const char *group = NULL;
	Oid			nspoid;
	char	   *other;
	Oid			effective_owner;
	HeapTuple	tup;
	int			guclevel;
	NameData	n_service,
				n_schema,
				n_group;
	Oid			argtypes[4] = {NAMEOID, NAMEOID, REGROLEOID, NAMEOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	RegistryRequireArg(fcinfo, 0, "service", "bac.register_service");
	service = NameStr(*PG_GETARG_NAME(0));
	RegistryRequireNonEmpty(service, "service");
	schema = PG_ARGISNULL(1) ? service : NameStr(*PG_GETARG_NAME(1));
	RegistryRequireNonEmpty(schema, "schema_name");
	if (!PG_ARGISNULL(2))
	{
		owner = PG_GETARG_OID(2);
		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(owner)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("role with OID %u does not exist", owner),
					 errdetail("The owner given for service \"%s\" is not an existing role.",
							   service),
					 errhint("Pass the name of an existing role, e.g. owner => 'my_role'.")));
	}
	if (!PG_ARGISNULL(3))
	{
		group = NameStr(*PG_GETARG_NAME(3));
		RegistryRequireNonEmpty(group, "service_group");
	}

	if (IsReservedName(schema) || strcmp(schema, "information_schema") == 0 ||
		strcmp(schema, "bac") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("schema \"%s\" cannot belong to a service", schema),
				 errdetail("Schemas named pg_*, information_schema and pg_bac's own schema bac are reserved."),
				 errhint("Pass another schema_name.")));

	guclevel = BacPinSearchPath();
	SPI_connect();
	RegistryLock();

	if ((other = RegistrySchemaOfService(service)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("service \"%s\" is already registered", service),
				 errdetail("Service \"%s\" has schema \"%s\".", service, other),
				 errhint("Unregister it first with bac.unregister_service, or pick another service name.")));
	if ((other = RegistryServiceOfSchema(schema)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("schema \"%s\" already belongs to service \"%s\"",
						schema, other),
				 errdetail("A schema belongs to at most one service."),
				 errhint("Pass another schema_name, or unregister service \"%s\" first.",
						 other)));

	nspoid = BacSchemaOid(schema, true);
	if (!OidIsValid(nspoid))
	{
		/* created as the caller: CREATE privilege on the database needed */
		if (OidIsValid(owner))
			RegistrySpiExec(psprintf("CREATE SCHEMA %s AUTHORIZATION %s",
								quote_identifier(schema),
								quote_identifier(GetUserNameFromId(owner, false))));
		else
			RegistrySpiExec(psprintf("CREATE SCHEMA %s", quote_identifier(schema)));
	}
	else
	{
		BacCheckSchemaPrivilege(nspoid, "register");
		if (OidIsValid(owner))
			RegistrySpiExec(psprintf("ALTER SCHEMA %s OWNER TO %s",
								quote_identifier(schema),
								quote_identifier(GetUserNameFromId(owner, false))));
	}
	RegistrySpiExec(psprintf("REVOKE ALL ON SCHEMA %s FROM PUBLIC",
						quote_identifier(schema)));
	CommandCounterIncrement();

	nspoid = BacSchemaOid(schema, false);
	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nspoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for schema %u", nspoid);
	effective_owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);

	namestrcpy(&n_service, service);
	namestrcpy(&n_schema, schema);
	values[0] = NameGetDatum(&n_service);
	values[1] = NameGetDatum(&n_schema);
	values[2] = ObjectIdGetDatum(effective_owner);
	if (group)
	{
		namestrcpy(&n_group, group);
		values[3] = NameGetDatum(&n_group);
	}
	else
	{
		values[3] = (Datum) 0;
		nulls[3] = 'n';
	}
	RegistryExecute("INSERT INTO bac.service (service, schema_name, owner, service_group)"
					   " VALUES ($1, $2, $3, $4)",
					   4, argtypes, values, nulls, 1);
	RegistryWarnExtensionMembers(nspoid, schema);
	if (BacPitrEnabled())
		BacPitrWarnUnreplayable(schema);

	SPI_finish();
	AtEOXact_GUC(true, guclevel);
	PG_RETURN_VOID();
}

/*
 * bac.unregister_service(service name) RETURNS void
 *
 * Removes the service from the registry; its schema and snapshots stay.
 * Refused while declared links name one of its tables (drop them first):
 * a link to a service that is not registered could no longer be checked.
 */
PG_FUNCTION_INFO_V1(bac_unregister_service);
Datum
bac_unregister_service(PG_FUNCTION_ARGS)
{
	const char *service;
	char	   *schema;
	int			guclevel;
	int			ret;
	NameData	n_service,
				n_schema;
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1];

	RegistryRequireArg(fcinfo, 0, "service", "bac.unregister_service");
	service = NameStr(*PG_GETARG_NAME(0));

	guclevel = BacPinSearchPath();
	SPI_connect();
	RegistryLock();

	BacCheckServicePrivilege(service, "unregister");
	schema = RegistrySchemaOfService(service);

	namestrcpy(&n_schema, schema);
	values[0] = NameGetDatum(&n_schema);
	ret = BacRegistryQuery("SELECT pg_catalog.string_agg(pg_catalog.quote_ident(link::pg_catalog.text), ', '"
								"		ORDER BY link)"
								"  FROM bac.link"
								" WHERE from_schema OPERATOR(pg_catalog.=) $1"
								"    OR to_schema OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	{
		char	   *links = SPI_getvalue(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1);

		if (links != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("service \"%s\" still has declared links", service),
					 errdetail("Links: %s.", links),
					 errhint("Drop them first with bac.drop_link.")));
	}

	namestrcpy(&n_service, service);
	values[0] = NameGetDatum(&n_service);
	RegistryExecute("DELETE FROM bac.service WHERE service OPERATOR(pg_catalog.=) $1",
					   1, argtypes, values, NULL, 1);

	SPI_finish();
	AtEOXact_GUC(true, guclevel);
	PG_RETURN_VOID();
}

/*
 * RegistryLinkColumns
 *		Turn a name[] argument into attribute numbers of relation relid.
 *		Rejects NULL elements, empty or multi-dimensional arrays, duplicate,
 *		missing and system columns.  Returns the count; *attnums and *names
 *		are palloc'd.
 */
static int
RegistryLinkColumns(ArrayType *arr, Oid relid, const char *argname,
			   AttrNumber **attnums, char ***names)
{
	Datum	   *elems;
	bool	   *elnulls;
	int			n;

	n = BacNameArrayElements(arr, argname,
							 "Pass the column names as a flat array, e.g. '{a,b}'.",
							 &elems, &elnulls);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must name at least one column", argname),
				 errdetail("The array is empty."),
				 errhint("Pass the column names, e.g. '{customer_id}'.")));

	*attnums = palloc(sizeof(AttrNumber) * n);
	*names = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		char	   *col;
		AttrNumber	attnum;

		if (elnulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname),
					 errdetail("Element %d is NULL.", i + 1),
					 errhint("Pass only column names.")));
		col = NameStr(*DatumGetName(elems[i]));
		attnum = get_attnum(relid, col);
		if (attnum == InvalidAttrNumber || attnum < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation %s does not exist",
							col, quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
															get_rel_name(relid))),
					 errdetail("%s names a column the table does not have.", argname),
					 errhint("Check the column names; names are case-sensitive as written in the array.")));
		for (int j = 0; j < i; j++)
			if ((*attnums)[j] == attnum)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" appears twice in %s", col, argname),
						 errdetail("A link names each column once."),
						 errhint("Remove the duplicate column.")));
		(*attnums)[i] = attnum;
		(*names)[i] = col;
	}
	return n;
}

/*
 * RegistryLinkTable
 *		Check that relid is a table of a registered service; returns the
 *		service name and sets *schema.  Caller is connected to SPI.
 */
static char *
RegistryLinkTable(Oid relid, const char *argname, char **schema)
{
	char		relkind = get_rel_relkind(relid);
	char	   *service;

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s \"%s\" is not a table", argname, get_rel_name(relid)),
				 errdetail("Links are declared between tables (plain or partitioned)."),
				 errhint("Name a table.")));
	*schema = get_namespace_name(get_rel_namespace(relid));
	service = RegistryServiceOfSchema(*schema);
	if (service == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s %s is not in a registered service",
						argname, quote_qualified_identifier(*schema, get_rel_name(relid))),
				 errdetail("Schema \"%s\" is not the schema of any service.", *schema),
				 errhint("Register the schema's service first with bac.register_service.")));
	return service;
}

/*
 * RegistryUniqueIndexCovers
 *		Is there a valid, non-partial, expression-free unique index (or
 *		primary key) on relid whose key columns are all among attnums?
 */
static bool
RegistryUniqueIndexCovers(Oid relid, AttrNumber *attnums, int n)
{
	Relation	rel = table_open(relid, AccessShareLock);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup;
		Form_pg_index idx;
		bool		ok;

		tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for index %u", indexoid);
		idx = (Form_pg_index) GETSTRUCT(tup);
		ok = idx->indisunique && idx->indisvalid && idx->indimmediate &&
			heap_attisnull(tup, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(tup, Anum_pg_index_indexprs, NULL);
		for (int k = 0; ok && k < idx->indnkeyatts; k++)
		{
			bool		in = false;

			for (int j = 0; j < n; j++)
				if (idx->indkey.values[k] == attnums[j])
					in = true;
			ok = in;
		}
		ReleaseSysCache(tup);
		if (ok)
		{
			found = true;
			break;
		}
	}
	list_free(indexes);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * bac.add_link(link name, from_table regclass, from_columns name[],
 *				to_table regclass, to_columns name[],
 *				orphans_matter boolean DEFAULT false) RETURNS void
 *
 *	link:		   name of the link (unique among declared links).
 *	from_table:	   referencing table, in one registered service.
 *	from_columns:  its referencing columns.
 *	to_table:	   referenced table, in another registered service.
 *	to_columns:	   its referenced columns, covered by a primary key or a
 *				   unique index (valid, not deferrable, non-partial, no
 *				   expressions), same count as from_columns, each of a
 *				   type the matching from column could reference with a
 *				   foreign key (see BacLinkComparison).
 *	orphans_matter: whether target rows nothing refers to are reported.
 *
 * The caller must be allowed to act on both services.
 */
PG_FUNCTION_INFO_V1(bac_add_link);
Datum
bac_add_link(PG_FUNCTION_ARGS)
{
	const char *link;
	Oid			from_rel,
				to_rel;
	char	   *from_schema,
			   *to_schema,
			   *from_service,
			   *to_service;
	AttrNumber *from_att,
			   *to_att;
	char	  **from_names,
			  **to_names;
	int			nfrom,
				nto;
	bool		orphans_matter;
	int			guclevel;
	int			ret;
	NameData	n_link,
				n_fs,
				n_ft,
				n_ts,
				n_tt;
	Oid			argtypes[8] = {NAMEOID, NAMEOID, NAMEOID, NAMEARRAYOID,
	NAMEOID, NAMEOID, NAMEARRAYOID, BOOLOID};
	Datum		values[8];

	RegistryRequireArg(fcinfo, 0, "link", "bac.add_link");
	RegistryRequireArg(fcinfo, 1, "from_table", "bac.add_link");
	RegistryRequireArg(fcinfo, 2, "from_columns", "bac.add_link");
	RegistryRequireArg(fcinfo, 3, "to_table", "bac.add_link");
	RegistryRequireArg(fcinfo, 4, "to_columns", "bac.add_link");
	RegistryRequireArg(fcinfo, 5, "orphans_matter", "bac.add_link");
	link = NameStr(*PG_GETARG_NAME(0));
	RegistryRequireNonEmpty(link, "link");
	from_rel = PG_GETARG_OID(1);
	to_rel = PG_GETARG_OID(3);
	orphans_matter = PG_GETARG_BOOL(5);

	guclevel = BacPinSearchPath();
	SPI_connect();
	RegistryLock();

	namestrcpy(&n_link, link);
	values[0] = NameGetDatum(&n_link);
	ret = BacRegistryQuery("SELECT 1 FROM bac.link WHERE link OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("link \"%s\" already exists", link),
				 errdetail("Declared link names are unique."),
				 errhint("Pick another name, or drop the existing link with bac.drop_link.")));

	if (get_rel_relkind(from_rel) == '\0' || get_rel_relkind(to_rel) == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table with OID %u does not exist",
						get_rel_relkind(from_rel) == '\0' ? from_rel : to_rel),
				 errdetail("A table of the link was not found."),
				 errhint("Name existing tables.")));
	from_service = RegistryLinkTable(from_rel, "from_table", &from_schema);
	to_service = RegistryLinkTable(to_rel, "to_table", &to_schema);
	if (strcmp(from_service, to_service) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("link \"%s\" would stay inside service \"%s\"",
						link, from_service),
				 errdetail("Both tables are in schema \"%s\"; links connect different services.",
						   from_schema),
				 errhint("Inside one service, use a foreign key.")));
	BacCheckServicePrivilege(from_service, "link");
	BacCheckServicePrivilege(to_service, "link");

	nfrom = RegistryLinkColumns(PG_GETARG_ARRAYTYPE_P(2), from_rel, "from_columns",
						   &from_att, &from_names);
	nto = RegistryLinkColumns(PG_GETARG_ARRAYTYPE_P(4), to_rel, "to_columns",
						 &to_att, &to_names);
	if (nfrom != nto)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("link \"%s\" has %d referencing and %d referenced columns",
						link, nfrom, nto),
				 errdetail("from_columns and to_columns must have the same number of columns."),
				 errhint("Name one referenced column for each referencing column.")));
	for (int i = 0; i < nfrom; i++)
	{
		Oid			ftype = getBaseType(get_atttype(from_rel, from_att[i]));
		Oid			ttype = getBaseType(get_atttype(to_rel, to_att[i]));
		BacLinkCompare cmp;

		if (!BacLinkComparison(ftype, ttype, &cmp))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s cannot reference column \"%s\" of type %s",
							from_names[i], format_type_be(ftype),
							to_names[i], format_type_be(ttype)),
					 errdetail("There is no btree equality operator between the two types."),
					 errhint("Use columns of the same type, as a foreign key would.")));
	}
	if (!RegistryUniqueIndexCovers(to_rel, to_att, nto))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_FOREIGN_KEY),
				 errmsg("referenced columns of link \"%s\" are not unique", link),
				 errdetail("No primary key or unique index of %s covers the columns of to_columns.",
						   quote_qualified_identifier(to_schema, get_rel_name(to_rel))),
				 errhint("Add a primary key or a unique index (valid, not deferrable, without WHERE or expressions) on the referenced columns.")));

	namestrcpy(&n_fs, from_schema);
	namestrcpy(&n_ft, get_rel_name(from_rel));
	namestrcpy(&n_ts, to_schema);
	namestrcpy(&n_tt, get_rel_name(to_rel));
	values[1] = NameGetDatum(&n_fs);
	values[2] = NameGetDatum(&n_ft);
	values[3] = PG_GETARG_DATUM(2);
	values[4] = NameGetDatum(&n_ts);
	values[5] = NameGetDatum(&n_tt);
	values[6] = PG_GETARG_DATUM(4);
	values[7] = BoolGetDatum(orphans_matter);
	RegistryExecute("INSERT INTO bac.link (link, from_schema, from_table, from_columns,"
					   " to_schema, to_table, to_columns, orphans_matter)"
					   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
					   8, argtypes, values, NULL, 1);

	SPI_finish();
	AtEOXact_GUC(true, guclevel);
	PG_RETURN_VOID();
}

/*
 * bac.drop_link(link name) RETURNS void
 *
 * Removes a declared link.  The caller must be allowed to act on both of
 * its services (those that are still registered).
 */
PG_FUNCTION_INFO_V1(bac_drop_link);
Datum
bac_drop_link(PG_FUNCTION_ARGS)
{
	const char *link;
	int			guclevel;
	int			ret;
	NameData	n_link;
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1];
	char	   *schemas[2];

	RegistryRequireArg(fcinfo, 0, "link", "bac.drop_link");
	link = NameStr(*PG_GETARG_NAME(0));

	guclevel = BacPinSearchPath();
	SPI_connect();
	RegistryLock();

	namestrcpy(&n_link, link);
	values[0] = NameGetDatum(&n_link);
	ret = BacRegistryQuery("SELECT from_schema, to_schema FROM bac.link"
								" WHERE link OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("link \"%s\" does not exist", link),
				 errdetail("bac.link has no declared link of that name."),
				 errhint("See SELECT link FROM bac.links WHERE declared for the declared links.")));
	schemas[0] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	schemas[1] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	for (int i = 0; i < 2; i++)
	{
		Oid			nspoid = BacSchemaOid(schemas[i], true);

		if (OidIsValid(nspoid))
			BacCheckSchemaPrivilege(nspoid, "unlink");
		else if (!superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to drop link \"%s\"", link),
					 errdetail("Schema \"%s\" of the link no longer exists, so no role owns it.",
							   schemas[i]),
					 errhint("Run this as a superuser.")));
	}

	RegistryExecute("DELETE FROM bac.link WHERE link OPERATOR(pg_catalog.=) $1",
					   1, argtypes, values, NULL, 1);

	SPI_finish();
	AtEOXact_GUC(true, guclevel);
	PG_RETURN_VOID();
}
