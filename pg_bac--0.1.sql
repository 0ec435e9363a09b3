/* pg_bac--0.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_bac" to load this file. \quit

-- Every object is schema-qualified; the extension lives in schema bac,
-- which CREATE EXTENSION creates from pg_bac.control.

CREATE FUNCTION bac.version()
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'bac_version'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION bac.version() IS 'version of the loaded pg_bac library';

------------------------------------------------------------------------
-- registry: services and groups
------------------------------------------------------------------------



------------------------------------------------------------------------
-- links: declared and discovered references between services
------------------------------------------------------------------------



------------------------------------------------------------------------
-- ddl: schema definition capture
------------------------------------------------------------------------

CREATE FUNCTION bac.schema_ddl(schema_name pg_catalog.name,
                               section pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'bac_schema_ddl'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.schema_ddl(pg_catalog.name, pg_catalog.text) IS
'relocatable SQL definition of a schema: section pre-data, post-data, or NULL for both';

CREATE FUNCTION bac.schema_ddl_info(schema_name pg_catalog.name,
                                    OUT kind pg_catalog.text,
                                    OUT ord pg_catalog.int4,
                                    OUT name pg_catalog.text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bac_schema_ddl_info'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 20;
COMMENT ON FUNCTION bac.schema_ddl_info(pg_catalog.name) IS
'what a DDL capture of a schema found besides the scripts: data tables in load order, extensions needed, objects not captured';



------------------------------------------------------------------------
-- snapshot and archive
------------------------------------------------------------------------



------------------------------------------------------------------------
-- restore
------------------------------------------------------------------------



------------------------------------------------------------------------
-- export
------------------------------------------------------------------------



------------------------------------------------------------------------
-- privileges: nothing of pg_bac is PUBLIC
------------------------------------------------------------------------

REVOKE ALL ON SCHEMA bac FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA bac FROM PUBLIC;
