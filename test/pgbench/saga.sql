-- test/pgbench/saga.sql: one order saga across the four services, in one
-- transaction: one time in five a new customer signs up first; the order
-- and its two lines are placed (the second line often for one of the
-- newest products), stock is decremented, the customer's counters are
-- updated and the shipment is created.
--
-- Needs -D customers=N -D products=N (the fixture's initial counts); run
-- as role saga (member of every service role).
\set r random(1, 100)
\set q1 random(1, 3)
\set q2 random(1, 2)
\set p1 random(1, :products)
BEGIN;
\if :r <= 20
INSERT INTO customer.customer (name, email, address)
  VALUES ('New customer ' || :client_id || '-' || :r, 'new' || :client_id || '@example.com',
          '{"city": "Lisbon", "zip": "01100", "country": "PT"}')
  RETURNING customer_id AS cid \gset
\else
\set cid random(1, :customers)
\endif
\if :r <= 40
\set k random(0, 9)
SELECT product_id AS p2 FROM product.product ORDER BY product_id DESC LIMIT 1 OFFSET :k \gset
\else
\set p2 random(1, :products)
\endif
SELECT price AS price1 FROM product.product WHERE product_id = :p1 \gset
SELECT price AS price2 FROM product.product WHERE product_id = :p2 \gset
-- lock both stock rows in key order: sagas never deadlock on each other
SELECT product_id FROM product.stock WHERE product_id IN (:p1, :p2) ORDER BY product_id FOR UPDATE;
UPDATE product.stock SET quantity = quantity - :q1, updated_at = now() WHERE product_id = :p1;
UPDATE product.stock SET quantity = quantity - :q2, updated_at = now() WHERE product_id = :p2;
INSERT INTO "order"."order" (customer_id, status, total, details)
  VALUES (:cid, 'placed', :q1 * :price1 + :q2 * :price2, '{"channel": "web"}')
  RETURNING order_id AS oid \gset
INSERT INTO "order".order_line (order_id, line_no, product_id, quantity, unit_price)
  VALUES (:oid, 1, :p1, :q1, :price1), (:oid, 2, :p2, :q2, :price2);
UPDATE customer.customer SET orders_count = orders_count + 1, last_order_at = now()
  WHERE customer_id = :cid;
INSERT INTO shipment.shipment (order_id, customer_id, carrier, address)
  VALUES (:oid, :cid, 'CTT', '{"city": "Lisbon", "zip": "01100"}');
END;
