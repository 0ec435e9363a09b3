/*-------------------------------------------------------------------------
 *
 * schema_ddl.c
 *		The capture of ddl.c shown for live schemas: bac.schema_ddl,
 *		bac.group_ddl and bac.schema_ddl_info.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/schema_ddl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "pg_bac.h"

/*
 * SchemaDdlSection
 *		The section argument argno: 'pre-data', 'post-data', or NULL for
 *		both; anything else is an error.
 */
static char *
SchemaDdlSection(FunctionCallInfo fcinfo, int argno)
{
	char	   *section;

	if (PG_ARGISNULL(argno))
		return NULL;
	section = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(section, "pre-data") != 0 && strcmp(section, "post-data") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid section \"%s\"", section),
				 errdetail("The section names one part of the captured definition."),
				 errhint("Valid values are 'pre-data', 'post-data' and NULL (both).")));
	return section;
}

/*
 * SchemaDdlText
 *		The scripts of a capture for the section SchemaDdlSection returned.
 */
static text *
SchemaDdlText(const char *section, const char *pre_data, const char *post_data)
{
	if (section == NULL)
		return cstring_to_text(psprintf("%s%s", pre_data, post_data));
	if (strcmp(section, "pre-data") == 0)
		return cstring_to_text(pre_data);
	return cstring_to_text(post_data);
}

/*
 * SchemaDdlCapture
 *		Check the caller may read the schema and capture it.
 */
static BacSchemaDDL *
SchemaDdlCapture(Name schema_name)
{
	Oid			nspoid = BacSchemaOid(NameStr(*schema_name), false);

	BacCheckSchemaPrivilege(nspoid, "capture the definition of");
	return BacCaptureSchemaDDL(nspoid);
}

/*
 * bac.schema_ddl(schema_name name, section text DEFAULT NULL) RETURNS text
 *		The captured definition of a schema: section 'pre-data',
 *		'post-data', or NULL for both.  Superuser or owner of the schema.
 */
PG_FUNCTION_INFO_V1(bac_schema_ddl);
Datum
bac_schema_ddl(PG_FUNCTION_ARGS)
{
	BacSchemaDDL *ddl;
	char	   *section = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema_name must not be null"),
				 errdetail("The schema whose definition to capture was not given."),
				 errhint("Pass the name of an existing schema.")));
	section = SchemaDdlSection(fcinfo, 1);

	ddl = SchemaDdlCapture(PG_GETARG_NAME(0));
	PG_RETURN_TEXT_P(SchemaDdlText(section, ddl->pre_data, ddl->post_data));
}

/*
 * bac.group_ddl(schema_names name[], section text DEFAULT NULL) RETURNS text
 *		The captured definition of several schemas in one dependency order
 *		across them, with a search_path switch before each run of one
 *		schema's statements: section 'pre-data', 'post-data', or NULL for
 *		both.  Superuser or owner of every schema.
 */
PG_FUNCTION_INFO_V1(bac_group_ddl);
Datum
bac_group_ddl(PG_FUNCTION_ARGS)
{
	BacGroupDDL *ddl;
	char	   *section = NULL;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			i;
	List	   *nspoids = NIL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema_names must not be null"),
				 errdetail("The schemas whose definition to capture were not given."),
				 errhint("Pass an array of existing schemas' names.")));
	section = SchemaDdlSection(fcinfo, 1);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), NAMEOID, NAMEDATALEN, false,
					  TYPALIGN_CHAR, &elems, &nulls, &nelems);
	for (i = 0; i < nelems; i++)
	{
		Oid			nspoid;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("schema_names must not contain nulls"),
					 errdetail("Element %d of schema_names is null.", i + 1),
					 errhint("Pass the names of existing schemas.")));
		nspoid = BacSchemaOid(NameStr(*DatumGetName(elems[i])), false);
		BacCheckSchemaPrivilege(nspoid, "capture the definition of");
		nspoids = lappend_oid(nspoids, nspoid);
	}

	ddl = BacCaptureGroupDDL(nspoids);
	PG_RETURN_TEXT_P(SchemaDdlText(section, ddl->pre_data, ddl->post_data));
}

/*
 * bac.schema_ddl_info(schema_name name)
 *		RETURNS TABLE (kind text, ord int, name text)
 *		What else a capture of the schema found: the relations whose rows are
 *		data, in load order ('table', regclass text), the extensions the
 *		scripts need ('extension') and the objects that cannot be captured
 *		('uncaptured').  Superuser or owner of the schema.
 */
PG_FUNCTION_INFO_V1(bac_schema_ddl_info);
Datum
bac_schema_ddl_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BacSchemaDDL *ddl;
	ListCell   *lc;
	int			ord;
	char	   *nspname;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema_name must not be null"),
				 errdetail("The schema to inspect was not given."),
				 errhint("Pass the name of an existing schema.")));

	ddl = SchemaDdlCapture(PG_GETARG_NAME(0));
	nspname = NameStr(*PG_GETARG_NAME(0));
	InitMaterializedSRF(fcinfo, 0);

	ord = 0;
	foreach(lc, ddl->tables)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum("table");
		values[1] = Int32GetDatum(++ord);
		values[2] = CStringGetTextDatum(quote_qualified_identifier(nspname,
																   get_rel_name(lfirst_oid(lc))));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	ord = 0;
	foreach(lc, ddl->extensions)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum("extension");
		values[1] = Int32GetDatum(++ord);
		values[2] = CStringGetTextDatum((char *) lfirst(lc));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	ord = 0;
	foreach(lc, ddl->uncaptured)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum("uncaptured");
		values[1] = Int32GetDatum(++ord);
		values[2] = CStringGetTextDatum((char *) lfirst(lc));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
