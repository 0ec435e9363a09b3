--
-- 11_links: declare and drop links, the bac.links view with discovered
-- foreign keys, and every validation error.
--
SELECT bac.register_service('customers', 'crm');
SELECT bac.register_service('orders', 'shop');
SELECT bac.register_service('Odd Service', 'Odd "Schema"');
CREATE TABLE crm.customer (id int PRIMARY KEY, region text, code text,
						   email text, tag int);
CREATE UNIQUE INDEX customer_region_code ON crm.customer (region, code);
CREATE UNIQUE INDEX customer_email_partial ON crm.customer (email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX customer_tag_expr ON crm.customer ((tag + 0));
CREATE TABLE shop.orders (id int PRIMARY KEY, customer_id int, cust_big bigint,
						  cust_text text, region text, code text, email text,
						  tag int);
CREATE TABLE shop.other (id int PRIMARY KEY);
CREATE VIEW shop.orders_view AS SELECT * FROM shop.orders;
CREATE TABLE "Odd ""Schema"""."Select" ("User Id" int PRIMARY KEY, "Ünï" text UNIQUE);
CREATE TABLE public.unregistered (id int PRIMARY KEY);

-- a simple link, a two-column link, a cross-type link (int8 -> int4 has a
-- btree equality operator, as for a foreign key), a link with quoted names
SELECT bac.add_link('order_customer', 'shop.orders', '{customer_id}',
					'crm.customer', '{id}', orphans_matter => true);
SELECT bac.add_link('order_region_code', 'shop.orders', '{region,code}',
					'crm.customer', '{region,code}');
SELECT bac.add_link('order_cust_big', 'shop.orders', '{cust_big}',
					'crm.customer', '{id}');
-- the column order of a multi-column key does not matter
SELECT bac.add_link('order_code_region', 'shop.orders', '{code,region}',
					'crm.customer', '{code,region}');
SELECT bac.add_link('Odd "Link"', '"Odd ""Schema"""."Select"', '{"User Id"}',
					'crm.customer', '{id}');
SELECT bac.add_link('select', 'shop.orders', '{customer_id}',
					'"Odd ""Schema"""."Select"', '{"User Id"}');

-- a real foreign key between two services is discovered
ALTER TABLE shop.other ADD CONSTRAINT other_customer_fk
	FOREIGN KEY (id) REFERENCES crm.customer (id);
-- one inside a service is not a link
ALTER TABLE shop.orders ADD CONSTRAINT orders_other_fk
	FOREIGN KEY (customer_id) REFERENCES shop.other (id);
-- nor one to a schema that is not a service
ALTER TABLE shop.orders ADD CONSTRAINT orders_unregistered_fk
	FOREIGN KEY (tag) REFERENCES public.unregistered (id);

SELECT link, from_table, from_columns, to_table, to_columns, orphans_matter,
	   declared, from_service, to_service
  FROM bac.links ORDER BY declared DESC, link COLLATE "C";

-- the stored form: schema and table names, not OIDs
SELECT link, from_schema, from_table, from_columns, to_schema, to_table,
	   to_columns, orphans_matter
  FROM bac.link ORDER BY link COLLATE "C";

--
-- bad input: each is an error and changes nothing
--
CREATE TEMP TABLE links_before AS SELECT * FROM bac.link;
-- duplicate name
SELECT bac.add_link('order_customer', 'shop.orders', '{customer_id}', 'crm.customer', '{id}');
-- a link inside one service
SELECT bac.add_link('inside', 'shop.orders', '{customer_id}', 'shop.other', '{id}');
-- a table that is not in a registered service
SELECT bac.add_link('x', 'public.unregistered', '{id}', 'crm.customer', '{id}');
SELECT bac.add_link('x', 'shop.orders', '{tag}', 'public.unregistered', '{id}');
-- a table that does not exist
SELECT bac.add_link('x', 'shop.no_such_table', '{id}', 'crm.customer', '{id}');
SELECT bac.add_link('x', 'shop.orders', '{customer_id}', 999999, '{id}');
-- not a table
SELECT bac.add_link('x', 'shop.orders_view', '{customer_id}', 'crm.customer', '{id}');
-- referenced columns not unique: no index, a partial index, an expression index
SELECT bac.add_link('x', 'shop.orders', '{region}', 'crm.customer', '{region}');
SELECT bac.add_link('x', 'shop.orders', '{email}', 'crm.customer', '{email}');
SELECT bac.add_link('x', 'shop.orders', '{tag}', 'crm.customer', '{tag}');
-- mismatched column counts and types
SELECT bac.add_link('x', 'shop.orders', '{region,code}', 'crm.customer', '{id}');
SELECT bac.add_link('x', 'shop.orders', '{cust_text}', 'crm.customer', '{id}');
-- missing, system, duplicate columns; empty, NULL-containing, 2-D arrays
SELECT bac.add_link('x', 'shop.orders', '{no_such_column}', 'crm.customer', '{id}');
SELECT bac.add_link('x', 'shop.orders', '{customer_id}', 'crm.customer', '{ID}');
SELECT bac.add_link('x', 'shop.orders', '{ctid}', 'crm.customer', '{id}');
SELECT bac.add_link('x', 'shop.orders', '{region,region}', 'crm.customer', '{region,code}');
SELECT bac.add_link('x', 'shop.orders', '{}', 'crm.customer', '{}');
SELECT bac.add_link('x', 'shop.orders', ARRAY[NULL]::name[], 'crm.customer', '{id}');
SELECT bac.add_link('x', 'shop.orders', '{{customer_id}}', 'crm.customer', '{{id}}');
-- NULL and empty arguments
SELECT bac.add_link(NULL, 'shop.orders', '{customer_id}', 'crm.customer', '{id}');
SELECT bac.add_link('x', NULL, '{customer_id}', 'crm.customer', '{id}');
SELECT bac.add_link('x', 'shop.orders', NULL, 'crm.customer', '{id}');
SELECT bac.add_link('x', 'shop.orders', '{customer_id}', NULL, '{id}');
SELECT bac.add_link('x', 'shop.orders', '{customer_id}', 'crm.customer', NULL);
SELECT bac.add_link('x', 'shop.orders', '{customer_id}', 'crm.customer', '{id}', NULL);
SELECT bac.add_link('', 'shop.orders', '{customer_id}', 'crm.customer', '{id}');
-- drop_link: unknown, NULL
SELECT bac.drop_link('no_such_link');
SELECT bac.drop_link(NULL);
-- a service with declared links cannot be unregistered
SELECT bac.unregister_service('customers');
SELECT pg_catalog.count(*) AS changed_rows
  FROM (SELECT * FROM bac.link EXCEPT SELECT * FROM links_before
		UNION ALL
		SELECT * FROM links_before EXCEPT SELECT * FROM bac.link) d;
SELECT pg_catalog.count(*) AS services FROM bac.service;
DROP TABLE links_before;

--
-- privileges: a role acts only on links between services it owns
--
CREATE ROLE regress_link_owner;
GRANT USAGE ON SCHEMA bac TO regress_link_owner;
GRANT EXECUTE ON FUNCTION
	bac.add_link(name, regclass, name[], regclass, name[], boolean),
	bac.drop_link(name) TO regress_link_owner;
ALTER SCHEMA shop OWNER TO regress_link_owner;
GRANT USAGE ON SCHEMA crm TO regress_link_owner;
SET ROLE regress_link_owner;
-- owns shop but not crm
SELECT bac.add_link('x', 'shop.orders', '{cust_big}', 'crm.customer', '{id}');
SELECT bac.drop_link('order_customer');
RESET ROLE;
ALTER SCHEMA crm OWNER TO regress_link_owner;
SET ROLE regress_link_owner;
-- owns both
SELECT bac.add_link('by_owner', 'shop.orders', '{cust_big}', 'crm.customer', '{id}');
SELECT bac.drop_link('by_owner');
-- still cannot write the table directly
DELETE FROM bac.link;
RESET ROLE;
ALTER SCHEMA crm OWNER TO CURRENT_USER;
ALTER SCHEMA shop OWNER TO CURRENT_USER;
REVOKE USAGE ON SCHEMA crm FROM regress_link_owner;
REVOKE ALL ON SCHEMA bac FROM regress_link_owner;
REVOKE ALL ON FUNCTION bac.add_link(name, regclass, name[], regclass, name[], boolean),
	bac.drop_link(name) FROM regress_link_owner;
DROP ROLE regress_link_owner;

-- a renamed table: the declared link shows a NULL table until fixed
ALTER TABLE crm.customer RENAME TO client;
SELECT link, from_table, to_table FROM bac.links
 WHERE link IN ('order_customer', 'other_customer_fk') ORDER BY link;
ALTER TABLE crm.client RENAME TO customer;

-- dropping links
SELECT bac.drop_link('order_customer');
SELECT bac.drop_link('order_region_code');
SELECT bac.drop_link('order_cust_big');
SELECT bac.drop_link('order_code_region');
SELECT bac.drop_link('Odd "Link"');
SELECT bac.drop_link('select');
SELECT link, declared FROM bac.links;
ALTER TABLE shop.other DROP CONSTRAINT other_customer_fk;
SELECT pg_catalog.count(*) AS links FROM bac.links;

-- clean up
SELECT bac.unregister_service('customers');
SELECT bac.unregister_service('orders');
SELECT bac.unregister_service('Odd Service');
DROP SCHEMA crm, shop, "Odd ""Schema""" CASCADE;
DROP TABLE public.unregistered;
