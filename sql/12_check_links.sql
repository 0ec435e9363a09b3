--
-- 12_check_links: exact broken/orphan counts on a fixture where they are
-- known by construction, NULL references, multi-column and cross-type
-- keys, collations, partitions, discovered foreign keys, filtering by
-- service, links that can no longer be checked, privileges.
--
SELECT bac.register_service('customers', 'crm');
SELECT bac.register_service('orders', 'shop');
SELECT bac.register_service('billing', 'Billing Dept');

-- customers 1 .. 20
CREATE TABLE crm.customer (id int PRIMARY KEY, region text NOT NULL,
						   code text NOT NULL, UNIQUE (region, code));
INSERT INTO crm.customer SELECT g, CASE WHEN g <= 10 THEN 'eu' ELSE 'us' END,
	   'c' || g FROM pg_catalog.generate_series(1, 20) g;

-- orders, by construction:
--   ids 1 .. 30    customer_id = (id % 15) + 1: every customer 1 .. 15
--   ids 31 .. 35   customer_id NULL: not broken
--   ids 36 .. 39   customer_id 101, 101, 102, 103: 4 broken rows, 3 keys
--  => broken 4, orphans: customers 16 .. 20 = 5
-- (region, code): ids 1 .. 30 match their customer, ids 31 .. 35 have
-- ('eu', NULL) (not broken), ids 36 .. 39 ('eu','c11'), ('us','c1'),
-- ('xx','c1'), ('us','c20'): 3 broken (c11 is us, c1 is eu, xx nowhere)
-- and customers referenced by region/code: 1 .. 15 and 20 -> 4 orphans.
CREATE TABLE shop.orders (id int PRIMARY KEY, customer_id int,
						  region text, code text COLLATE "C");
INSERT INTO shop.orders
SELECT g, (g % 15) + 1, CASE WHEN (g % 15) + 1 <= 10 THEN 'eu' ELSE 'us' END,
	   'c' || ((g % 15) + 1)
  FROM pg_catalog.generate_series(1, 30) g;
INSERT INTO shop.orders SELECT g, NULL, 'eu', NULL FROM pg_catalog.generate_series(31, 35) g;
INSERT INTO shop.orders VALUES (36, 101, 'eu', 'c11'), (37, 101, 'us', 'c1'),
	(38, 102, 'xx', 'c1'), (39, 103, 'us', 'c20');

SELECT bac.add_link('order_customer', 'shop.orders', '{customer_id}',
					'crm.customer', '{id}', orphans_matter => true);
SELECT bac.add_link('order_region_code', 'shop.orders', '{region,code}',
					'crm.customer', '{region,code}', orphans_matter => true);
-- orphans do not matter here: orphaned is NULL
SELECT bac.add_link('order_customer_no_orphans', 'shop.orders', '{customer_id}',
					'crm.customer', '{id}');

-- billing: a partitioned table with a bigint reference to an int key and
-- text keys needing quotes, and a real foreign key added NOT VALID over
-- rows that break it
CREATE TABLE "Billing Dept"."Invoice" (id int, "Customer Id" bigint, note text)
	PARTITION BY RANGE (id);
CREATE TABLE "Billing Dept".invoice_1 PARTITION OF "Billing Dept"."Invoice"
	FOR VALUES FROM (0) TO (100);
CREATE TABLE "Billing Dept".invoice_2 PARTITION OF "Billing Dept"."Invoice"
	FOR VALUES FROM (100) TO (200);
-- 3 broken (500, 501, 501), one NULL, the rest fine; customers referenced: 1, 2, 3
INSERT INTO "Billing Dept"."Invoice" VALUES (1, 1, 'ok'), (2, 2, 'ok'), (150, 3, 'ok'),
	(151, 500, 'broken'), (152, 501, 'broken'), (3, 501, 'broken'), (4, NULL, 'null');
SELECT bac.add_link('Invoice "customer"', '"Billing Dept"."Invoice"', '{Customer Id}',
					'crm.customer', '{id}');
CREATE TABLE "Billing Dept".payment (id int PRIMARY KEY, customer_id int);
INSERT INTO "Billing Dept".payment VALUES (1, 1), (2, 999), (3, 998);
ALTER TABLE "Billing Dept".payment ADD CONSTRAINT payment_customer_fk
	FOREIGN KEY (customer_id) REFERENCES crm.customer (id) NOT VALID;
