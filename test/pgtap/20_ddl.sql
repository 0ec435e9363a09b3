-- test/pgtap/20_ddl.sql: the DDL capture functions, and a replay of the
-- captured scripts into another schema of the same database (what
-- bac.restore does with into_schema), compared catalog by catalog.
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION pg_bac;
SELECT plan(21);

SELECT has_function('bac', 'schema_ddl', ARRAY['name', 'text'], 'bac.schema_ddl(name, text) exists');
SELECT function_returns('bac', 'schema_ddl', ARRAY['name', 'text'], 'text', 'and returns text');
SELECT has_function('bac', 'schema_ddl_info', ARRAY['name'], 'bac.schema_ddl_info(name) exists');
SELECT ok(NOT pg_catalog.has_function_privilege('public',
	'bac.schema_ddl(pg_catalog.name, pg_catalog.text)', 'EXECUTE'), 'schema_ddl is not PUBLIC');
SELECT ok(NOT pg_catalog.has_function_privilege('public',
	'bac.schema_ddl_info(pg_catalog.name)', 'EXECUTE'), 'schema_ddl_info is not PUBLIC');

-- a small service schema
CREATE SCHEMA svc;
SET LOCAL search_path = svc;
CREATE TYPE color AS ENUM ('red', 'green');
CREATE DOMAIN pct AS numeric(5,2) CHECK (VALUE BETWEEN 0 AND 100);
CREATE FUNCTION double(x int) RETURNS int LANGUAGE sql IMMUTABLE RETURN x * 2;
CREATE TABLE parent (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, c color DEFAULT 'red',
	d int GENERATED ALWAYS AS (double(id)) STORED, p pct);
CREATE TABLE child (id serial PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE,
	note text CHECK (note <> ''));
CREATE INDEX child_note ON child (lower(note)) WHERE note IS NOT NULL;
CREATE VIEW v AS SELECT p.id, p.c, count(c.*) AS n FROM parent p LEFT JOIN child c ON c.parent_id = p.id GROUP BY p.id;
CREATE FUNCTION count_children(pid int) RETURNS bigint LANGUAGE sql STABLE
	BEGIN ATOMIC SELECT count(*) FROM child WHERE parent_id = pid; END;
COMMENT ON TABLE child IS 'kids';
INSERT INTO parent (c, p) VALUES ('green', 12.5);
INSERT INTO child (parent_id, note) VALUES (1, 'x'), (1, 'y');
RESET search_path;

-- the capture leaves the session as it was
SET LOCAL search_path = public;
SELECT ok(length(bac.schema_ddl('svc')) > 0, 'svc is captured');
SELECT is(pg_catalog.current_setting('search_path'), 'public', 'search_path is restored after the capture');
SELECT is(pg_catalog.current_setting('check_function_bodies'), 'on', 'check_function_bodies untouched');
SELECT is(bac.schema_ddl('svc'), bac.schema_ddl('svc'), 'two captures are equal');
SELECT is(bac.schema_ddl('svc'), bac.schema_ddl('svc', 'pre-data') || bac.schema_ddl('svc', 'post-data'),
	'NULL section = pre-data then post-data');
SELECT is(ARRAY(SELECT name FROM bac.schema_ddl_info('svc') WHERE kind = 'table' ORDER BY ord),
	ARRAY['svc.child', 'svc.parent'], 'the data tables in load order, not the view');
SELECT matches(bac.schema_ddl('svc', 'pre-data'), 'ALTER TABLE ONLY parent ADD CONSTRAINT parent_pkey',
	'the key a GROUP BY relies on moves to pre-data');
SELECT doesnt_match(bac.schema_ddl('svc'), 'svc\.', 'nothing is qualified with the schema name');
SELECT matches(bac.schema_ddl('svc', 'post-data'), 'setval\(''child_id_seq'', 2, true\)',
	'sequence values are read at capture time');

-- replay into svc2 in the same transaction, data through the table list
CREATE SCHEMA svc2;
CREATE FUNCTION pg_temp.replay(script text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_catalog.set_config('search_path', 'svc2', true);
	EXECUTE script;
	PERFORM pg_catalog.set_config('search_path', 'public', true);
END $$;
SELECT pg_temp.replay(bac.schema_ddl('svc', 'pre-data'));
INSERT INTO svc2.parent (c, p) SELECT c::text::svc2.color, p::numeric FROM svc.parent;
INSERT INTO svc2.child SELECT * FROM svc.child;
SELECT pg_temp.replay(bac.schema_ddl('svc', 'post-data'));

-- compare the two schemas through the catalogs
CREATE FUNCTION pg_temp.shape(nsp text) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT 'col ' || c.relname || '.' || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
		|| ' ' || a.attnotnull || ' ' || a.attidentity::text || ' ' || a.attgenerated::text
		|| ' ' || COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '')
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
	LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	WHERE c.relnamespace = nsp::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT 'con ' || k.conname || ' ' || pg_catalog.pg_get_constraintdef(k.oid)
	FROM pg_catalog.pg_constraint k WHERE k.connamespace = nsp::regnamespace
	UNION ALL
	SELECT 'idx ' || pg_catalog.pg_get_indexdef(i.indexrelid, 0, true)
	FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
	WHERE c.relnamespace = nsp::regnamespace
	UNION ALL
	SELECT 'obj ' || c.relname || ' ' || c.relkind::text || ' ' || COALESCE(pg_catalog.obj_description(c.oid), '')
	FROM pg_catalog.pg_class c WHERE c.relnamespace = nsp::regnamespace
	UNION ALL
	SELECT 'fn ' || p.proname || ' ' || pg_catalog.pg_get_function_result(p.oid)
	FROM pg_catalog.pg_proc p WHERE p.pronamespace = nsp::regnamespace
$$;
SELECT set_eq($$SELECT replace(s, 'svc2.', 'svc.') FROM pg_temp.shape('svc2') s$$,
	$$SELECT * FROM pg_temp.shape('svc')$$, 'the replayed schema has the same shape');
SELECT cmp_ok((SELECT count(*) FROM pg_temp.shape('svc')), '>', 20::bigint, 'and the shape is not empty');
SELECT results_eq('SELECT * FROM svc2.child ORDER BY id', 'SELECT * FROM svc.child ORDER BY id',
	'the data came along');
SELECT is(svc2.count_children(1), 2::bigint, 'a BEGIN ATOMIC function reads the new schema''s table');
SELECT is((SELECT last_value FROM svc2.child_id_seq), 2::bigint, 'the sequence value came along');
SELECT is((SELECT replace(pg_catalog.pg_get_viewdef('svc2.v'::regclass), 'svc2.', 'svc.')),
	(SELECT pg_catalog.pg_get_viewdef('svc.v'::regclass)), 'the view reads the new schema''s tables');
SELECT is((SELECT n FROM svc2.v WHERE id = 1), 2::bigint, 'and works');

SELECT * FROM finish();
ROLLBACK;
