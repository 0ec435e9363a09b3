/* pg_bac--0.1--0.2.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION pg_bac UPDATE TO '0.2'" to load this file. \quit

-- Every object is schema-qualified, as in pg_bac--0.1.sql.  Each feature
-- of 0.2 adds its objects in a section of its own below.

------------------------------------------------------------------------
-- ddl: several schemas captured in one dependency order (issue 10)
------------------------------------------------------------------------

CREATE FUNCTION bac.group_ddl(schema_names pg_catalog.name[],
                              section pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'bac_group_ddl'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.group_ddl(pg_catalog.name[], pg_catalog.text) IS
'SQL definition of several schemas in one dependency order across them, like pg_dump -n a -n b: section pre-data, post-data, or NULL for both';
REVOKE ALL ON FUNCTION bac.group_ddl(pg_catalog.name[], pg_catalog.text) FROM PUBLIC;

------------------------------------------------------------------------
-- export: several services in one script, in one order (issue 10)
------------------------------------------------------------------------

-- The lines of one plain SQL script for several services of a snapshot
-- (NULL: all of them), like pg_dump -n a -n b; "psql -XAt" prints it back.
CREATE FUNCTION bac.export_group(snapshot_id pg_catalog.text,
                                 services pg_catalog.name[] DEFAULT NULL)
RETURNS SETOF pg_catalog.text
AS 'MODULE_PATHNAME', 'bac_export_group'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION bac.export_group(pg_catalog.text, pg_catalog.name[])
IS 'several services of a snapshot (default: all of it) as one plain SQL script in one dependency order across them, like pg_dump -n a -n b, that psql loads into an empty database';
REVOKE ALL ON FUNCTION bac.export_group(pg_catalog.text, pg_catalog.name[]) FROM PUBLIC;