-- text keys: the sample shows them as they are
CREATE TABLE crm.tag (name text PRIMARY KEY);
INSERT INTO crm.tag VALUES ('plain'), ('it''s "odd"');
CREATE TABLE shop.order_tag (order_id int, tag text);
INSERT INTO shop.order_tag VALUES (1, 'plain'), (2, 'missing, with comma'), (3, 'Ünïcode ✓');
SELECT bac.add_link('order_tag', 'shop.order_tag', '{tag}', 'crm.tag', '{name}', true);

-- partitions are not counted as tables of their own
SELECT service, tables, bytes > 0 AS has_bytes FROM bac.services ORDER BY service;

SELECT * FROM bac.check_links();

-- only the links touching the named services
SELECT link, from_service, to_service FROM bac.check_links('{billing}');
SELECT link, from_service, to_service FROM bac.check_links(ARRAY['orders']::name[]);
SELECT pg_catalog.count(*) FROM bac.check_links('{customers}');
SELECT pg_catalog.count(*) FROM bac.check_links('{}');

-- the counts follow the data, and the caller's own uncommitted changes:
-- customer 15 gone breaks orders 14 and 29, the broken ones are mended,
-- customers 16 and 17 gone leave 18 .. 20 as orphans
BEGIN;
DELETE FROM crm.customer WHERE id IN (15, 16, 17);
UPDATE shop.orders SET customer_id = NULL WHERE customer_id IN (101, 102, 103);
SELECT link, broken, orphaned, sample FROM bac.check_links('{orders}')
 WHERE link = 'order_customer';
ROLLBACK;
SELECT link, broken, orphaned FROM bac.check_links('{orders}')
 WHERE link = 'order_customer';

-- bad input
SELECT * FROM bac.check_links('{no_such_service}');
SELECT * FROM bac.check_links(ARRAY['orders', NULL]::name[]);
SELECT * FROM bac.check_links('{{orders}}');

-- a link that can no longer be checked: a warning, NULL counts, the
-- reason in sample; the other links are still checked
ALTER TABLE shop.order_tag RENAME TO order_tags;
ALTER TABLE shop.orders ALTER COLUMN customer_id TYPE text;
SELECT * FROM bac.check_links('{orders}');
ALTER TABLE shop.orders ALTER COLUMN customer_id TYPE int USING customer_id::int;
ALTER TABLE shop.order_tags RENAME TO order_tag;

--
-- privileges: a role granted EXECUTE checks only its own services, and
-- reads the other side of a link only with SELECT privileges
--
CREATE ROLE regress_checker;
GRANT USAGE ON SCHEMA bac TO regress_checker;
GRANT EXECUTE ON FUNCTION bac.check_links(name[]) TO regress_checker;
ALTER SCHEMA "Billing Dept" OWNER TO regress_checker;
ALTER TABLE "Billing Dept"."Invoice" OWNER TO regress_checker;
ALTER TABLE "Billing Dept".payment OWNER TO regress_checker;
SET ROLE regress_checker;
SELECT * FROM bac.check_links('{orders}');
-- its own service, but the referenced side is closed to it
SELECT * FROM bac.check_links();
RESET ROLE;
GRANT USAGE ON SCHEMA crm TO regress_checker;
GRANT SELECT ON crm.customer TO regress_checker;
SET ROLE regress_checker;
SELECT link, from_service, to_service, broken, orphaned FROM bac.check_links();
SELECT link, broken FROM bac.check_links('{billing}');
RESET ROLE;
REVOKE ALL ON SCHEMA bac FROM regress_checker;
REVOKE ALL ON FUNCTION bac.check_links(name[]) FROM regress_checker;
REVOKE ALL ON SCHEMA crm FROM regress_checker;
REVOKE ALL ON crm.customer FROM regress_checker;
ALTER SCHEMA "Billing Dept" OWNER TO CURRENT_USER;
DROP OWNED BY regress_checker;
DROP ROLE regress_checker;

-- clean up
SELECT bac.drop_link(link) FROM bac.links WHERE declared;
SELECT bac.unregister_service(service) FROM bac.services;
DROP SCHEMA crm, shop, "Billing Dept" CASCADE;
