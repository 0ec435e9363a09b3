--
-- 50_export: bac.export -- bad input, privileges, a damaged snapshot, and
-- the text of a small export (as the original schema and under another
-- name).
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

-- the export's lines with what varies from run to run masked
CREATE FUNCTION pg_temp.export_text(snap text, svc name, as_schema name DEFAULT NULL)
RETURNS SETOF text LANGUAGE sql AS $$
SELECT regexp_replace(regexp_replace(regexp_replace(l,
		'^(-- (Snapshot|Consistent at|Source database): ).*$', '\1<varies>'),
		'^SET client_encoding = .*;$', 'SET client_encoding = <client encoding>;'),
		'^(-- Exported by pg_bac version ).*$', '\1<version>')
  FROM bac.export(snap, svc, as_schema) WITH ORDINALITY AS e(l, n) ORDER BY n
$$;

CREATE ROLE regress_bac_exp_owner;
CREATE ROLE regress_bac_exp_stranger;
GRANT USAGE ON SCHEMA bac TO regress_bac_exp_owner, regress_bac_exp_stranger;
GRANT EXECUTE ON FUNCTION bac.export(text, name, name, bool, bool, bool, bool)
	TO regress_bac_exp_owner, regress_bac_exp_stranger;

CREATE SCHEMA ex_shop AUTHORIZATION regress_bac_exp_owner;
CREATE TABLE ex_shop.item (
	id int PRIMARY KEY,
	name text,
	price numeric(8,2) NOT NULL,
	gross numeric GENERATED ALWAYS AS (price * 1.2) STORED
);
CREATE TABLE ex_shop."Special Item" (note text) INHERITS (ex_shop.item);
ALTER TABLE ex_shop.item OWNER TO regress_bac_exp_owner;
ALTER TABLE ex_shop."Special Item" OWNER TO regress_bac_exp_owner;
INSERT INTO ex_shop.item (id, name, price) VALUES
	(1, 'plain', 1.50), (2, NULL, 2), (3, E'tab\there, new\nline, back\\slash', 3.25);
INSERT INTO ex_shop."Special Item" (id, name, price, note) VALUES (4, 'gold', 99, 'shiny');
-- a table without columns: COPY without column list, empty lines
CREATE TABLE ex_shop.nothing ();
ALTER TABLE ex_shop.nothing OWNER TO regress_bac_exp_owner;
INSERT INTO ex_shop.nothing DEFAULT VALUES;
INSERT INTO ex_shop.nothing DEFAULT VALUES;
SELECT bac.register_service('ex_shop', owner => 'regress_bac_exp_owner');
SELECT snapshot_id AS snap FROM bac.snapshot('{ex_shop}', label => 'nightly') \gset
SET regress.snap = :'snap';

--
-- bad input
--
SELECT pg_temp.try($$SELECT bac.export(NULL, 'ex_shop')$$);
SELECT pg_temp.try($$SELECT bac.export(current_setting('regress.snap'), NULL)$$);
SELECT pg_temp.try($$SELECT bac.export('../../etc', 'ex_shop')$$);
SELECT pg_temp.try($$SELECT bac.export('', 'ex_shop')$$);
SELECT pg_temp.try($$SELECT bac.export('20000101T000000.000000Z', 'ex_shop')$$);
SELECT pg_temp.try($$SELECT bac.export(current_setting('regress.snap'), 'no_such_service')$$);
SELECT pg_temp.try($$SELECT bac.export(current_setting('regress.snap'), 'ex_shop', '')$$);
SELECT pg_temp.try($$SELECT bac.export(current_setting('regress.snap'), 'ex_shop', 'pg_shop')$$);

--
-- privileges: the owner of the schema may, another role may not
--
SET ROLE regress_bac_exp_stranger;
SELECT pg_temp.try($$SELECT count(*) FROM bac.export(current_setting('regress.snap'), 'ex_shop')$$);
RESET ROLE;
SET ROLE regress_bac_exp_owner;
SELECT count(*) > 20 AS owner_may_export
  FROM bac.export(current_setting('regress.snap'), 'ex_shop');
RESET ROLE;

--
-- the script
--
\pset format unaligned
\pset tuples_only on
SELECT * FROM pg_temp.export_text(current_setting('regress.snap'), 'ex_shop');
-- under another name: only the schema's own name changes
SELECT l FROM (
	SELECT * FROM pg_temp.export_text(current_setting('regress.snap'), 'ex_shop', 'Shop Copy')
	EXCEPT ALL
	SELECT * FROM pg_temp.export_text(current_setting('regress.snap'), 'ex_shop')) d(l)
ORDER BY l COLLATE "C";
SELECT l FROM (
	SELECT * FROM pg_temp.export_text(current_setting('regress.snap'), 'ex_shop')
	EXCEPT ALL
	SELECT * FROM pg_temp.export_text(current_setting('regress.snap'), 'ex_shop', 'Shop Copy')) d(l)
