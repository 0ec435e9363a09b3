--
-- 10_registry: register and unregister services, schema ownership and
-- isolation between services' roles, bad input, names that need quoting.
--
SET client_min_messages = warning;
CREATE ROLE regress_svc_a;
CREATE ROLE regress_svc_b;
CREATE ROLE regress_svc_admin;
RESET client_min_messages;

-- defaults: the schema is named like the service and created
SELECT bac.register_service('inventory');
-- explicit schema, owner and group
SELECT bac.register_service('orders', 'orders_data', 'regress_svc_a', 'shop');
SELECT bac.register_service(service => 'billing', owner => 'regress_svc_b',
							service_group => 'shop');
SELECT service, schema_name, owner, service_group, tables, bytes
  FROM bac.services ORDER BY service;

-- the registry row keeps what was registered
SELECT service, schema_name, owner, service_group,
	   registered_at <= pg_catalog.now() AS registered_at_set
  FROM bac.service ORDER BY service;

-- schemas exist, belong to the owner, and PUBLIC has no privilege on them
SELECT n.nspname, n.nspowner::regrole,
	   pg_catalog.has_schema_privilege('public', n.oid, 'USAGE') AS public_usage,
	   pg_catalog.has_schema_privilege('public', n.oid, 'CREATE') AS public_create
  FROM pg_catalog.pg_namespace n
 WHERE n.nspname IN ('inventory', 'orders_data', 'billing')
 ORDER BY 1;

-- an existing schema with a table in it, open to PUBLIC: registering it
-- closes it and gives it to the owner
CREATE SCHEMA legacy;
GRANT USAGE ON SCHEMA legacy TO PUBLIC;
CREATE TABLE legacy.t (id int);
INSERT INTO legacy.t VALUES (1);
SELECT pg_catalog.has_schema_privilege('public', 'legacy', 'USAGE') AS public_usage_before;
SELECT bac.register_service('legacy', owner => 'regress_svc_b');
SELECT pg_catalog.has_schema_privilege('public', 'legacy', 'USAGE') AS public_usage_after,
	   (SELECT nspowner::regrole FROM pg_catalog.pg_namespace WHERE nspname = 'legacy') AS owner;
SELECT service, tables, bytes > 0 AS has_bytes FROM bac.services WHERE service = 'legacy';
SELECT bac.unregister_service('legacy');
DROP SCHEMA legacy CASCADE;

-- one service's role cannot read another service's tables
CREATE TABLE orders_data.orders (id int PRIMARY KEY);
INSERT INTO orders_data.orders VALUES (1);
ALTER TABLE orders_data.orders OWNER TO regress_svc_a;
CREATE TABLE billing.invoice (id int PRIMARY KEY);
INSERT INTO billing.invoice VALUES (7);
ALTER TABLE billing.invoice OWNER TO regress_svc_b;
-- even a table-level grant to PUBLIC does not open it: the schema is closed
GRANT SELECT ON billing.invoice TO PUBLIC;
SET ROLE regress_svc_a;
SELECT id FROM orders_data.orders;
SELECT id FROM billing.invoice;
RESET ROLE;
SET ROLE regress_svc_b;
SELECT id FROM billing.invoice;
SELECT id FROM orders_data.orders;
RESET ROLE;

--
-- privileges: nothing is callable without a grant; with EXECUTE, a role
-- acts only on services whose schema it owns, and never writes the
-- registry tables directly
--
SET ROLE regress_svc_a;
SELECT bac.register_service('nope');
RESET ROLE;
GRANT USAGE ON SCHEMA bac TO regress_svc_a;
GRANT EXECUTE ON FUNCTION bac.register_service(name, name, regrole, name),
	  bac.unregister_service(name) TO regress_svc_a;
GRANT SELECT ON bac.services TO regress_svc_a;
CREATE SCHEMA a_own AUTHORIZATION regress_svc_a;
CREATE SCHEMA b_own AUTHORIZATION regress_svc_b;
SET ROLE regress_svc_a;
-- someone else's schema, someone else's service
SELECT bac.register_service('b_own');
SELECT bac.unregister_service('billing');
-- cannot hand the schema to a role it is not a member of
SELECT bac.register_service('a_own', owner => 'regress_svc_b');
-- its own schema: fine
SELECT bac.register_service('a_own');
SELECT service, schema_name, owner FROM bac.services WHERE service = 'a_own';
-- the registry tables are not writable (nor readable) directly
INSERT INTO bac.service (service, schema_name) VALUES ('forged', 'b_own');
UPDATE bac.service SET owner = 'regress_svc_a' WHERE service = 'billing';
DELETE FROM bac.service;
SELECT bac.unregister_service('a_own');
RESET ROLE;
SELECT pg_catalog.count(*) AS a_own_rows FROM bac.service WHERE service IN ('a_own', 'forged');
REVOKE ALL ON SCHEMA bac FROM regress_svc_a;
REVOKE ALL ON FUNCTION bac.register_service(name, name, regrole, name),
	   bac.unregister_service(name) FROM regress_svc_a;
