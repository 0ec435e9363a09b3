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

CREATE FUNCTION bac.snapshot(services pg_catalog.name[] DEFAULT NULL,
                             label pg_catalog.text DEFAULT NULL,
                             workers pg_catalog.int4 DEFAULT NULL,
                             compression pg_catalog.text DEFAULT NULL)
RETURNS TABLE (snapshot_id pg_catalog.text, label pg_catalog.text,
               consistent_at pg_catalog.timestamptz, services pg_catalog.name[],
               tables pg_catalog.int4, rows pg_catalog.int8, bytes pg_catalog.int8,
               duration pg_catalog.interval)
AS 'MODULE_PATHNAME', 'bac_snapshot'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.snapshot(pg_catalog.name[], pg_catalog.text, pg_catalog.int4, pg_catalog.text)
IS 'write one consistent snapshot of the services (NULL = all registered) into the archive directory';

CREATE FUNCTION bac.snapshots()
RETURNS TABLE (snapshot_id pg_catalog.text, label pg_catalog.text,
               consistent_at pg_catalog.timestamptz, services pg_catalog.name[],
               tables pg_catalog.int4, rows pg_catalog.int8, bytes pg_catalog.int8,
               compression pg_catalog.text, workers pg_catalog.int4,
               duration pg_catalog.interval, txid_snapshot pg_catalog.text,
               wal_lsn pg_catalog.pg_lsn, in_recovery pg_catalog.bool,
               server_version pg_catalog.text, format pg_catalog.int4)
AS 'MODULE_PATHNAME', 'bac_snapshots'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.snapshots()
IS 'the snapshots in the archive directory, read from their manifests';

CREATE FUNCTION bac.verify_snapshot(snapshot_id pg_catalog.text)
RETURNS TABLE (file pg_catalog.text, ok pg_catalog.bool, detail pg_catalog.text)
AS 'MODULE_PATHNAME', 'bac_verify_snapshot'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.verify_snapshot(pg_catalog.text)
IS 'recompute the checksum of every file of a snapshot';

CREATE FUNCTION bac.drop_snapshot(snapshot_id pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'bac_drop_snapshot'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.drop_snapshot(pg_catalog.text)
IS 'delete a snapshot from the archive directory';

CREATE FUNCTION bac.prune_snapshots(keep_last pg_catalog.int4 DEFAULT NULL,
                                    older_than pg_catalog.interval DEFAULT NULL)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'bac_prune_snapshots'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.prune_snapshots(pg_catalog.int4, pg_catalog.interval)
IS 'delete the snapshots beyond the newest keep_last and/or older than older_than';

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
