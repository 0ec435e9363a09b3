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
