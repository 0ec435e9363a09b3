--
-- 40_restore: bac.restore and bac.restore_group -- the SQL surface, bad
-- input (each refused with the database untouched), dry runs, in place and
-- into_schema restores, the consequences report.
--
-- Snapshot ids are instants; messages show them as <id>.
SET client_min_messages = warning;

-- run a statement, show its error (id masked) instead of failing
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	msg text;
	det text;
	hnt text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
		hnt = PG_EXCEPTION_HINT;
	RETURN regexp_replace(regexp_replace(
		SQLSTATE || ': ' || msg || E'\nDETAIL: ' || coalesce(det, '') ||
		E'\nHINT: ' || coalesce(hnt, ''),
		'\d{8}T\d{6}\.\d{6}Z', '<id>', 'g'), '[0-9a-f]{64}', '<sha256>', 'g');
END $$;

-- rewrite a file of the archive (relative to the data directory) with the
-- given lines
CREATE FUNCTION pg_temp.write_lines(path text, lines text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE pg_catalog.format('COPY (SELECT l FROM unnest(%L::text[]) WITH ORDINALITY AS u(l, n) ORDER BY n)'
				   ' TO %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
				   lines, current_setting('data_directory') || '/' || path);
END $$;

-- a view of a schema's content, to show a refused restore changed nothing
CREATE FUNCTION pg_temp.state(s text) RETURNS text LANGUAGE sql AS $$
SELECT string_agg(c.relname || ':' || c.relkind::text, ' ' ORDER BY c.relname) ||
	   ' ' || (SELECT count(*) FROM pg_namespace WHERE nspname LIKE s || '%')::text || ' schemas'
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = s
$$;

CREATE ROLE regress_bac_owner;
CREATE ROLE regress_bac_stranger;
CREATE SCHEMA rs_cust AUTHORIZATION regress_bac_owner;
CREATE TABLE rs_cust.customer (id int PRIMARY KEY, name text NOT NULL);
ALTER TABLE rs_cust.customer OWNER TO regress_bac_owner;
INSERT INTO rs_cust.customer SELECT g, 'c' || g FROM generate_series(1, 100) g;
CREATE SCHEMA rs_ord;
CREATE TABLE rs_ord.orders (id int PRIMARY KEY, customer_id int);
INSERT INTO rs_ord.orders SELECT g, g FROM generate_series(1, 50) g;
SELECT bac.register_service('rs_cust', owner => 'regress_bac_owner');
SELECT bac.register_service('rs_ord');
SELECT bac.add_link('rs_order_customer', 'rs_ord.orders', '{customer_id}',
					'rs_cust.customer', '{id}', orphans_matter => true);
SELECT snapshot_id AS snap FROM bac.snapshot('{rs_cust,rs_ord}') \gset
SET regress.snap = :'snap';

-- changes after the snapshot: 5 new customers with 3 orders, 2 renamed
INSERT INTO rs_cust.customer SELECT g, 'late' FROM generate_series(101, 105) g;
INSERT INTO rs_ord.orders VALUES (51, 101), (52, 102), (53, 102);
UPDATE rs_cust.customer SET name = 'renamed' WHERE id IN (1, 2);
SELECT pg_temp.state('rs_cust') AS before;

--
-- bad input
--
SELECT pg_temp.try($$SELECT bac.restore(NULL, 'rs_cust')$$);
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), NULL)$$);
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust', keep_previous => NULL)$$);
SELECT pg_temp.try($$SELECT bac.restore('../../etc', 'rs_cust')$$);
SELECT pg_temp.try($$SELECT bac.restore('', 'rs_cust')$$);
SELECT pg_temp.try($$SELECT bac.restore('20000101T000000.000000Z', 'rs_cust')$$);
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'no_such_service')$$);
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust', on_broken_links => 'maybe')$$);
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust', missing_roles => 'nobody')$$);
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust', into_schema => 'rs_ord')$$);
SELECT pg_temp.try($$SELECT bac.restore_group(current_setting('regress.snap'), '{}')$$);
SELECT pg_temp.try($$SELECT bac.restore_group(current_setting('regress.snap'), '{rs_cust,rs_cust}')$$);
SELECT pg_temp.try($$SELECT bac.restore_group(current_setting('regress.snap'), '{rs_cust,NULL}')$$);