ORDER BY l COLLATE "C";
-- pg_dump's -s, -a, -O, -x: what each option leaves out of the full export
-- (lines the option removes, then lines it adds)
CREATE FUNCTION pg_temp.export_opt(opts text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE pg_catalog.format($q$
	SELECT * FROM (SELECT '- ' || l FROM (SELECT * FROM pg_temp.export_text(current_setting('regress.snap'), 'ex_shop')
		EXCEPT ALL SELECT regexp_replace(regexp_replace(regexp_replace(l,
		'^(-- (Snapshot|Consistent at|Source database): ).*$', '\1<varies>'),
		'^SET client_encoding = .*;$', 'SET client_encoding = <client encoding>;'),
		'^(-- Exported by pg_bac version ).*$', '\1<version>')
		  FROM bac.export(current_setting('regress.snap'), 'ex_shop', %1$s) l) d(l)
	UNION ALL
	SELECT '+ ' || l FROM (SELECT l FROM bac.export(current_setting('regress.snap'), 'ex_shop', %1$s) l
		EXCEPT ALL SELECT * FROM bac.export(current_setting('regress.snap'), 'ex_shop') l) d(l)) x(l)
	ORDER BY l COLLATE "C"$q$, opts);
END $$;
SELECT * FROM pg_temp.export_opt('schema_only => true');
SELECT * FROM pg_temp.export_opt('data_only => true');
SELECT * FROM pg_temp.export_opt('no_owner => true');
SELECT * FROM pg_temp.export_opt('no_privileges => true');
SELECT pg_temp.try($$SELECT bac.export(current_setting('regress.snap'), 'ex_shop', schema_only => true, data_only => true)$$);
SELECT pg_temp.try($$SELECT bac.export(current_setting('regress.snap'), 'ex_shop', no_owner => NULL)$$);
SELECT regexp_replace(l, '\d{8}T\d{6}\.\d{6}Z', '<id>')
  FROM bac.export(current_setting('regress.snap'), 'ex_shop') AS l
 WHERE l LIKE '-- Snapshot%';
-- a name with a line break cannot end the header's comment
SELECT l FROM bac.export(current_setting('regress.snap'), 'ex_shop',
						 E'x\nDROP TABLE t;\r--') AS l
 WHERE l LIKE '--%DROP%';
\pset format aligned
\pset tuples_only off

-- in the select list the rows stream; LIMIT stops it early, files closed
SELECT bac.export(current_setting('regress.snap'), 'ex_shop') LIMIT 3;
-- stopped in the middle of a data file
SELECT * FROM (SELECT bac.export(current_setting('regress.snap'), 'ex_shop') AS line
				LIMIT 56) s OFFSET 53;

--
-- a damaged data file is refused before the first line
--
SELECT f AS datafile
  FROM jsonb_array_elements_text(
		 (pg_read_file('pg_bac/' || current_setting('regress.snap') || '/manifest.json')::jsonb)
		 #> '{services,0,tables,0,files}') AS f \gset
SET regress.datafile = :'datafile';
DO $$BEGIN
	EXECUTE pg_catalog.format('COPY (SELECT ''9 evil 0'') TO %L',
		current_setting('data_directory') || '/pg_bac/' || current_setting('regress.snap')
		|| '/' || current_setting('regress.datafile'));
END$$;
SELECT pg_temp.try($$SELECT count(*) FROM bac.export(current_setting('regress.snap'), 'ex_shop')$$);

--
-- another archive format version: export says what restore says
--
SELECT pg_read_file('pg_bac/' || current_setting('regress.snap') || '/manifest.json') AS manifest \gset
SET regress.manifest = :'manifest';
DO $$BEGIN
	EXECUTE pg_catalog.format('COPY (SELECT l FROM pg_catalog.unnest(%L::pg_catalog.text[])'
		' WITH ORDINALITY AS u(l, n) ORDER BY n)'
		' TO %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
		pg_catalog.regexp_split_to_array(pg_catalog.rtrim(pg_catalog.replace(
			current_setting('regress.manifest'), '"format": 1,', '"format": 2,'), E'\n'), E'\n'),
		current_setting('data_directory') || '/pg_bac/' || current_setting('regress.snap')
		|| '/manifest.json');
END$$;
SELECT pg_temp.try($$SELECT count(*) FROM bac.export(current_setting('regress.snap'), 'ex_shop')$$);
SELECT pg_temp.try($$SELECT count(*) FROM bac.restore(current_setting('regress.snap'), 'ex_shop', dry_run => true)$$);

--
-- a snapshot of a schema that is gone: superuser only
--
SELECT bac.drop_snapshot(current_setting('regress.snap'));
SELECT snapshot_id AS snap FROM bac.snapshot('{ex_shop}') \gset
SET regress.snap = :'snap';
SELECT bac.unregister_service('ex_shop');
DROP SCHEMA ex_shop CASCADE;
SET ROLE regress_bac_exp_owner;
SELECT pg_temp.try($$SELECT count(*) FROM bac.export(current_setting('regress.snap'), 'ex_shop')$$);
RESET ROLE;
SELECT count(*) > 20 AS superuser_may_export
  FROM bac.export(current_setting('regress.snap'), 'ex_shop');

-- clean up
SELECT bac.drop_snapshot(current_setting('regress.snap'));
REVOKE ALL ON SCHEMA bac FROM regress_bac_exp_owner, regress_bac_exp_stranger;
REVOKE ALL ON FUNCTION bac.export(text, name, name, bool, bool, bool, bool)
	FROM regress_bac_exp_owner, regress_bac_exp_stranger;
DROP ROLE regress_bac_exp_owner;
DROP ROLE regress_bac_exp_stranger;
