--
-- 00_install: CREATE EXTENSION with hostile objects planted in public.
-- Every later test relies on the extension created here.
--
SET client_min_messages = warning;

-- Hostile objects a search_path hijack would pick up: an operator on
-- text, functions shadowing built-ins, and a table named like a catalog.
CREATE TABLE public.hostile_log (what text);
CREATE FUNCTION public.quote_ident(text) RETURNS text
	LANGUAGE sql AS $$ INSERT INTO public.hostile_log VALUES ('quote_ident'); SELECT 'hijacked'::text $$;
CREATE FUNCTION public.format(text, VARIADIC text[]) RETURNS text
	LANGUAGE sql AS $$ INSERT INTO public.hostile_log VALUES ('format'); SELECT 'hijacked'::text $$;
CREATE FUNCTION public.hostile_texteq(text, text) RETURNS boolean
	LANGUAGE sql AS $$ INSERT INTO public.hostile_log VALUES ('='); SELECT true $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, PROCEDURE = public.hostile_texteq);

CREATE EXTENSION pg_bac;
RESET client_min_messages;

SELECT extname, extversion, nspname
  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'pg_bac';

-- the library loads; the setting exists, is reserved, and has its default
SELECT bac.version();
SHOW bac.archive_directory;
SET bac.no_such_setting = 1;

-- the schema is not usable by PUBLIC
SELECT pg_catalog.has_schema_privilege('public', 'bac', 'USAGE') AS public_usage;

-- nothing planted in public was called
SELECT * FROM public.hostile_log;

--
-- registry and links (src/registry.c, src/links.c) with the hostile
-- objects in place, more of them shadowing what pg_bac's own queries use,
-- and public searched before pg_catalog
--
CREATE FUNCTION public.hostile_nameeq(name, name) RETURNS boolean
	LANGUAGE sql AS $$ INSERT INTO public.hostile_log VALUES ('name ='); SELECT true $$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, PROCEDURE = public.hostile_nameeq);
CREATE FUNCTION public.hostile_int4eq(int4, int4) RETURNS boolean
	LANGUAGE sql AS $$ INSERT INTO public.hostile_log VALUES ('int4 ='); SELECT true $$;
CREATE OPERATOR public.= (LEFTARG = int4, RIGHTARG = int4, PROCEDURE = public.hostile_int4eq);
CREATE FUNCTION public.hostile_sfunc(text, text, text) RETURNS text
	LANGUAGE sql AS $$ INSERT INTO public.hostile_log VALUES ('string_agg'); SELECT 'hijacked'::text $$;
CREATE AGGREGATE public.string_agg(text, text) (SFUNC = public.hostile_sfunc, STYPE = text);
CREATE FUNCTION public.to_regclass(text) RETURNS regclass
	LANGUAGE sql AS $$ INSERT INTO public.hostile_log VALUES ('to_regclass'); SELECT NULL::regclass $$;
CREATE FUNCTION public.pg_has_role(oid, oid, text) RETURNS boolean
	LANGUAGE sql AS $$ INSERT INTO public.hostile_log VALUES ('pg_has_role'); SELECT true $$;
CREATE FUNCTION public.count(int4) RETURNS int8
	LANGUAGE sql AS $$ INSERT INTO public.hostile_log VALUES ('count'); SELECT 0::int8 $$;
SET search_path = public, pg_catalog;
SELECT bac.register_service('hostile_a');
SELECT bac.register_service('hostile_b', 'hostile b', NULL, 'grp');
CREATE TABLE hostile_a.t (id int PRIMARY KEY);
CREATE TABLE "hostile b".r (id int PRIMARY KEY, a_id int);
INSERT INTO hostile_a.t VALUES (1), (2);
INSERT INTO "hostile b".r VALUES (1, 1), (2, 3), (3, NULL);
ALTER TABLE "hostile b".r ADD CONSTRAINT r_fk FOREIGN KEY (a_id) REFERENCES hostile_a.t NOT VALID;
SELECT bac.add_link('hostile link', '"hostile b".r', '{a_id}', 'hostile_a.t', '{id}', true);
SELECT service, schema_name, service_group, tables FROM bac.services ORDER BY service;
SELECT link, from_table, to_table, declared FROM bac.links ORDER BY link;
SELECT * FROM bac.check_links();
SELECT * FROM bac.check_links('{hostile_a}');
SELECT bac.register_service('hostile_a');
SELECT bac.unregister_service('hostile_a');
SELECT bac.drop_link('hostile link');
SELECT bac.unregister_service('hostile_a');
SELECT bac.unregister_service('hostile_b');
DROP SCHEMA hostile_a, "hostile b" CASCADE;
RESET search_path;
-- nothing planted in public was called by pg_bac
SELECT * FROM public.hostile_log;
-- while the traps were armed: a plain query does fall into one
SET search_path = public, pg_catalog;
SELECT 'a'::name = 'b'::name AS hijacked;
RESET search_path;
SELECT * FROM public.hostile_log;
DELETE FROM public.hostile_log;
DROP FUNCTION public.hostile_nameeq(name, name) CASCADE;
DROP FUNCTION public.hostile_int4eq(int4, int4) CASCADE;
DROP AGGREGATE public.string_agg(text, text);
DROP FUNCTION public.hostile_sfunc(text, text, text), public.to_regclass(text),
	public.pg_has_role(oid, oid, text), public.count(int4);
