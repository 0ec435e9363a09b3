-- test/pgtap/30_snapshot.sql: catalog-level facts about the snapshot functions
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION pg_bac;
SELECT plan(17);

-- the contract signatures (DESIGN.md section 3)
SELECT is(pg_catalog.pg_get_function_arguments('bac.snapshot(name[],text,int,text)'::regprocedure),
		  'services name[] DEFAULT NULL::name[], label text DEFAULT NULL::text, workers integer DEFAULT NULL::integer, compression text DEFAULT NULL::text',
		  'snapshot arguments and defaults');
SELECT is(pg_catalog.pg_get_function_result('bac.snapshot(name[],text,int,text)'::regprocedure),
		  'TABLE(snapshot_id text, label text, consistent_at timestamp with time zone, services name[], tables integer, rows bigint, bytes bigint, duration interval)',
		  'snapshot returns the contract columns');
SELECT ok(pg_catalog.pg_get_function_result('bac.snapshots()'::regprocedure)
		  LIKE 'TABLE(snapshot_id text, label text, consistent_at timestamp with time zone, services name[], tables integer, rows bigint, bytes bigint, compression text,%',
		  'snapshots returns the contract columns first');
SELECT is(pg_catalog.pg_get_function_result('bac.verify_snapshot(text)'::regprocedure),
		  'TABLE(file text, ok boolean, detail text)', 'verify_snapshot columns');
SELECT function_returns('bac', 'drop_snapshot', ARRAY['text'], 'void');
SELECT function_returns('bac', 'prune_snapshots', ARRAY['integer', 'interval'], 'integer');
SELECT is(pg_catalog.pg_get_function_arguments('bac.prune_snapshots(int,interval)'::regprocedure),
		  'keep_last integer DEFAULT NULL::integer, older_than interval DEFAULT NULL::interval',
		  'prune_snapshots defaults');

-- volatile, parallel unsafe (they write files and start workers), not PUBLIC, not SECURITY DEFINER
SELECT ok(p.provolatile = 'v' AND p.proparallel = 'u' AND NOT p.prosecdef
		  AND NOT pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE'),
		  p.oid::regprocedure::text || ' is volatile, parallel unsafe, invoker rights, not PUBLIC')
  FROM pg_catalog.pg_proc p
 WHERE p.oid IN ('bac.snapshot(name[],text,int,text)'::regprocedure, 'bac.snapshots()'::regprocedure,
				 'bac.verify_snapshot(text)'::regprocedure, 'bac.drop_snapshot(text)'::regprocedure,
				 'bac.prune_snapshots(int,interval)'::regprocedure)
 ORDER BY p.oid;
SELECT ok(pg_catalog.obj_description(p, 'pg_proc') IS NOT NULL, p::text || ' has a comment')
  FROM unnest(ARRAY['bac.snapshot(name[],text,int,text)'::regprocedure, 'bac.snapshots()'::regprocedure,
					'bac.verify_snapshot(text)'::regprocedure, 'bac.drop_snapshot(text)'::regprocedure,
					'bac.prune_snapshots(int,interval)'::regprocedure]) AS p;

SELECT * FROM finish();
ROLLBACK;
