--
-- 21_ddl_group: real-database shapes in the DDL capture (issue 10):
-- overloaded and shadowing names of a schema never come out qualified with
-- the schema's own name; bac.group_ddl captures several schemas that depend
-- on each other both ways in one dependency order; register_service warns
-- about extension members in a service's schema.  Fidelity against pg_dump
-- on the real corpora is tested by test/t/023_ddl_corpora.pl.
--
SET client_min_messages = warning;
CREATE SCHEMA regress_ovl;
SET search_path = regress_ovl;
CREATE DOMAIN my_json_domain AS jsonb;
CREATE TABLE some_table (a int, b text);
-- two functions of one name: regproc output would qualify "acc"
CREATE FUNCTION acc(state my_json_domain, v anyelement) RETURNS my_json_domain
	LANGUAGE sql IMMUTABLE SET search_path FROM CURRENT
	AS $$ SELECT (state || to_jsonb(v))::my_json_domain $$;
CREATE FUNCTION acc(state my_json_domain, v some_table) RETURNS my_json_domain
	LANGUAGE sql IMMUTABLE SET search_path FROM CURRENT
	AS $$ SELECT (state || to_jsonb(v))::my_json_domain $$;
CREATE FUNCTION fin(state my_json_domain) RETURNS jsonb LANGUAGE sql
	AS $$ SELECT state::jsonb $$;
CREATE FUNCTION fin(state text) RETURNS text LANGUAGE sql AS $$ SELECT state $$;
CREATE AGGREGATE agg_acc(anyelement) (SFUNC = acc, STYPE = my_json_domain,
	INITCOND = '[]', FINALFUNC = fin);
CREATE FUNCTION plus(a some_table, b some_table) RETURNS int LANGUAGE sql
	AS $$ SELECT $1.a + $2.a $$;
CREATE FUNCTION plus(a int, b some_table) RETURNS int LANGUAGE sql
	AS $$ SELECT $1 + $2.a $$;
CREATE OPERATOR ### (FUNCTION = plus, LEFTARG = some_table, RIGHTARG = some_table);
-- a function with the name and arguments of one of pg_catalog
CREATE FUNCTION "current_user"() RETURNS text LANGUAGE sql AS $$ SELECT 'mine' $$;
COMMENT ON FUNCTION regress_ovl."current_user"() IS 'shadows pg_catalog, 100% ours';
REVOKE ALL ON FUNCTION regress_ovl."current_user"() FROM PUBLIC;
RESET search_path;
RESET client_min_messages;

-- no line names the schema: the aggregate's and the operator's functions
-- are bare, statements about "current_user" go through current_schema()
SELECT pg_catalog.strpos(bac.schema_ddl('regress_ovl'), 'regress_ovl.') AS qualified_self_references;
SELECT pg_catalog.replace(line, CURRENT_USER, '<superuser>') AS line
  FROM pg_catalog.regexp_split_to_table(bac.schema_ddl('regress_ovl'), E'\n') AS line
 WHERE line ~ '(SFUNC|FINALFUNC|FUNCTION =|current_user)';
SELECT * FROM bac.schema_ddl_info('regress_ovl') WHERE kind = 'uncaptured';

