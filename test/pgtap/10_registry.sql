-- test/pgtap/10_registry.sql: catalog-level facts about the registry and links
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION pg_bac;
SELECT plan(37);

-- functions exist with their contract signatures and are not PUBLIC
SELECT has_function('bac', 'register_service', ARRAY['name', 'name', 'regrole', 'name']);
SELECT has_function('bac', 'unregister_service', ARRAY['name']);
SELECT has_function('bac', 'add_link', ARRAY['name', 'regclass', 'name[]', 'regclass', 'name[]', 'boolean']);
SELECT has_function('bac', 'drop_link', ARRAY['name']);
SELECT has_function('bac', 'check_links', ARRAY['name[]']);
SELECT function_returns('bac', 'register_service', ARRAY['name', 'name', 'regrole', 'name'], 'void');
SELECT function_returns('bac', 'check_links', ARRAY['name[]'], 'setof record');
SELECT is((SELECT pg_catalog.pg_get_function_result('bac.check_links(name[])'::regprocedure)),
		  'TABLE(link name, from_service name, to_service name, broken bigint, orphaned bigint, sample text)',
		  'check_links returns the contract columns');
SELECT is((SELECT pg_catalog.pg_get_function_arguments('bac.register_service(name,name,regrole,name)'::regprocedure)),
		  'service name, schema_name name DEFAULT NULL::name, owner regrole DEFAULT NULL::regrole, service_group name DEFAULT NULL::name',
		  'register_service defaults');
SELECT is((SELECT pg_catalog.pg_get_function_arguments('bac.add_link(name,regclass,name[],regclass,name[],boolean)'::regprocedure)),
		  'link name, from_table regclass, from_columns name[], to_table regclass, to_columns name[], orphans_matter boolean DEFAULT false',
		  'add_link defaults');
SELECT ok(NOT pg_catalog.has_function_privilege('public', p, 'EXECUTE'),
		  'PUBLIC cannot execute ' || p)
  FROM unnest(ARRAY['bac.register_service(name,name,regrole,name)',
					'bac.unregister_service(name)',
					'bac.add_link(name,regclass,name[],regclass,name[],boolean)',
					'bac.drop_link(name)',
					'bac.check_links(name[])']) AS p;
SELECT is((SELECT pg_catalog.count(*)::int FROM pg_catalog.pg_proc
			WHERE pronamespace = 'bac'::regnamespace AND prosecdef
			  AND NOT coalesce(proconfig && ARRAY['search_path=pg_catalog', 'search_path=pg_catalog, pg_temp'], false)),
		  0, 'no SECURITY DEFINER function without a pinned search_path');

-- tables and views, their columns
SELECT columns_are('bac', 'service',
				   ARRAY['service', 'schema_name', 'owner', 'service_group', 'registered_at']);
SELECT col_type_is('bac', 'service', 'owner', 'regrole', 'service.owner is regrole');
SELECT col_is_pk('bac', 'service', 'service', 'service is the primary key');
SELECT col_is_unique('bac', 'service', 'schema_name', 'schema_name is unique');
SELECT col_not_null('bac', 'service', 'schema_name', 'schema_name is NOT NULL');
SELECT columns_are('bac', 'link',
				   ARRAY['link', 'from_schema', 'from_table', 'from_columns', 'to_schema',
						 'to_table', 'to_columns', 'orphans_matter', 'created_at']);
SELECT ok(NOT EXISTS (SELECT FROM pg_catalog.pg_attribute
					   WHERE attrelid = 'bac.link'::regclass AND attnum > 0
						 AND atttypid IN ('regclass'::regtype, 'oid'::regtype)),
		  'bac.link stores no OIDs or regclass');
SELECT columns_are('bac', 'services',
				   ARRAY['service', 'schema_name', 'owner', 'service_group', 'tables', 'bytes']);
SELECT is((SELECT pg_catalog.array_agg(attname::text ORDER BY attnum)
			 FROM pg_catalog.pg_attribute WHERE attrelid = 'bac.links'::regclass AND attnum > 0),
		  ARRAY['link', 'from_table', 'from_columns', 'to_table', 'to_columns', 'orphans_matter',
				'declared', 'from_service', 'to_service'],
		  'bac.links columns, in order');
SELECT col_type_is('bac', 'links', 'declared', 'boolean', 'links.declared is boolean');

-- dumped with the database
SELECT is((SELECT pg_catalog.array_agg(c::regclass::text ORDER BY c::regclass::text)
			 FROM pg_catalog.pg_extension e, unnest(e.extconfig) AS c
			WHERE e.extname = 'pg_bac'),
		  ARRAY['bac.cron_schedule', 'bac.link', 'bac.service'], 'registry and schedule tables are marked for pg_dump');
SELECT is((SELECT pg_catalog.count(*)::int FROM pg_catalog.pg_extension e, unnest(e.extcondition) AS w
			WHERE e.extname = 'pg_bac' AND w = ''), 3, 'their whole content is dumped');

-- nobody but the owner has privileges on the registry
SELECT ok(NOT pg_catalog.has_table_privilege('public', t, p), 'PUBLIC has no ' || p || ' on ' || t)
  FROM unnest(ARRAY['bac.service', 'bac.link', 'bac.services', 'bac.links']) AS t,
	   unnest(ARRAY['SELECT', 'INSERT']) AS p
 WHERE (t, p) <> ('bac.services', 'INSERT') AND (t, p) <> ('bac.links', 'INSERT');

-- behaviour visible in the catalogs: a registered schema is closed to PUBLIC
SELECT lives_ok($$SELECT bac.register_service('pgtap_svc', 'pgtap schema')$$, 'register a service');
SELECT ok(NOT pg_catalog.has_schema_privilege('public', 'pgtap schema', 'USAGE'),
		  'the service schema is revoked from PUBLIC');
SELECT throws_ok($$SELECT bac.register_service('pgtap_svc')$$, '42710',
				 'service "pgtap_svc" is already registered', 'duplicate registration is refused');

SELECT * FROM finish();
ROLLBACK;
