-- 30_snapshot: bac.snapshot() and the archive catalogue, bad input included
-- (runs in the regression cluster; the archive is pg_bac under its data
-- directory).  Every snapshot made here is dropped at the end.

CREATE SCHEMA snap_a;
CREATE SCHEMA snap_b;
CREATE TABLE snap_a.orders (id int PRIMARY KEY, note text, amount numeric,
  at timestamptz, doubled int GENERATED ALWAYS AS (id * 2) STORED);
INSERT INTO snap_a.orders (id, note, amount, at)
  SELECT i, CASE WHEN i % 10 = 0 THEN NULL ELSE E'tab\there\nline ' || i END,
         i / 3.0, '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 hour'
  FROM generate_series(1, 500) i;
CREATE TABLE snap_b.shipments (id int PRIMARY KEY, order_id int, addr text);
INSERT INTO snap_b.shipments SELECT i, i, 'street ' || i FROM generate_series(1, 300) i;
CREATE TABLE snap_b.empty (x int);
SELECT bac.register_service('snap_a'), bac.register_service('snap_b');

SELECT bac.add_link('regress_ship_order', 'snap_b.shipments', ARRAY['order_id'],
                    'snap_a.orders', ARRAY['id']);

-- one snapshot of both services
SELECT label, services, tables, rows, bytes > 0 AS has_bytes,
       duration >= interval '0' AS has_duration,
       snapshot_id ~ '^\d{8}T\d{6}\.\d{6}Z$' AS id_shape
  FROM bac.snapshot(ARRAY['snap_a', 'snap_b'], label => 'regress one');
SELECT snapshot_id AS one FROM bac.snapshots() WHERE label = 'regress one' \gset

-- the catalogue reads it back from the manifest
SELECT label, services, tables, rows, compression, workers, format,
       consistent_at <= now() AS past, txid_snapshot ~ '^\d+:\d+:' AS txid,
       wal_lsn > '0/0' AS lsn, in_recovery
  FROM bac.snapshots() WHERE snapshot_id = :'one';

-- the manifest is JSON; it records the links touching the services
SELECT l->>'link' AS link, l->>'from_table' AS from_table, l->>'to_table' AS to_table
  FROM jsonb_array_elements((pg_read_file('pg_bac/' || :'one' || '/manifest.json')::jsonb)->'links') l;

-- every file is listed and checks out
SELECT file, ok FROM bac.verify_snapshot(:'one') ORDER BY file;

-- the data files are COPY text of the rows, generated columns left out
SELECT f #>> '{}' AS shipments_file FROM jsonb_path_query(
  pg_read_file('pg_bac/' || :'one' || '/manifest.json')::jsonb,
  '$.services[*].tables[*] ? (@.table == "shipments").files[0]') f \gset
SELECT :'shipments_file' AS shipments_file;
SELECT pg_read_file('pg_bac/' || :'one' || '/' || :'shipments_file', 0, 30);
SELECT (pg_stat_file('pg_bac/' || :'one' || '/snap_a/data/001.copy')).size > 0 AS orders_file;

-- whatever the caller's isolation level, and the services in the order given
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM snap_a.orders;
INSERT INTO snap_a.orders (id) VALUES (1000);
SELECT services, rows FROM bac.snapshot(ARRAY['snap_b', 'snap_a', 'snap_b'], label => 'regress rr');
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT services, rows FROM bac.snapshot(ARRAY['snap_a'], label => 'regress ser');
COMMIT;

-- compression and workers (notices are in no fixed order with workers)
SET client_min_messages = warning;
SELECT label, rows FROM bac.snapshot(label => 'regress zstd', workers => 2, compression => 'zstd');
SELECT label, rows FROM bac.snapshot(label => 'regress lz4', workers => 3, compression => 'lz4');
RESET client_min_messages;
SELECT label, compression, workers, rows, tables FROM bac.snapshots()
  WHERE label LIKE 'regress%' ORDER BY snapshot_id;
SELECT s.label, bool_and(v.ok) AS all_ok, count(*) AS files
  FROM bac.snapshots() s, bac.verify_snapshot(s.snapshot_id) v
  WHERE s.label LIKE 'regress%' GROUP BY s.snapshot_id, s.label ORDER BY s.snapshot_id;