-- a view of another service depends on the schema: refused, with the list
CREATE VIEW rs_ord.v AS SELECT o.id, c.name FROM rs_ord.orders o JOIN rs_cust.customer c ON c.id = o.customer_id;
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust')$$);
DROP VIEW rs_ord.v;
-- so does a foreign key of another schema
ALTER TABLE rs_ord.orders ADD CONSTRAINT orders_customer_fk
	FOREIGN KEY (customer_id) REFERENCES rs_cust.customer NOT VALID;
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust')$$);
-- restoring both together is fine as far as dependencies go (dry run)
SELECT link, direction, broken, orphaned FROM bac.restore_group(:'snap', '{rs_cust,rs_ord}', dry_run => true)
 WHERE direction <> 'rows';
ALTER TABLE rs_ord.orders DROP CONSTRAINT orders_customer_fk;

-- insufficient privileges: EXECUTE alone is not enough, owning the schema is
GRANT USAGE ON SCHEMA bac TO regress_bac_stranger, regress_bac_owner;
GRANT EXECUTE ON FUNCTION bac.restore(text, name, name, boolean, boolean, text, text)
	TO regress_bac_stranger, regress_bac_owner;
SET ROLE regress_bac_stranger;
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust', dry_run => true)$$);
RESET ROLE;
SET ROLE regress_bac_owner;
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_ord', dry_run => true)$$);
SELECT link, direction, broken, orphaned FROM bac.restore(:'snap', 'rs_cust', dry_run => true)
 WHERE direction <> 'rows';
RESET ROLE;
REVOKE ALL ON FUNCTION bac.restore(text, name, name, boolean, boolean, text, text)
	FROM regress_bac_stranger, regress_bac_owner;
REVOKE ALL ON SCHEMA bac FROM regress_bac_stranger, regress_bac_owner;
-- PUBLIC may not call either function
SELECT has_function_privilege('public', 'bac.restore(text, name, name, boolean, boolean, text, text)', 'EXECUTE') AS public_restore,
	   has_function_privilege('public', 'bac.restore_group(text, name[], boolean, boolean, text, text)', 'EXECUTE') AS public_group;

-- on_broken_links => 'error': the 3 orders of new customers would break
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust', on_broken_links => 'error')$$);
SELECT pg_temp.state('rs_cust') AS unchanged;

-- the archive damaged: detected before any change, naming the file
SELECT f AS datafile FROM jsonb_array_elements(pg_read_file('pg_bac/' || :'snap' || '/manifest.json')::jsonb->'services') s,
	jsonb_array_elements(s->'tables') t, jsonb_array_elements_text(t->'files') f
 WHERE s->>'service' = 'rs_cust' \gset
SELECT pg_read_file('pg_bac/' || :'snap' || '/' || :'datafile') AS good \gset
-- one byte changed (same size)
SELECT pg_temp.write_lines('pg_bac/' || :'snap' || '/' || :'datafile',
	(SELECT array_agg(CASE WHEN n = 7 THEN replace(l, 'c7', 'c8') ELSE l END ORDER BY n)
	   FROM regexp_split_to_table(rtrim(:'good', E'\n'), E'\n') WITH ORDINALITY AS x(l, n)));
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust')$$);
-- truncated
SELECT pg_temp.write_lines('pg_bac/' || :'snap' || '/' || :'datafile',
	(SELECT array_agg(l ORDER BY n)
	   FROM regexp_split_to_table(rtrim(:'good', E'\n'), E'\n') WITH ORDINALITY AS x(l, n) WHERE n <= 50));
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust')$$);
SELECT pg_temp.state('rs_cust') AS unchanged;
-- repaired
SELECT pg_temp.write_lines('pg_bac/' || :'snap' || '/' || :'datafile',
	regexp_split_to_array(rtrim(:'good', E'\n'), E'\n'));

