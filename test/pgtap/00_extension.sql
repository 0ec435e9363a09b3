-- test/pgtap/00_extension.sql: the extension's catalog footprint
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION pg_bac;
SELECT plan(4);

SELECT has_schema('bac', 'the extension has its schema');
SELECT is((SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_bac'),
		  '0.2', 'installed version is 0.2');
SELECT ok(NOT pg_catalog.has_schema_privilege('public', 'bac', 'USAGE'),
		  'PUBLIC has no usage on schema bac');
SELECT is((SELECT pg_catalog.count(*)::int FROM pg_catalog.pg_proc p
			 JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
			  AND d.objid = p.oid AND d.deptype = 'e'
			 JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_bac'
			WHERE pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')),
		  0, 'no function of pg_bac is executable by PUBLIC');

SELECT * FROM finish();
ROLLBACK;
