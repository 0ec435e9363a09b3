--
-- 90_oldextversions: install each released version and update step by
-- step to the current one; list what each version holds.  Runs last: it
-- drops the extension the earlier files used.
--
SET client_min_messages = warning;
DROP EXTENSION pg_bac CASCADE;
RESET client_min_messages;

-- the objects of the extension, one line each, in a stable order
CREATE FUNCTION pg_temp.bac_objects() RETURNS SETOF text
	LANGUAGE sql AS $$
	SELECT pg_catalog.pg_describe_object(d.classid, d.objid, 0)
	  FROM pg_catalog.pg_depend d
	  JOIN pg_catalog.pg_extension e ON d.refobjid = e.oid
	 WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.deptype = 'e' AND e.extname = 'pg_bac'
	 ORDER BY 1 $$;

CREATE EXTENSION pg_bac WITH VERSION '0.1';
SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_bac';
SELECT * FROM pg_temp.bac_objects();

ALTER EXTENSION pg_bac UPDATE TO '0.2';
SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_bac';
SELECT * FROM pg_temp.bac_objects();

-- a fresh install of the default version holds the same objects
DROP EXTENSION pg_bac;
CREATE EXTENSION pg_bac;
SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_bac';
SELECT pg_catalog.count(*) FROM pg_temp.bac_objects();
DROP EXTENSION pg_bac;