-- another archive format version, another major version
SELECT pg_read_file('pg_bac/' || :'snap' || '/manifest.json') AS manifest \gset
SELECT pg_temp.write_lines('pg_bac/' || :'snap' || '/manifest.json',
	regexp_split_to_array(rtrim(replace(:'manifest', '"format": 1,', '"format": 2,'), E'\n'), E'\n'));
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust')$$);
SELECT pg_temp.write_lines('pg_bac/' || :'snap' || '/manifest.json',
	regexp_split_to_array(rtrim(regexp_replace(:'manifest', '"server_version_num": \d+', '"server_version_num": 140010'), E'\n'), E'\n'));
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust')$$);
-- a damaged manifest (a row count changed)
SELECT pg_temp.write_lines('pg_bac/' || :'snap' || '/manifest.json',
	regexp_split_to_array(rtrim(regexp_replace(:'manifest', '"rows": 100,', '"rows": 101,'), E'\n'), E'\n'));
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust')$$);
SELECT pg_temp.write_lines('pg_bac/' || :'snap' || '/manifest.json',
	regexp_split_to_array(rtrim(:'manifest', E'\n'), E'\n'));
SELECT pg_temp.state('rs_cust') AS unchanged;

--
-- dry run: the full report, nothing changed
--
SELECT link, direction, broken, orphaned, regexp_replace(detail, '\d{8}T\d{6}\.\d{6}Z', '<id>') AS detail
  FROM bac.restore(:'snap', 'rs_cust', dry_run => true) ORDER BY direction, link;
SELECT pg_temp.state('rs_cust') AS unchanged;
SELECT count(*) AS customers FROM rs_cust.customer;

--
-- into_schema: beside the live schema
--
SELECT link, direction, broken, orphaned FROM bac.restore(:'snap', 'rs_cust', into_schema => 'rs_cust_copy')
 WHERE direction <> 'rows';
SELECT count(*), min(name), max(id) FROM rs_cust_copy.customer;
SELECT pg_catalog.pg_get_userbyid(nspowner) AS copy_owner FROM pg_namespace WHERE nspname = 'rs_cust_copy';
DROP SCHEMA rs_cust_copy CASCADE;

--
-- in place, keeping the previous schema
--
SELECT link, direction, broken, orphaned, regexp_replace(detail, '\d{8}T\d{6}\.\d{6}Z', '<id>') AS detail
  FROM bac.restore(:'snap', 'rs_cust') ORDER BY direction, link;
SELECT count(*), max(id), count(*) FILTER (WHERE name = 'renamed') AS renamed FROM rs_cust.customer;
SELECT count(*) AS kept FROM pg_namespace WHERE nspname = 'rs_cust_before_' || :'snap';
SELECT count(*) AS before_rows FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'rs_cust_before_' || :'snap' AND c.relname = 'customer';
-- the kept name is taken now: a second restore keeping it again is refused
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap'), 'rs_cust')$$);
-- keep_previous => false drops the replaced schema
SELECT count(*) AS report_rows FROM bac.restore(:'snap', 'rs_cust', keep_previous => false);
SELECT regexp_replace(nspname, '\d{8}T\d{6}\.\d{6}Z', '<id>') AS nspname
  FROM pg_namespace WHERE nspname LIKE 'rs_cust%' OR nspname LIKE 'bac_replaced%' ORDER BY 1;
DO $$BEGIN EXECUTE pg_catalog.format('DROP SCHEMA %I CASCADE', 'rs_cust_before_' || current_setting('regress.snap')); END$$;

--
-- a schema name so long that <schema>_before_<id> does not fit in 63 bytes
--
CREATE SCHEMA rs_a_very_long_schema_name_for_a_service_xxxxxxxxxxxxxxxxxxxx;
CREATE TABLE rs_a_very_long_schema_name_for_a_service_xxxxxxxxxxxxxxxxxxxx.t (id int);
SELECT bac.register_service('rs_long', 'rs_a_very_long_schema_name_for_a_service_xxxxxxxxxxxxxxxxxxxx');
SELECT snapshot_id AS snap2 FROM bac.snapshot('{rs_long}') \gset
SELECT count(*) FROM bac.restore(:'snap2', 'rs_long');
SELECT regexp_replace(nspname, '\d{8}T\d{6}\.\d{6}Z', '<id>') AS kept_as, length(nspname)
  FROM pg_namespace WHERE nspname LIKE 'rs_a_very_long%before%';
