/* pg_bac--0.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_bac" to load this file. \quit

-- Every object is schema-qualified; the extension lives in schema bac,
-- which CREATE EXTENSION creates from pg_bac.control.

CREATE FUNCTION bac.version()
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'bac_version'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION bac.version() IS 'version of the loaded pg_bac library';

------------------------------------------------------------------------
-- registry: services and groups
------------------------------------------------------------------------

-- One row per service.  Rows are written only by the C functions below,
-- which check the caller's rights first and then write as the extension
-- owner (see src/registry.c); nobody else gets a privilege on the table.
CREATE TABLE bac.service (
	service			pg_catalog.name PRIMARY KEY,
	schema_name		pg_catalog.name NOT NULL UNIQUE,
	owner			pg_catalog.regrole,
	service_group	pg_catalog.name,
	registered_at	pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK (service OPERATOR(pg_catalog.<>) ''::pg_catalog.name),
	CHECK (schema_name OPERATOR(pg_catalog.<>) ''::pg_catalog.name),
	CHECK (service_group OPERATOR(pg_catalog.<>) ''::pg_catalog.name)
);
COMMENT ON TABLE bac.service IS 'pg_bac service registry: one schema per service';
SELECT pg_catalog.pg_extension_config_dump('bac.service', '');

CREATE FUNCTION bac.register_service(service pg_catalog.name,
									 schema_name pg_catalog.name DEFAULT NULL,
									 owner pg_catalog.regrole DEFAULT NULL,
									 service_group pg_catalog.name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'bac_register_service'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.register_service(pg_catalog.name, pg_catalog.name, pg_catalog.regrole, pg_catalog.name)
	IS 'register a service: create its schema if missing, give it to the owner, revoke it from PUBLIC';

CREATE FUNCTION bac.unregister_service(service pg_catalog.name)
RETURNS void
AS 'MODULE_PATHNAME', 'bac_unregister_service'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.unregister_service(pg_catalog.name)
	IS 'remove a service from the registry; its schema and snapshots are kept';

-- owner is the schema's current owner (the registry row keeps the owner
-- recorded at registration); tables counts tables and partitioned tables
-- (not their partitions), bytes is the total size of the schema's tables,
-- partitions and materialized views with indexes and TOAST (both NULL when the
-- schema no longer exists).
CREATE VIEW bac.services AS
SELECT s.service,
	   s.schema_name,
	   COALESCE(n.nspowner::pg_catalog.regrole, s.owner) AS owner,
	   s.service_group,
	   CASE WHEN n.oid IS NOT NULL THEN
	   (SELECT pg_catalog.count(*)
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) n.oid
		   AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog."char"[])
		   AND NOT c.relispartition) END AS tables,
	   CASE WHEN n.oid IS NOT NULL THEN
	   (SELECT COALESCE(pg_catalog.sum(pg_catalog.pg_total_relation_size(c.oid)), 0)::pg_catalog.int8
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) n.oid
		   AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,m}'::pg_catalog."char"[])) END AS bytes
  FROM bac.service s
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) s.schema_name;
COMMENT ON VIEW bac.services IS 'registered services with their schema, owner, group, table count and size';



------------------------------------------------------------------------
-- links: declared and discovered references between services
------------------------------------------------------------------------

-- Declared links.  Tables are kept as schema + table names, not OIDs, so
-- that a dump and restore of the database keeps them meaningful.
CREATE TABLE bac.link (
	link			pg_catalog.name PRIMARY KEY,
	from_schema		pg_catalog.name NOT NULL,
	from_table		pg_catalog.name NOT NULL,
	from_columns	pg_catalog.name[] NOT NULL,
	to_schema		pg_catalog.name NOT NULL,
	to_table		pg_catalog.name NOT NULL,
	to_columns		pg_catalog.name[] NOT NULL,
	orphans_matter	pg_catalog.bool NOT NULL DEFAULT false,
	created_at		pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK (link OPERATOR(pg_catalog.<>) ''::pg_catalog.name),
	CHECK (pg_catalog.cardinality(from_columns) OPERATOR(pg_catalog.>) 0),
	CHECK (pg_catalog.cardinality(from_columns) OPERATOR(pg_catalog.=) pg_catalog.cardinality(to_columns))
);
COMMENT ON TABLE bac.link IS 'pg_bac declared links: from_table(from_columns) refers to to_table(to_columns)';
SELECT pg_catalog.pg_extension_config_dump('bac.link', '');

CREATE FUNCTION bac.add_link(link pg_catalog.name,
							 from_table pg_catalog.regclass,
							 from_columns pg_catalog.name[],
							 to_table pg_catalog.regclass,
							 to_columns pg_catalog.name[],
							 orphans_matter pg_catalog.bool DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'bac_add_link'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.add_link(pg_catalog.name, pg_catalog.regclass, pg_catalog.name[], pg_catalog.regclass, pg_catalog.name[], pg_catalog.bool)
	IS 'declare that rows of one service refer to unique keys of another service';

CREATE FUNCTION bac.drop_link(link pg_catalog.name)
RETURNS void
AS 'MODULE_PATHNAME', 'bac_drop_link'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.drop_link(pg_catalog.name) IS 'remove a declared link';

-- Declared links, then discovered ones: real foreign keys from a table of
-- one registered service to a table of another.  from_table/to_table are
-- NULL when a declared link's table no longer exists.
CREATE VIEW bac.links AS
SELECT l.link,
	   pg_catalog.to_regclass(pg_catalog.quote_ident(l.from_schema) OPERATOR(pg_catalog.||) '.'
							  OPERATOR(pg_catalog.||) pg_catalog.quote_ident(l.from_table)) AS from_table,
	   l.from_columns,
	   pg_catalog.to_regclass(pg_catalog.quote_ident(l.to_schema) OPERATOR(pg_catalog.||) '.'
							  OPERATOR(pg_catalog.||) pg_catalog.quote_ident(l.to_table)) AS to_table,
	   l.to_columns,
	   l.orphans_matter,
	   true AS declared,
	   fs.service AS from_service,
	   ts.service AS to_service
  FROM bac.link l
  LEFT JOIN bac.service fs ON fs.schema_name OPERATOR(pg_catalog.=) l.from_schema
  LEFT JOIN bac.service ts ON ts.schema_name OPERATOR(pg_catalog.=) l.to_schema
UNION ALL
SELECT c.conname,
	   c.conrelid::pg_catalog.regclass,
	   ARRAY(SELECT a.attname
			   FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY AS k(attnum, i)
			   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.conrelid
											 AND a.attnum OPERATOR(pg_catalog.=) k.attnum
			  ORDER BY k.i),
	   c.confrelid::pg_catalog.regclass,
	   ARRAY(SELECT a.attname
			   FROM pg_catalog.unnest(c.confkey) WITH ORDINALITY AS k(attnum, i)
			   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.confrelid
											 AND a.attnum OPERATOR(pg_catalog.=) k.attnum
			  ORDER BY k.i),
	   false,
	   false,
	   fs.service,
	   ts.service
  FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_class fc ON fc.oid OPERATOR(pg_catalog.=) c.conrelid
  JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) fc.relnamespace
  JOIN bac.service fs ON fs.schema_name OPERATOR(pg_catalog.=) fn.nspname
  JOIN pg_catalog.pg_class tc ON tc.oid OPERATOR(pg_catalog.=) c.confrelid
  JOIN pg_catalog.pg_namespace tn ON tn.oid OPERATOR(pg_catalog.=) tc.relnamespace
  JOIN bac.service ts ON ts.schema_name OPERATOR(pg_catalog.=) tn.nspname
 WHERE c.contype OPERATOR(pg_catalog.=) 'f'
   AND c.conparentid OPERATOR(pg_catalog.=) 0
   AND fs.service OPERATOR(pg_catalog.<>) ts.service;
COMMENT ON VIEW bac.links IS 'declared links (declared = true) and discovered cross-service foreign keys (declared = false)';

CREATE FUNCTION bac.check_links(services pg_catalog.name[] DEFAULT NULL)
RETURNS TABLE (link pg_catalog.name, from_service pg_catalog.name,
			   to_service pg_catalog.name, broken pg_catalog.int8,
			   orphaned pg_catalog.int8, sample pg_catalog.text)
AS 'MODULE_PATHNAME', 'bac_check_links'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.check_links(pg_catalog.name[])
	IS 'count broken references and orphans of every link touching the given services (NULL = all)';



------------------------------------------------------------------------
-- ddl: schema definition capture
------------------------------------------------------------------------

CREATE FUNCTION bac.schema_ddl(schema_name pg_catalog.name,
                               section pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'bac_schema_ddl'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.schema_ddl(pg_catalog.name, pg_catalog.text) IS
'relocatable SQL definition of a schema: section pre-data, post-data, or NULL for both';

CREATE FUNCTION bac.schema_ddl_info(schema_name pg_catalog.name,
                                    OUT kind pg_catalog.text,
                                    OUT ord pg_catalog.int4,
                                    OUT name pg_catalog.text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bac_schema_ddl_info'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 20;
COMMENT ON FUNCTION bac.schema_ddl_info(pg_catalog.name) IS
'what a DDL capture of a schema found besides the scripts: data tables in load order, extensions needed, objects not captured';



------------------------------------------------------------------------
-- snapshot and archive
------------------------------------------------------------------------

CREATE FUNCTION bac.snapshot(services pg_catalog.name[] DEFAULT NULL,
                             label pg_catalog.text DEFAULT NULL,
                             workers pg_catalog.int4 DEFAULT NULL,
                             compression pg_catalog.text DEFAULT NULL)
RETURNS TABLE (snapshot_id pg_catalog.text, label pg_catalog.text,
               consistent_at pg_catalog.timestamptz, services pg_catalog.name[],
               tables pg_catalog.int4, rows pg_catalog.int8, bytes pg_catalog.int8,
               duration pg_catalog.interval)
AS 'MODULE_PATHNAME', 'bac_snapshot'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.snapshot(pg_catalog.name[], pg_catalog.text, pg_catalog.int4, pg_catalog.text)
IS 'write one consistent snapshot of the services (NULL = all registered) into the archive directory';

CREATE FUNCTION bac.snapshots()
RETURNS TABLE (snapshot_id pg_catalog.text, label pg_catalog.text,
               consistent_at pg_catalog.timestamptz, services pg_catalog.name[],
               tables pg_catalog.int4, rows pg_catalog.int8, bytes pg_catalog.int8,
               compression pg_catalog.text, workers pg_catalog.int4,
               duration pg_catalog.interval, txid_snapshot pg_catalog.text,
               wal_lsn pg_catalog.pg_lsn, in_recovery pg_catalog.bool,
               server_version pg_catalog.text, format pg_catalog.int4)
AS 'MODULE_PATHNAME', 'bac_snapshots'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.snapshots()
IS 'the snapshots in the archive directory, read from their manifests';

CREATE FUNCTION bac.verify_snapshot(snapshot_id pg_catalog.text)
RETURNS TABLE (file pg_catalog.text, ok pg_catalog.bool, detail pg_catalog.text)
AS 'MODULE_PATHNAME', 'bac_verify_snapshot'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.verify_snapshot(pg_catalog.text)
IS 'recompute the checksum of every file of a snapshot';

CREATE FUNCTION bac.drop_snapshot(snapshot_id pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'bac_drop_snapshot'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.drop_snapshot(pg_catalog.text)
IS 'delete a snapshot from the archive directory';

CREATE FUNCTION bac.prune_snapshots(keep_last pg_catalog.int4 DEFAULT NULL,
                                    older_than pg_catalog.interval DEFAULT NULL)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'bac_prune_snapshots'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.prune_snapshots(pg_catalog.int4, pg_catalog.interval)
IS 'delete the snapshots beyond the newest keep_last and/or older than older_than';

------------------------------------------------------------------------
-- restore
------------------------------------------------------------------------

CREATE FUNCTION bac.restore(snapshot_id pg_catalog.text,
                            service pg_catalog.name,
                            into_schema pg_catalog.name DEFAULT NULL,
                            keep_previous pg_catalog.bool DEFAULT true,
                            dry_run pg_catalog.bool DEFAULT false,
                            on_broken_links pg_catalog.text DEFAULT 'warn',
                            missing_roles pg_catalog.text DEFAULT 'error')
RETURNS TABLE (link pg_catalog.name, direction pg_catalog.text,
               broken pg_catalog.int8, orphaned pg_catalog.int8,
               detail pg_catalog.text)
AS 'MODULE_PATHNAME', 'bac_restore'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.restore(pg_catalog.text, pg_catalog.name, pg_catalog.name,
                                pg_catalog.bool, pg_catalog.bool, pg_catalog.text,
                                pg_catalog.text)
IS 'restore one service of a snapshot in place or into another schema, in the current transaction, and report broken links and discarded rows';

CREATE FUNCTION bac.restore_group(snapshot_id pg_catalog.text,
                                  services pg_catalog.name[] DEFAULT NULL,
                                  keep_previous pg_catalog.bool DEFAULT true,
                                  dry_run pg_catalog.bool DEFAULT false,
                                  on_broken_links pg_catalog.text DEFAULT 'warn',
                                  missing_roles pg_catalog.text DEFAULT 'error')
RETURNS TABLE (link pg_catalog.name, direction pg_catalog.text,
               broken pg_catalog.int8, orphaned pg_catalog.int8,
               detail pg_catalog.text)
AS 'MODULE_PATHNAME', 'bac_restore_group'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION bac.restore_group(pg_catalog.text, pg_catalog.name[],
                                      pg_catalog.bool, pg_catalog.bool,
                                      pg_catalog.text, pg_catalog.text)
IS 'restore several services of a snapshot (default: all of it) in place to the same instant, in the current transaction, and report broken links and discarded rows';



------------------------------------------------------------------------
-- export
------------------------------------------------------------------------

-- The lines of a plain SQL script; "psql -XAt" prints them back as the
-- script.  Called in the select list, the rows stream to the client.
CREATE FUNCTION bac.export(snapshot_id pg_catalog.text,
                           service pg_catalog.name,
                           as_schema pg_catalog.name DEFAULT NULL)
RETURNS SETOF pg_catalog.text
AS 'MODULE_PATHNAME', 'bac_export'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION bac.export(pg_catalog.text, pg_catalog.name, pg_catalog.name)
IS 'one service of a snapshot as a plain SQL script (schema, pre-data, COPY data, post-data) that psql loads into an empty database';


------------------------------------------------------------------------
-- privileges: nothing of pg_bac is PUBLIC
------------------------------------------------------------------------

REVOKE ALL ON SCHEMA bac FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA bac FROM PUBLIC;