REVOKE ALL ON bac.services FROM regress_svc_a;
DROP SCHEMA a_own, b_own;

--
-- bad input: each is an error and changes nothing
--
CREATE TEMP TABLE registry_before AS SELECT * FROM bac.service;
-- duplicate registration
SELECT bac.register_service('orders', 'other_schema');
-- schema already belongs to another service
SELECT bac.register_service('orders2', 'orders_data');
-- unknown service
SELECT bac.unregister_service('no_such_service');
-- NULL and empty arguments
SELECT bac.register_service(NULL);
SELECT bac.register_service(NULL, 'x');
SELECT bac.unregister_service(NULL);
SELECT bac.register_service('');
SELECT bac.register_service('x', '');
SELECT bac.register_service('x', service_group => '');
-- reserved schemas
SELECT bac.register_service('x', 'pg_catalog');
SELECT bac.register_service('x', 'pg_mine');
SELECT bac.register_service('x', 'information_schema');
SELECT bac.register_service('x', 'bac');
-- no such role
SELECT bac.register_service('x', owner => 'regress_no_such_role');
SELECT bac.register_service('x', owner => '999999');
-- nothing changed, no schema x was created
SELECT pg_catalog.count(*) AS changed_rows
  FROM (SELECT * FROM bac.service EXCEPT SELECT * FROM registry_before
		UNION ALL
		SELECT * FROM registry_before EXCEPT SELECT * FROM bac.service) d;
SELECT pg_catalog.count(*) AS schema_x FROM pg_catalog.pg_namespace
 WHERE nspname IN ('x', 'other_schema');
DROP TABLE registry_before;

--
-- names that need quoting
--
SELECT bac.register_service('Mixed Case', 'Mixed Case');
SELECT bac.register_service('select', 'select');
SELECT bac.register_service('it''s "quoted"', 'it''s "quoted"', 'regress_svc_a');
SELECT bac.register_service('kunde_ü€', 'schéma ünïcode');
SELECT bac.register_service('semi;colon', 'semi; DROP SCHEMA orders_data; --');
SELECT service, schema_name, owner FROM bac.services
 WHERE service NOT IN ('inventory', 'orders', 'billing') ORDER BY service COLLATE "C";
SELECT nspname, nspowner::regrole,
	   pg_catalog.has_schema_privilege('public', oid, 'USAGE') AS public_usage
  FROM pg_catalog.pg_namespace
 WHERE nspname IN ('Mixed Case', 'select', 'it''s "quoted"', 'schéma ünïcode',
				   'semi; DROP SCHEMA orders_data; --')
 ORDER BY nspname COLLATE "C";
CREATE TABLE "Mixed Case"."My Table" (id int);
SELECT service, tables FROM bac.services WHERE service = 'Mixed Case';

-- unregistering keeps the schema and its tables
SELECT bac.unregister_service('Mixed Case');
SELECT bac.unregister_service('select');
SELECT bac.unregister_service('it''s "quoted"');
SELECT bac.unregister_service('kunde_ü€');
SELECT bac.unregister_service('semi;colon');
SELECT pg_catalog.count(*) AS kept_schemas FROM pg_catalog.pg_namespace
 WHERE nspname IN ('Mixed Case', 'select', 'it''s "quoted"', 'schéma ünïcode',
				   'semi; DROP SCHEMA orders_data; --', 'orders_data');
SELECT id FROM "Mixed Case"."My Table";
DROP SCHEMA "Mixed Case" CASCADE;
DROP SCHEMA "select", "it's ""quoted""", "schéma ünïcode", "semi; DROP SCHEMA orders_data; --";

-- a service whose schema was dropped can still be unregistered (by a superuser)
DROP SCHEMA inventory;
SELECT service, schema_name, owner, tables FROM bac.services WHERE service = 'inventory';
SELECT bac.unregister_service('inventory');

-- clean up
SELECT bac.unregister_service('orders');
SELECT bac.unregister_service('billing');
SELECT service FROM bac.services;
DROP SCHEMA orders_data, billing CASCADE;
DROP ROLE regress_svc_a, regress_svc_b, regress_svc_admin;
