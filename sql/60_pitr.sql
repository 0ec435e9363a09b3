--
-- 60_pitr: the SQL surface of point-in-time restore on a server without
-- wal_level = logical (the regression server): clear errors, privileges,
-- bad arguments, and the status of a database without a change archive.
-- The archive itself is tested by TAP (test/t/070_pitr_replay.pl,
-- 071_pitr_pgbench.pl), which needs a preloaded library and logical WAL.
--
SET client_min_messages = warning;
CREATE ROLE regress_pitr_user;
RESET client_min_messages;

-- wal_level is below logical here
SHOW wal_level;
SELECT * FROM bac.enable_pitr();
SELECT bac.pitr_pump();

-- not enabled: nothing to disable, the status says so
SELECT bac.disable_pitr();
SELECT slot_name ~ '^pg_bac_[0-9]+$' AS slot_named, enabled, slot_lost,
       archived_lsn, window_open, gap, segments, oldest_lsn
  FROM bac.pitr_status;

-- retention: without a change archive there is nothing to prune
SELECT * FROM bac.pitr_prune();

-- replay: bad arguments
SELECT * FROM bac.pitr_replay(NULL, 'svc', target_lsn => '0/0');
SELECT * FROM bac.pitr_replay('20260101T000000.000000Z', NULL, target_lsn => '0/0');
SELECT * FROM bac.pitr_replay('20260101T000000.000000Z', 'svc');
SELECT * FROM bac.pitr_replay('no such id', 'svc', target_lsn => '0/0');

-- privileges: nothing of this is PUBLIC, and superuser only even if granted
SET ROLE regress_pitr_user;
SELECT * FROM bac.pitr_status;
SELECT bac.pitr_pump();
RESET ROLE;
GRANT USAGE ON SCHEMA bac TO regress_pitr_user;
GRANT EXECUTE ON FUNCTION bac.pitr_pump(), bac.enable_pitr(), bac.pitr_transactions(),
  bac.pitr_prune() TO regress_pitr_user;
SET ROLE regress_pitr_user;
SELECT bac.pitr_pump();
SELECT * FROM bac.enable_pitr();
SELECT * FROM bac.pitr_transactions();
SELECT * FROM bac.pitr_prune();
RESET ROLE;
REVOKE ALL ON SCHEMA bac FROM regress_pitr_user;
REVOKE ALL ON FUNCTION bac.pitr_pump(), bac.enable_pitr(), bac.pitr_transactions(),
  bac.pitr_prune() FROM regress_pitr_user;
DROP ROLE regress_pitr_user;

-- register_service names tables that cannot be replayed only where PITR
-- is enabled (test/t/073_pitr_retention.pl): not here
CREATE SCHEMA pitr_nokey;
CREATE TABLE pitr_nokey.t (x int);
SELECT bac.register_service('pitr_nokey');
SELECT bac.unregister_service('pitr_nokey');
DROP SCHEMA pitr_nokey CASCADE;

-- the DDL barrier trigger does nothing below wal_level = logical
CREATE SCHEMA pitr_svc;
SELECT bac.register_service('pitr_svc');
CREATE TABLE pitr_svc.t (id int PRIMARY KEY);
ALTER TABLE pitr_svc.t ADD COLUMN v text;
DROP TABLE pitr_svc.t;
SELECT bac.unregister_service('pitr_svc');
DROP SCHEMA pitr_svc;
