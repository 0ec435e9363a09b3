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