DO $$DECLARE n name;
BEGIN
	FOR n IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rs_a_very_long%' LOOP
		EXECUTE pg_catalog.format('DROP SCHEMA %I CASCADE', n);
	END LOOP;
END$$;
SELECT bac.unregister_service('rs_long');
SELECT bac.drop_snapshot(:'snap2');

--
-- owner roles missing here: reported, or mapped to the current user
--
CREATE ROLE regress_bac_gone;
CREATE SCHEMA rs_gone AUTHORIZATION regress_bac_gone;
CREATE TABLE rs_gone.t (id int);
ALTER TABLE rs_gone.t OWNER TO regress_bac_gone;
GRANT SELECT ON rs_gone.t TO regress_bac_gone;
INSERT INTO rs_gone.t VALUES (1), (2);
SELECT bac.register_service('rs_gone');
SELECT snapshot_id AS snap3 FROM bac.snapshot('{rs_gone}') \gset
SET regress.snap3 = :'snap3';
DROP SCHEMA rs_gone CASCADE;
DROP ROLE regress_bac_gone;
SELECT pg_temp.try($$SELECT bac.restore(current_setting('regress.snap3'), 'rs_gone')$$);
SELECT count(*) FROM pg_namespace WHERE nspname = 'rs_gone';
SELECT count(*) FROM bac.restore(:'snap3', 'rs_gone', missing_roles => 'current_user');
SELECT pg_get_userbyid(relowner) = current_user AS owned_by_me, count(*) OVER () FROM pg_class WHERE oid = 'rs_gone.t'::regclass;
SELECT count(*) FROM rs_gone.t;
DROP SCHEMA rs_gone CASCADE;
SELECT bac.unregister_service('rs_gone');
SELECT bac.drop_snapshot(:'snap3');

--
-- compressed snapshots (zstd, lz4), taken with two workers: the data files
-- are decompressed on the fly; the copies equal the live table
--
SELECT snapshot_id AS snapz FROM bac.snapshot('{rs_ord}', compression => 'zstd', workers => 2) \gset
SELECT snapshot_id AS snapl FROM bac.snapshot('{rs_ord}', compression => 'lz4') \gset
SELECT f LIKE '%.zst' AS zstd_file FROM jsonb_array_elements(pg_read_file('pg_bac/' || :'snapz' || '/manifest.json')::jsonb->'services') s,
	jsonb_array_elements(s->'tables') t, jsonb_array_elements_text(t->'files') f;
SELECT count(*) FROM bac.restore(:'snapz', 'rs_ord', into_schema => 'rs_ord_zstd');
SELECT count(*) FROM bac.restore(:'snapl', 'rs_ord', into_schema => 'rs_ord_lz4');
SELECT (SELECT count(*) FROM rs_ord_zstd.orders) AS zstd_rows, (SELECT count(*) FROM rs_ord_lz4.orders) AS lz4_rows,
	   (SELECT count(*) FROM (SELECT * FROM rs_ord.orders EXCEPT ALL SELECT * FROM rs_ord_zstd.orders) x) AS zstd_missing,
	   (SELECT count(*) FROM (SELECT * FROM rs_ord_lz4.orders EXCEPT ALL SELECT * FROM rs_ord.orders) x) AS lz4_extra;
DROP SCHEMA rs_ord_zstd, rs_ord_lz4 CASCADE;
SELECT bac.drop_snapshot(:'snapz');
SELECT bac.drop_snapshot(:'snapl');