-- replayed under another name, the aggregate binds to the copy's functions
CREATE SCHEMA regress_ovl_copy;
SET search_path = regress_ovl_copy;
DO $$BEGIN EXECUTE bac.schema_ddl('regress_ovl'); END$$;
RESET search_path;
INSERT INTO regress_ovl_copy.some_table VALUES (1, 'x'), (2, 'y');
SELECT regress_ovl_copy.agg_acc(t ORDER BY a) FROM regress_ovl_copy.some_table t;
SELECT t OPERATOR(regress_ovl_copy.###) t AS doubled FROM regress_ovl_copy.some_table t ORDER BY 1;
SELECT regress_ovl_copy."current_user"(),
	pg_catalog.obj_description('regress_ovl_copy."current_user"()'::pg_catalog.regprocedure, 'pg_proc');
SELECT pg_catalog.has_function_privilege('public', 'regress_ovl_copy."current_user"()', 'EXECUTE') AS public_may_call,
	pg_catalog.obj_description('pg_catalog."current_user"()'::pg_catalog.regprocedure, 'pg_proc') AS pg_catalog_comment;

-- two schemas that depend on each other both ways
SET client_min_messages = warning;
CREATE SCHEMA regress_grp_a;
CREATE SCHEMA regress_grp_b;
CREATE TABLE regress_grp_a.customer (id int PRIMARY KEY, name text);
CREATE TABLE regress_grp_b.orders (id int PRIMARY KEY,
	customer_id int REFERENCES regress_grp_a.customer);
CREATE VIEW regress_grp_a.customer_orders AS
	SELECT c.id, pg_catalog.count(o.id) AS n
	  FROM regress_grp_a.customer c LEFT JOIN regress_grp_b.orders o ON o.customer_id = c.id
	 GROUP BY c.id;
CREATE VIEW regress_grp_b.busy AS
	SELECT id FROM regress_grp_a.customer_orders WHERE n > 1;
CREATE FUNCTION regress_grp_b.touch() RETURNS trigger LANGUAGE plpgsql
	AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER touch BEFORE INSERT ON regress_grp_a.customer
	FOR EACH ROW EXECUTE FUNCTION regress_grp_b.touch();
RESET client_min_messages;
-- one order across both: b's table before a's view, a's view before b's,
-- b's function before the trigger of a that calls it
SELECT line FROM pg_catalog.regexp_split_to_table(
		bac.group_ddl(ARRAY['regress_grp_a', 'regress_grp_b']::name[]), E'\n') AS line
 WHERE line ~ '^(CREATE|ALTER TABLE|SELECT pg_catalog.set_config)' AND line !~ 'OWNER TO';
-- either schema alone gets its statements in the same relative order
SELECT bac.group_ddl(ARRAY['regress_grp_a']::name[], 'pre-data') =
	pg_catalog.replace(bac.schema_ddl('regress_grp_a', 'pre-data'),
		'-- pg_bac pre-data of schema regress_grp_a: run with search_path set to the target schema' || E'\n' ||
		'SELECT pg_catalog.set_config(''check_function_bodies'', ''false'', true);' || E'\n',
		'-- pg_bac pre-data of a group of schemas, in one dependency order' || E'\n' ||
		'SELECT pg_catalog.set_config(''check_function_bodies'', ''false'', false);' || E'\n' ||
		'SELECT pg_catalog.set_config(''search_path'', ''regress_grp_a, pg_temp'', false);' || E'\n' ||
		'SELECT pg_catalog.set_config(''search_path'', ''regress_grp_a, pg_temp'', false);' || E'\n')
	AS one_schema_same_statements;
-- the same two schemas as services of one group: the snapshot records the
-- one order, restore_group follows it, export_group writes it
SET client_min_messages = warning;
INSERT INTO regress_grp_a.customer VALUES (1, 'one');
INSERT INTO regress_grp_b.orders VALUES (10, 1), (11, 1);
SELECT bac.register_service('regress_grp_a', service_group => 'regress_grp');
SELECT bac.register_service('regress_grp_b', service_group => 'regress_grp');
SELECT snapshot_id AS grp FROM bac.snapshot(ARRAY['regress_grp_a', 'regress_grp_b']) \gset
RESET client_min_messages;
SELECT s->>'service' AS service,
	pg_catalog.jsonb_array_length(s->'pre_data_order') / 2 AS pre_items,
	pg_catalog.jsonb_array_length(s->'post_data_order') / 2 AS post_items
  FROM pg_catalog.jsonb_array_elements(
	pg_catalog.pg_read_file('pg_bac/' || :'grp' || '/manifest.json')::pg_catalog.jsonb->'services') s
 ORDER BY 1;
-- the export: each run of one service after a switch to its schema
SELECT line FROM bac.export_group(:'grp') AS line
 WHERE line ~ '^(CREATE|SELECT pg_catalog.set_config..search_path|COPY)' AND line !~ 'OWNER TO';
SELECT pg_catalog.count(*) AS lines_of_one_service FROM bac.export_group(:'grp', '{regress_grp_b}');
-- in place: the views crossing both ways come back
SET client_min_messages = warning;
SELECT count(*) FROM bac.restore_group(:'grp', keep_previous => false);
RESET client_min_messages;
SELECT * FROM regress_grp_b.busy;
SELECT * FROM regress_grp_a.customer_orders;
-- export_group: bad input
SELECT bac.export_group(NULL);
SELECT bac.export_group(:'grp', '{}');
SELECT bac.export_group(:'grp', ARRAY['regress_grp_a', NULL]::name[]);
SELECT bac.export_group(:'grp', '{regress_grp_a,regress_grp_a}');
SET client_min_messages = warning;
SELECT bac.unregister_service('regress_grp_a');
SELECT bac.unregister_service('regress_grp_b');
SELECT bac.drop_snapshot(:'grp');
RESET client_min_messages;

-- bad input
SELECT bac.group_ddl(NULL);
SELECT bac.group_ddl(ARRAY[]::name[]);
SELECT bac.group_ddl(ARRAY['regress_grp_a', NULL]::name[]);
SELECT bac.group_ddl(ARRAY['regress_grp_a', 'regress_grp_a']::name[]);
SELECT bac.group_ddl(ARRAY['regress_grp_a', 'no_such_schema']::name[]);
SELECT bac.group_ddl(ARRAY['pg_catalog']::name[]);
SELECT bac.group_ddl(ARRAY['regress_grp_a']::name[], 'data');

-- extension members in a service's schema: a warning at registration
CREATE SCHEMA regress_ext;
CREATE EXTENSION citext SCHEMA regress_ext;
SELECT bac.register_service('regress_ext_svc', 'regress_ext');
SELECT bac.unregister_service('regress_ext_svc');
-- the capture creates the extension in the target schema, never its members
SELECT pg_catalog.replace(line, CURRENT_USER, '<superuser>') AS line
  FROM pg_catalog.regexp_split_to_table(bac.schema_ddl('regress_ext'), E'\n') AS line
 WHERE line <> '';

-- foreign tables: their server (and a wrapper no extension makes) is
-- created where missing; a user mapping that existed is named if missing
SET client_min_messages = warning;
CREATE FOREIGN DATA WRAPPER regress_fdw OPTIONS (mode 'it''s');
CREATE SERVER regress_srv TYPE 'kind' VERSION '1' FOREIGN DATA WRAPPER regress_fdw
	OPTIONS (host 'h', port '5');
CREATE USER MAPPING FOR PUBLIC SERVER regress_srv OPTIONS (secret 'not captured');
CREATE SCHEMA regress_ft;
CREATE FOREIGN TABLE regress_ft.remote (a int) SERVER regress_srv OPTIONS (name 'r');
RESET client_min_messages;
SELECT line FROM pg_catalog.regexp_split_to_table(bac.schema_ddl('regress_ft', 'pre-data'), E'\n') AS line
 WHERE line ~ 'SERVER';
SELECT bac.schema_ddl('regress_ft', 'pre-data') AS pre \gset
SET client_min_messages = warning;
DROP SCHEMA regress_ft CASCADE;
DROP SERVER regress_srv CASCADE;
DROP FOREIGN DATA WRAPPER regress_fdw;
CREATE SCHEMA regress_ft;
SET search_path = regress_ft;
RESET client_min_messages;
SELECT :'pre' AS pre \gset
:pre
RESET search_path;
SELECT w.fdwname, w.fdwoptions, s.srvname, s.srvtype, s.srvversion, s.srvoptions,
	(SELECT c.relname FROM pg_catalog.pg_foreign_table ft JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid
	  WHERE ft.ftserver = s.oid) AS foreign_table
  FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
 WHERE s.srvname = 'regress_srv';

SET client_min_messages = warning;
DROP SCHEMA regress_ft CASCADE;
DROP SERVER regress_srv CASCADE;
DROP FOREIGN DATA WRAPPER regress_fdw;
DROP SCHEMA regress_ovl, regress_ovl_copy, regress_grp_a, regress_grp_b CASCADE;
DROP EXTENSION citext;
DROP SCHEMA regress_ext;
RESET client_min_messages;