-- bad input: clear errors, nothing left behind
SELECT * FROM bac.snapshot(ARRAY['no_such_service']);
SELECT * FROM bac.snapshot(ARRAY[]::name[]);
SELECT * FROM bac.snapshot(ARRAY['snap_a', NULL]);
SELECT * FROM bac.snapshot(label => '../escape');
SELECT * FROM bac.snapshot(label => 'a/b');
SELECT * FROM bac.snapshot(label => E'line\nbreak');
SELECT * FROM bac.snapshot(label => 'dots..dots');
SELECT * FROM bac.snapshot(workers => 0);
SELECT * FROM bac.snapshot(workers => -3);
SELECT * FROM bac.snapshot(workers => 100000);
SELECT * FROM bac.snapshot(compression => 'gzip');
SELECT * FROM bac.verify_snapshot('nope');
SELECT * FROM bac.verify_snapshot('../../../etc/passwd');
SELECT * FROM bac.verify_snapshot('20990101T000000.000000Z');
SELECT * FROM bac.verify_snapshot(NULL);
SELECT bac.drop_snapshot('20990101T000000.000000Z/..');
SELECT bac.drop_snapshot('20990101T000000.000000Z');
SELECT bac.drop_snapshot(NULL);
SELECT bac.prune_snapshots();
SELECT bac.prune_snapshots(keep_last => -1);
-- a service whose schema is gone
SELECT bac.register_service('ghost', 'snap_ghost');
DROP SCHEMA snap_ghost;
SELECT * FROM bac.snapshot(ARRAY['ghost']);
SELECT bac.unregister_service('ghost');
SELECT count(*) AS leftovers FROM pg_ls_dir('pg_bac') d WHERE d LIKE '.tmp-%';
SELECT count(*) AS snapshots FROM bac.snapshots() WHERE label LIKE 'regress%';

-- privileges: nothing is PUBLIC; a schema owner granted EXECUTE acts on its own schema only
CREATE ROLE snap_team;
SET ROLE snap_team;
SELECT * FROM bac.snapshot(ARRAY['snap_a']);
RESET ROLE;
GRANT USAGE ON SCHEMA bac TO snap_team;
GRANT EXECUTE ON FUNCTION bac.snapshot(name[], text, int, text), bac.snapshots(),
  bac.verify_snapshot(text), bac.drop_snapshot(text) TO snap_team;
ALTER SCHEMA snap_a OWNER TO snap_team;
SET ROLE snap_team;
SELECT * FROM bac.snapshot(ARRAY['snap_b']);
SELECT * FROM bac.snapshot(ARRAY['snap_a']);
RESET ROLE;
ALTER TABLE snap_a.orders OWNER TO snap_team;
SET ROLE snap_team;
SELECT services, rows FROM bac.snapshot(ARRAY['snap_a'], label => 'regress team');
-- the team sees only the snapshots of its own schema
SELECT label, services FROM bac.snapshots() ORDER BY snapshot_id;
\set VERBOSITY sqlstate
SELECT bac.drop_snapshot(:'one');
\set VERBOSITY default
RESET ROLE;

-- prune: keep the newest two of ours, then drop the rest
SELECT bac.prune_snapshots(keep_last => 2, older_than => interval '1 day');
SELECT bac.prune_snapshots(keep_last => 2);
SELECT label FROM bac.snapshots() ORDER BY snapshot_id;
SELECT bac.drop_snapshot(snapshot_id) FROM bac.snapshots();
SELECT count(*) AS remaining FROM bac.snapshots();
SELECT count(*) AS entries FROM pg_ls_dir('pg_bac') d;

-- clean up
SELECT bac.drop_link('regress_ship_order');
SELECT bac.unregister_service('snap_a'), bac.unregister_service('snap_b');
DROP SCHEMA snap_a CASCADE;
DROP SCHEMA snap_b CASCADE;
REVOKE ALL ON SCHEMA bac FROM snap_team;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA bac FROM snap_team;
DROP ROLE snap_team;