--
-- a service group is restored together
--
CREATE SCHEMA rs_g1;
CREATE TABLE rs_g1.t1 (id int);
CREATE SCHEMA rs_g2;
CREATE TABLE rs_g2.t2 (id int);
SELECT bac.register_service('rs_g1', service_group => 'rs_grp');
SELECT bac.register_service('rs_g2', service_group => 'rs_grp');
SELECT snapshot_id AS snapg FROM bac.snapshot('{rs_g1,rs_g2}') \gset
-- one member alone: done, with a warning
SELECT link FROM bac.restore(:'snapg', 'rs_g1', keep_previous => false) WHERE direction = 'rows';
-- restore_group naming one member restores the whole group
SELECT link FROM bac.restore_group(:'snapg', '{rs_g1}', keep_previous => false) WHERE direction = 'rows' ORDER BY 1;
DROP SCHEMA rs_g1, rs_g2 CASCADE;
SELECT bac.unregister_service('rs_g1');
SELECT bac.unregister_service('rs_g2');
SELECT bac.drop_snapshot(:'snapg');

-- the post-data (index and constraint builds) runs with maintenance_work_mem
-- raised to bac.restore_maintenance_work_mem, never lowered, set back
-- after it; 0 (the default) and -1 leave it as it is.  An event trigger
-- records the value each ALTER TABLE / CREATE INDEX of a restore ran with.
CREATE SCHEMA rs_mwm;
CREATE TABLE rs_mwm.log (id serial, tag text, mwm text);
CREATE FUNCTION rs_mwm.rec() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO rs_mwm.log (tag, mwm)
	SELECT tg_tag, pg_catalog.current_setting('maintenance_work_mem');
END $$;
CREATE FUNCTION rs_mwm.restore_with(target name) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE rs_mwm.log;
	PERFORM bac.restore(pg_catalog.current_setting('regress.snap'), 'rs_ord', into_schema => target);
	RETURN (SELECT string_agg(tag || ' ' || mwm, ', ' ORDER BY id) FROM rs_mwm.log) ||
		' ; after: ' || pg_catalog.current_setting('maintenance_work_mem');
END $$;
CREATE EVENT TRIGGER rs_mwm_rec ON ddl_command_end WHEN TAG IN ('ALTER TABLE', 'CREATE INDEX')
	EXECUTE FUNCTION rs_mwm.rec();
SHOW bac.restore_maintenance_work_mem;
SET maintenance_work_mem = '64MB';
SELECT rs_mwm.restore_with('rs_ord_mwm1');
SET bac.restore_maintenance_work_mem = '300MB';
SELECT rs_mwm.restore_with('rs_ord_mwm2');
SET bac.restore_maintenance_work_mem = 0;
SELECT rs_mwm.restore_with('rs_ord_mwm3');
SET bac.restore_maintenance_work_mem = -1;
SELECT rs_mwm.restore_with('rs_ord_mwm4');
RESET bac.restore_maintenance_work_mem;
SET maintenance_work_mem = '1GB';
SELECT rs_mwm.restore_with('rs_ord_mwm5');
RESET maintenance_work_mem;
SELECT pg_temp.try($$SET bac.restore_maintenance_work_mem = 'lots'$$);
SELECT pg_temp.try($$SET bac.restore_maintenance_work_mem = -2$$);
DROP EVENT TRIGGER rs_mwm_rec;
DROP SCHEMA rs_mwm, rs_ord_mwm1, rs_ord_mwm2, rs_ord_mwm3, rs_ord_mwm4, rs_ord_mwm5 CASCADE;

-- with public (and the hostile objects 00_install planted there) first in
-- search_path, a restore calls none of them
SET search_path = public, pg_catalog;
SELECT count(*) FROM bac.restore(:'snap', 'rs_ord', dry_run => true);
SELECT count(*) FROM bac.restore(:'snap', 'rs_ord', into_schema => 'rs_ord_hostile');
RESET search_path;
SELECT * FROM public.hostile_log;
DROP SCHEMA rs_ord_hostile CASCADE;

-- clean up
SELECT bac.drop_link('rs_order_customer');
SELECT bac.unregister_service('rs_cust');
SELECT bac.unregister_service('rs_ord');
SELECT bac.drop_snapshot(:'snap');
DROP SCHEMA rs_cust, rs_ord CASCADE;
DROP ROLE regress_bac_owner;
DROP ROLE regress_bac_stranger;
RESET client_min_messages;
