/* pg_bac--0.1--0.2.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION pg_bac UPDATE TO '0.2'" to load this file. \quit

-- Every object is schema-qualified, as in pg_bac--0.1.sql.  Each feature
-- of 0.2 adds its objects in a section of its own below.

------------------------------------------------------------------------
-- point-in-time restore: the change archive and replay (issue 12)
------------------------------------------------------------------------

-- pg_bac's output plugin reads the registry under the decoding snapshot
-- (which schemas to archive, as of each transaction): that needs a user
-- catalog table.
ALTER TABLE bac.service SET (user_catalog_table = true);

CREATE FUNCTION bac.enable_pitr(OUT slot_name pg_catalog.name,
                                OUT start_lsn pg_catalog.pg_lsn,
                                OUT consistent_xid pg_catalog.xid8)
RETURNS record
AS 'MODULE_PATHNAME', 'bac_enable_pitr'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.enable_pitr()
IS 'create this database''s logical slot and start archiving the registered services'' changes (superuser; wal_level = logical)';

CREATE FUNCTION bac.disable_pitr()
RETURNS pg_catalog.pg_lsn
AS 'MODULE_PATHNAME', 'bac_disable_pitr'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.disable_pitr()
IS 'archive what is left, end the window and drop the slot; returns where the window ends (superuser)';

CREATE FUNCTION bac.pitr_pump()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'bac_pitr_pump'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.pitr_pump()
IS 'drain this database''s slot into the change archive now; returns the number of transactions archived (superuser)';

CREATE FUNCTION bac.pitr_state(OUT slot_name pg_catalog.name,
                               OUT enabled pg_catalog.bool,
                               OUT slot_lost pg_catalog.bool,
                               OUT archived_lsn pg_catalog.pg_lsn,
                               OUT archived_at pg_catalog.timestamptz,
                               OUT last_commit_lsn pg_catalog.pg_lsn,
                               OUT lag_bytes pg_catalog.numeric,
                               OUT window_start_lsn pg_catalog.pg_lsn,
                               OUT window_start_at pg_catalog.timestamptz,
                               OUT window_consistent_xid pg_catalog.xid8,
                               OUT window_open pg_catalog.bool,
                               OUT gap pg_catalog.text)
RETURNS record
AS 'MODULE_PATHNAME', 'bac_pitr_state'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.pitr_state()
IS 'the state of this database''s change archive (superuser); see view bac.pitr_status';

-- one row: the slot, how far the archive reaches, the window a restore to
-- an instant can use, and a gap if the slot lost WAL
CREATE VIEW bac.pitr_status AS
	SELECT * FROM bac.pitr_state();
REVOKE ALL ON bac.pitr_status FROM PUBLIC;

CREATE FUNCTION bac.pitr_replay(snapshot_id pg_catalog.text,
                                service pg_catalog.name,
                                into_schema pg_catalog.name DEFAULT NULL,
                                target_lsn pg_catalog.pg_lsn DEFAULT NULL,
                                target_time pg_catalog.timestamptz DEFAULT NULL,
                                target_snapshot pg_catalog.text DEFAULT NULL,
                                OUT transactions pg_catalog.int8,
                                OUT changes pg_catalog.int8,
                                OUT last_commit_lsn pg_catalog.pg_lsn,
                                OUT last_commit_at pg_catalog.timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'bac_pitr_replay'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.pitr_replay(pg_catalog.text, pg_catalog.name, pg_catalog.name, pg_catalog.pg_lsn, pg_catalog.timestamptz, pg_catalog.text)
IS 'apply to a service restored from snapshot_id (in place or into_schema) the archived changes after the snapshot, up to a target LSN, time or snapshot (superuser)';

-- restore to an instant: the newest valid snapshot before the target, then
-- the archived changes up to it.  bac.restore gets an overload (the first
-- argument is a service, not a snapshot id; target_time or target_lsn is
-- named).  The group variant has a name of its own: an overload of
-- bac.restore_group(snapshot_id text, services name[]) would make calls
-- with two literal arguments ambiguous.
CREATE FUNCTION bac.restore(service pg_catalog.name,
                            target_time pg_catalog.timestamptz DEFAULT NULL,
                            target_lsn pg_catalog.pg_lsn DEFAULT NULL,
                            into_schema pg_catalog.name DEFAULT NULL,
                            keep_previous pg_catalog.bool DEFAULT true,
                            dry_run pg_catalog.bool DEFAULT false,
                            on_broken_links pg_catalog.text DEFAULT 'warn',
                            missing_roles pg_catalog.text DEFAULT 'error')
RETURNS TABLE (link pg_catalog.name, direction pg_catalog.text,
               broken pg_catalog.int8, orphaned pg_catalog.int8,
               detail pg_catalog.text)
AS 'MODULE_PATHNAME', 'bac_restore_at'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.restore(pg_catalog.name, pg_catalog.timestamptz, pg_catalog.pg_lsn, pg_catalog.name, pg_catalog.bool, pg_catalog.bool, pg_catalog.text, pg_catalog.text)
IS 'restore a service as it was at target_time or target_lsn: the newest valid snapshot before it plus the archived changes (superuser)';

CREATE FUNCTION bac.restore_group_at(services pg_catalog.name[],
                                  target_time pg_catalog.timestamptz DEFAULT NULL,
                                  target_lsn pg_catalog.pg_lsn DEFAULT NULL,
                                  keep_previous pg_catalog.bool DEFAULT true,
                                  dry_run pg_catalog.bool DEFAULT false,
                                  on_broken_links pg_catalog.text DEFAULT 'warn',
                                  missing_roles pg_catalog.text DEFAULT 'error')
RETURNS TABLE (link pg_catalog.name, direction pg_catalog.text,
               broken pg_catalog.int8, orphaned pg_catalog.int8,
               detail pg_catalog.text)
AS 'MODULE_PATHNAME', 'bac_restore_group_at'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.restore_group_at(pg_catalog.name[], pg_catalog.timestamptz, pg_catalog.pg_lsn, pg_catalog.bool, pg_catalog.bool, pg_catalog.text, pg_catalog.text)
IS 'restore several services in place, all as they were at the same target_time or target_lsn (superuser)';
REVOKE ALL ON FUNCTION bac.restore(pg_catalog.name, pg_catalog.timestamptz, pg_catalog.pg_lsn, pg_catalog.name, pg_catalog.bool, pg_catalog.bool, pg_catalog.text, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.restore_group_at(pg_catalog.name[], pg_catalog.timestamptz, pg_catalog.pg_lsn, pg_catalog.bool, pg_catalog.bool, pg_catalog.text, pg_catalog.text) FROM PUBLIC;

-- The DDL barrier: DDL on a registered schema is written into the WAL as a
-- transactional logical message, so the change archive holds it at its
-- commit position and replay refuses to cross it.
CREATE FUNCTION bac.ddl_barrier()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
AS $fn$
DECLARE
	schemas pg_catalog.text[];
	objects pg_catalog.text[];
BEGIN
	IF pg_catalog.current_setting('wal_level') <> 'logical' THEN
		RETURN;
	END IF;
	IF TG_EVENT = 'ddl_command_end' THEN
		SELECT pg_catalog.array_agg(DISTINCT o.sch), pg_catalog.array_agg(o.obj)
		  INTO schemas, objects
		  FROM (SELECT CASE WHEN c.object_type = 'schema'
							THEN (SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_namespace n
								   WHERE n.oid = c.objid)
							ELSE c.schema_name END AS sch,
					   c.command_tag || ' ' || COALESCE(c.object_identity, '') AS obj
				  FROM pg_catalog.pg_event_trigger_ddl_commands() c) o
		 WHERE o.sch IN (SELECT s.schema_name::pg_catalog.text FROM bac.service s);
	ELSIF TG_EVENT = 'sql_drop' THEN
		SELECT pg_catalog.array_agg(DISTINCT o.sch), pg_catalog.array_agg(o.obj)
		  INTO schemas, objects
		  FROM (SELECT CASE WHEN d.object_type = 'schema' THEN d.object_name
							ELSE d.schema_name END AS sch,
					   'DROP ' || d.object_type || ' ' || d.object_identity AS obj
				  FROM pg_catalog.pg_event_trigger_dropped_objects() d) o
		 WHERE o.sch IN (SELECT s.schema_name::pg_catalog.text FROM bac.service s);
	ELSIF TG_EVENT = 'table_rewrite' THEN
		SELECT pg_catalog.array_agg(n.nspname::pg_catalog.text),
			   pg_catalog.array_agg('rewrite ' || c.oid::pg_catalog.regclass::pg_catalog.text)
		  INTO schemas, objects
		  FROM pg_catalog.pg_class c
		  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		 WHERE c.oid = pg_catalog.pg_event_trigger_table_rewrite_oid()
		   AND n.nspname IN (SELECT s.schema_name FROM bac.service s);
	END IF;
	IF schemas IS NOT NULL THEN
		PERFORM pg_catalog.pg_logical_emit_message(true, 'pg_bac.ddl',
			pg_catalog.jsonb_build_object('event', TG_EVENT, 'tag', TG_TAG,
										  'schemas', schemas,
										  'objects', objects)::pg_catalog.text);
	END IF;
END
$fn$;
COMMENT ON FUNCTION bac.ddl_barrier()
IS 'event trigger: DDL on a registered schema becomes a barrier in the change archive';

CREATE EVENT TRIGGER bac_ddl_barrier_end ON ddl_command_end
	EXECUTE FUNCTION bac.ddl_barrier();
CREATE EVENT TRIGGER bac_ddl_barrier_drop ON sql_drop
	EXECUTE FUNCTION bac.ddl_barrier();
CREATE EVENT TRIGGER bac_ddl_barrier_rewrite ON table_rewrite
	EXECUTE FUNCTION bac.ddl_barrier();

REVOKE ALL ON FUNCTION bac.enable_pitr() FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.disable_pitr() FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.pitr_pump() FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.pitr_state() FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.pitr_replay(pg_catalog.text, pg_catalog.name, pg_catalog.name, pg_catalog.pg_lsn, pg_catalog.timestamptz, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.ddl_barrier() FROM PUBLIC;

CREATE FUNCTION bac.pitr_transactions(OUT xid pg_catalog.xid8,
                                      OUT commit_lsn pg_catalog.pg_lsn,
                                      OUT commit_at pg_catalog.timestamptz,
                                      OUT changes pg_catalog.int8,
                                      OUT barriers pg_catalog.int4,
                                      OUT schemas pg_catalog.text,
                                      OUT segment pg_catalog.text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bac_pitr_transactions'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.pitr_transactions()
IS 'every transaction of this database''s change archive, in commit order (superuser)';
REVOKE ALL ON FUNCTION bac.pitr_transactions() FROM PUBLIC;

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
