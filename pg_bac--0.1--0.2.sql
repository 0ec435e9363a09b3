/* pg_bac--0.1--0.2.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION pg_bac UPDATE TO '0.2'" to load this file. \quit

-- Every object is schema-qualified, as in pg_bac--0.1.sql.  Each feature
-- of 0.2 adds its objects in a section of its own below.

------------------------------------------------------------------------
-- schedules: snapshots taken by pg_cron, pruned per schedule
------------------------------------------------------------------------

-- One row per schedule.  The pg_cron job named 'bac:' || name runs
-- bac.run_schedule(name); the snapshots it takes are labelled
-- 'schedule:' || name, which is how the schedule's retention finds them.
-- Written only by bac.schedule() and bac.unschedule().
CREATE TABLE bac.cron_schedule (
	name			pg_catalog.text PRIMARY KEY,
	cron_expression	pg_catalog.text NOT NULL,
	services		pg_catalog.name[],
	keep_last		pg_catalog.int4,
	older_than		pg_catalog.interval,
	workers			pg_catalog.int4,
	compression		pg_catalog.text,
	jobid			pg_catalog.int8 NOT NULL,
	scheduled_by	pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	scheduled_at	pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK (name OPERATOR(pg_catalog.~) '^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$'),
	CHECK (keep_last OPERATOR(pg_catalog.>=) 0)
);
COMMENT ON TABLE bac.cron_schedule IS 'pg_bac schedules: the pg_cron job and the retention of each';
SELECT pg_catalog.pg_extension_config_dump('bac.cron_schedule', '');

-- bac.cron_check(): error unless pg_cron is installed in this database
CREATE FUNCTION bac.cron_check()
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cron_db pg_catalog.text := pg_catalog.current_setting('cron.database_name', true);
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		RAISE EXCEPTION USING
			ERRCODE = 'feature_not_supported',
			MESSAGE = pg_catalog.format('pg_cron is not installed in database "%s"',
										pg_catalog.current_database()),
			DETAIL = CASE WHEN cron_db IS NULL
				THEN 'pg_cron is not loaded: shared_preload_libraries does not name it.'
				ELSE pg_catalog.format('pg_cron runs its jobs from database "%s" (cron.database_name); pg_bac schedules need pg_cron in the database of the services.', cron_db) END,
			HINT = pg_catalog.format('Install postgresql-15-cron, set shared_preload_libraries = ''pg_cron,pg_bac'' and cron.database_name = ''%s'' in postgresql.conf, restart, then CREATE EXTENSION pg_cron in this database.',
									 pg_catalog.current_database());
	END IF;
END
$$;
COMMENT ON FUNCTION bac.cron_check()
IS 'raise an error with a hint unless pg_cron is installed in this database';

CREATE FUNCTION bac.schedule(name pg_catalog.text,
                             cron_expression pg_catalog.text,
                             services pg_catalog.name[] DEFAULT NULL,
                             keep_last pg_catalog.int4 DEFAULT NULL,
                             older_than pg_catalog.interval DEFAULT NULL,
                             workers pg_catalog.int4 DEFAULT NULL,
                             compression pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	job pg_catalog.int8;
	unknown pg_catalog.text;
BEGIN
	IF NOT pg_catalog.has_table_privilege('bac.cron_schedule', 'INSERT') THEN
		RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
			MESSAGE = 'permission denied to manage schedules',
			DETAIL = 'Schedules are kept in table bac.cron_schedule, which only superusers (or roles granted INSERT and UPDATE on it) change.',
			HINT = 'Ask a superuser to schedule the snapshots.';
	END IF;
	PERFORM bac.cron_check();
	IF name IS NULL OR name !~ '^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$' THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = pg_catalog.format('invalid schedule name %s', coalesce(pg_catalog.quote_literal(name), 'NULL')),
			DETAIL = 'A schedule name has 1 to 63 letters, digits, "_" or "-", and does not start with "-".',
			HINT = 'For example: bac.schedule(''nightly'', ''0 3 * * *'').';
	END IF;
	IF cron_expression IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'cron_expression must not be null',
			HINT = 'Use pg_cron''s syntax: minute hour day-of-month month day-of-week, for example ''0 3 * * *''.';
	END IF;
	IF keep_last < 0 THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = 'keep_last must not be negative',
			DETAIL = 'keep_last is how many of the schedule''s newest snapshots to keep.',
			HINT = 'Use 0 or a positive number, or NULL to keep by age only.';
	END IF;
	IF older_than < '0'::pg_catalog.interval THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = 'older_than must not be negative',
			HINT = 'For example: older_than => ''7 days''.';
	END IF;
	IF workers NOT BETWEEN 1 AND 64 THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = 'workers must be between 1 and 64',
			HINT = 'workers is passed on to bac.snapshot().';
	END IF;
	IF compression NOT IN ('none', 'zstd', 'lz4') THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = pg_catalog.format('unknown compression "%s"', compression),
			HINT = 'Use none, zstd or lz4.';
	END IF;
	IF pg_catalog.cardinality(services) = 0 THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = 'services must not be empty',
			HINT = 'Name the services, or pass NULL for every registered service.';
	END IF;
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(u.s), ', ') INTO unknown
	  FROM pg_catalog.unnest(services) AS u(s)
	 WHERE u.s IS NULL OR NOT EXISTS (SELECT FROM bac.service r WHERE r.service = u.s);
	IF unknown IS NOT NULL OR pg_catalog.array_position(services, NULL) IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = pg_catalog.format('services not registered: %s', coalesce(unknown, 'NULL')),
			HINT = 'See bac.services for the registered services.';
	END IF;

	job := cron.schedule('bac:' || name, cron_expression,
						 pg_catalog.format('SELECT bac.run_schedule(%L)', name));
	INSERT INTO bac.cron_schedule AS c (name, cron_expression, services, keep_last,
										older_than, workers, compression, jobid)
	VALUES (name, cron_expression, services, keep_last, older_than, workers,
			compression, job)
	ON CONFLICT ON CONSTRAINT cron_schedule_pkey DO UPDATE
		SET cron_expression = excluded.cron_expression, services = excluded.services,
			keep_last = excluded.keep_last, older_than = excluded.older_than,
			workers = excluded.workers, compression = excluded.compression,
			jobid = excluded.jobid, scheduled_by = excluded.scheduled_by,
			scheduled_at = excluded.scheduled_at;
	RETURN job;
END
$$;
COMMENT ON FUNCTION bac.schedule(pg_catalog.text, pg_catalog.text, pg_catalog.name[], pg_catalog.int4, pg_catalog.interval, pg_catalog.int4, pg_catalog.text)
IS 'take snapshots of the services through pg_cron at cron_expression and prune them after each run to keep_last and/or older_than; returns the pg_cron job id';

CREATE FUNCTION bac.unschedule(name pg_catalog.text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	job pg_catalog.int8;
BEGIN
	DELETE FROM bac.cron_schedule c WHERE c.name = unschedule.name RETURNING c.jobid INTO job;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = pg_catalog.format('schedule "%s" does not exist', name),
			HINT = 'See bac.schedules.';
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		IF EXISTS (SELECT FROM cron.job j WHERE j.jobid = job) THEN
			PERFORM cron.unschedule(job);
		END IF;
	END IF;
END
$$;
COMMENT ON FUNCTION bac.unschedule(pg_catalog.text)
IS 'remove a schedule and its pg_cron job; the snapshots it took are kept';

CREATE FUNCTION bac.prune_schedule(name pg_catalog.text)
RETURNS pg_catalog.int4
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bac.cron_schedule;
	cand record;
	svc pg_catalog.name;
	sid pg_catalog.text;
	keep pg_catalog.text[] := '{}';
	good pg_catalog.text[] := '{}';
	bad pg_catalog.text[] := '{}';
	dropped pg_catalog.int4 := 0;
BEGIN
	SELECT * INTO s FROM bac.cron_schedule c WHERE c.name = prune_schedule.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = pg_catalog.format('schedule "%s" does not exist', name),
			HINT = 'See bac.schedules.';
	END IF;
	IF s.keep_last IS NULL AND s.older_than IS NULL THEN
		RETURN 0;				-- no retention: keep everything
	END IF;

	CREATE TEMP TABLE IF NOT EXISTS bac_prune_snapshots (
		snapshot_id pg_catalog.text, consistent_at pg_catalog.timestamptz,
		services pg_catalog.name[], label pg_catalog.text) ON COMMIT DROP;
	TRUNCATE bac_prune_snapshots;
	INSERT INTO bac_prune_snapshots
	SELECT x.snapshot_id, x.consistent_at, x.services, x.label FROM bac.snapshots() x;

	-- protected: for each service of a candidate, its newest snapshot
	-- and its newest snapshot that verifies (the same one, normally)
	FOR cand IN
		SELECT y.snapshot_id, y.services FROM (
			SELECT p.snapshot_id, p.services, p.consistent_at,
				   pg_catalog.row_number() OVER (ORDER BY p.consistent_at DESC, p.snapshot_id DESC) AS rank
			  FROM bac_prune_snapshots p WHERE p.label = 'schedule:' || s.name) y
		 WHERE (s.keep_last IS NULL OR y.rank > s.keep_last)
		   AND (s.older_than IS NULL OR y.consistent_at < pg_catalog.now() - s.older_than)
		 ORDER BY y.consistent_at, y.snapshot_id
	LOOP
		FOREACH svc IN ARRAY cand.services LOOP
			FOR sid IN
				SELECT p.snapshot_id FROM bac_prune_snapshots p
				 WHERE svc = ANY (p.services)
				 ORDER BY p.consistent_at DESC, p.snapshot_id DESC
			LOOP
				keep := keep || sid;
				IF sid = ANY (good) THEN
					EXIT;
				ELSIF NOT sid = ANY (bad) THEN
					IF NOT EXISTS (SELECT FROM bac.verify_snapshot(sid) v WHERE NOT v.ok) THEN
						good := good || sid;
						EXIT;
					END IF;
					bad := bad || sid;
				END IF;
			END LOOP;
		END LOOP;
		IF NOT cand.snapshot_id = ANY (keep) THEN
			PERFORM bac.drop_snapshot(cand.snapshot_id);
			dropped := dropped + 1;
		END IF;
	END LOOP;
	RETURN dropped;
END
$$;
COMMENT ON FUNCTION bac.prune_schedule(pg_catalog.text)
IS 'drop the schedule''s snapshots beyond its keep_last and older than its older_than, never the newest (nor the newest valid) snapshot of a service';

CREATE FUNCTION bac.run_schedule(name pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bac.cron_schedule;
	r record;
	dropped pg_catalog.int4;
BEGIN
	SELECT * INTO s FROM bac.cron_schedule c WHERE c.name = run_schedule.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = pg_catalog.format('schedule "%s" does not exist', name),
			HINT = 'See bac.schedules; bac.unschedule() removes a schedule with its pg_cron job.';
	END IF;
	SELECT * INTO r FROM bac.snapshot(services => s.services, label => 'schedule:' || s.name,
									  workers => s.workers, compression => s.compression);
	dropped := bac.prune_schedule(s.name);
	RETURN pg_catalog.format('snapshot %s of %s: %s tables, %s rows, %s bytes; %s pruned',
							 r.snapshot_id, r.services, r.tables, r.rows, r.bytes, dropped);
END
$$;
COMMENT ON FUNCTION bac.run_schedule(pg_catalog.text)
IS 'what a schedule''s pg_cron job runs: take the snapshot, then prune by the schedule''s retention';

-- bac.schedule_job(jobid): the pg_cron job's state and its latest run, no
-- row when pg_cron is not installed here or the job is gone
CREATE FUNCTION bac.schedule_job(jobid pg_catalog.int8)
RETURNS TABLE (active pg_catalog.bool, last_start pg_catalog.timestamptz,
			   last_status pg_catalog.text, last_message pg_catalog.text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE
		'SELECT j.active, d.start_time, d.status, d.return_message
		   FROM cron.job j
		   LEFT JOIN LATERAL (SELECT r.start_time, r.status, r.return_message
								FROM cron.job_run_details r
							   WHERE r.jobid OPERATOR(pg_catalog.=) j.jobid
							   ORDER BY r.runid DESC LIMIT 1) d ON true
		  WHERE j.jobid OPERATOR(pg_catalog.=) $1'
	USING jobid;
END
$$;
COMMENT ON FUNCTION bac.schedule_job(pg_catalog.int8)
IS 'the state of a schedule''s pg_cron job and its latest run';

CREATE VIEW bac.schedules AS
SELECT c.name, c.cron_expression, c.services, c.keep_last, c.older_than,
	   c.workers, c.compression, c.jobid, j.active, j.last_start, j.last_status,
	   j.last_message, n.snapshots, n.newest, c.scheduled_by, c.scheduled_at
  FROM bac.cron_schedule c
  LEFT JOIN LATERAL bac.schedule_job(c.jobid) j ON true
  LEFT JOIN LATERAL (SELECT pg_catalog.count(*) AS snapshots,
							pg_catalog.max(x.consistent_at) AS newest
					   FROM bac.snapshots() x
					  WHERE x.label OPERATOR(pg_catalog.=) ('schedule:' OPERATOR(pg_catalog.||) c.name)) n ON true;
COMMENT ON VIEW bac.schedules IS 'pg_bac schedules with their retention, pg_cron job, latest run and snapshots';

REVOKE ALL ON TABLE bac.cron_schedule FROM PUBLIC;
REVOKE ALL ON bac.schedules FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.cron_check() FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.schedule(pg_catalog.text, pg_catalog.text, pg_catalog.name[], pg_catalog.int4, pg_catalog.interval, pg_catalog.int4, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.unschedule(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.prune_schedule(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.run_schedule(pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION bac.schedule_job(pg_catalog.int8) FROM PUBLIC;

------------------------------------------------------------------------
-- export: pg_dump's -s, -a, -O, -x
------------------------------------------------------------------------

DROP FUNCTION bac.export(pg_catalog.text, pg_catalog.name, pg_catalog.name);
CREATE FUNCTION bac.export(snapshot_id pg_catalog.text,
                           service pg_catalog.name,
                           as_schema pg_catalog.name DEFAULT NULL,
                           schema_only pg_catalog.bool DEFAULT false,
                           data_only pg_catalog.bool DEFAULT false,
                           no_owner pg_catalog.bool DEFAULT false,
                           no_privileges pg_catalog.bool DEFAULT false)
RETURNS SETOF pg_catalog.text
AS 'MODULE_PATHNAME', 'bac_export'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION bac.export(pg_catalog.text, pg_catalog.name, pg_catalog.name, pg_catalog.bool, pg_catalog.bool, pg_catalog.bool, pg_catalog.bool)
IS 'one service of a snapshot as a plain SQL script that psql loads into an empty database; schema_only, data_only, no_owner, no_privileges mean pg_dump''s -s, -a, -O, -x';
REVOKE ALL ON FUNCTION bac.export(pg_catalog.text, pg_catalog.name, pg_catalog.name, pg_catalog.bool, pg_catalog.bool, pg_catalog.bool, pg_catalog.bool) FROM PUBLIC;

------------------------------------------------------------------------
-- progress: running operations, from shared memory
------------------------------------------------------------------------

CREATE FUNCTION bac.progress_rows()
RETURNS TABLE (pid pg_catalog.int4, database pg_catalog.text, operation pg_catalog.text,
               snapshot_id pg_catalog.text, services pg_catalog.text, phase pg_catalog.text,
               tables_done pg_catalog.int4, tables_total pg_catalog.int4,
               bytes_done pg_catalog.int8, bytes_total pg_catalog.int8,
               current_table pg_catalog.text, started_at pg_catalog.timestamptz,
               updated_at pg_catalog.timestamptz)
AS 'MODULE_PATHNAME', 'bac_progress_rows'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION bac.progress_rows()
IS 'the running pg_bac operations, from shared memory (needs pg_bac in shared_preload_libraries)';

CREATE VIEW bac.progress AS SELECT * FROM bac.progress_rows();
COMMENT ON VIEW bac.progress IS 'one row per running pg_bac operation (snapshot, restore, export, verify) with its phase and counters';

REVOKE ALL ON FUNCTION bac.progress_rows() FROM PUBLIC;
REVOKE ALL ON bac.progress FROM PUBLIC;

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
                               OUT gap pg_catalog.text,
                               OUT segments pg_catalog.int4,
                               OUT oldest_lsn pg_catalog.pg_lsn)
RETURNS record
AS 'MODULE_PATHNAME', 'bac_pitr_state'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.pitr_state()
IS 'the state of this database''s change archive (superuser); see view bac.pitr_status';

-- one row: the slot, how far the archive reaches, the window a restore to
-- an instant can use, a gap if the slot lost WAL, and the segments left
-- (where the oldest starts) after pruning
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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

-- retention: change segments go with the snapshots that needed them
CREATE FUNCTION bac.pitr_prune(OUT removed pg_catalog.int4,
                               OUT kept pg_catalog.int4,
                               OUT oldest_lsn pg_catalog.pg_lsn,
                               OUT reason pg_catalog.text)
RETURNS record
AS 'MODULE_PATHNAME', 'bac_pitr_prune'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.pitr_prune()
IS 'remove the closed change segments no kept base snapshot needs; how many went, how many are left, where the archive starts, why nothing more went (superuser)';
REVOKE ALL ON FUNCTION bac.pitr_prune() FROM PUBLIC;

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
