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

CREATE FUNCTION bac.restore(snapshot_id pg_catalog.text,
                            service pg_catalog.name,
                            into_schema pg_catalog.name DEFAULT NULL,
                            keep_previous pg_catalog.bool DEFAULT true,
                            dry_run pg_catalog.bool DEFAULT false,
                            on_broken_links pg_catalog.text DEFAULT 'warn',
                            missing_roles pg_catalog.text DEFAULT 'error')
RETURNS TABLE (link pg_catalog.name, direction pg_catalog.text,
               broken pg_catalog.int8, orphaned pg_catalog.int8,
               detail pg_catalog.text)
AS 'MODULE_PATHNAME', 'bac_restore'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.restore(pg_catalog.text, pg_catalog.name, pg_catalog.name,
                                pg_catalog.bool, pg_catalog.bool, pg_catalog.text,
                                pg_catalog.text)
IS 'restore one service of a snapshot in place or into another schema, in the current transaction, and report broken links and discarded rows';

CREATE FUNCTION bac.restore_group(snapshot_id pg_catalog.text,
                                  services pg_catalog.name[] DEFAULT NULL,
                                  keep_previous pg_catalog.bool DEFAULT true,
                                  dry_run pg_catalog.bool DEFAULT false,
                                  on_broken_links pg_catalog.text DEFAULT 'warn',
                                  missing_roles pg_catalog.text DEFAULT 'error')
RETURNS TABLE (link pg_catalog.name, direction pg_catalog.text,
               broken pg_catalog.int8, orphaned pg_catalog.int8,
               detail pg_catalog.text)
AS 'MODULE_PATHNAME', 'bac_restore_group'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.restore_group(pg_catalog.text, pg_catalog.name[],
                                      pg_catalog.bool, pg_catalog.bool,
                                      pg_catalog.text, pg_catalog.text)
IS 'restore several services of a snapshot (default: all of it) in place to the same instant, in the current transaction, and report broken links and discarded rows';



------------------------------------------------------------------------
-- export
------------------------------------------------------------------------



------------------------------------------------------------------------
-- privileges: nothing of pg_bac is PUBLIC
------------------------------------------------------------------------

REVOKE ALL ON SCHEMA bac FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA bac FROM PUBLIC;
