-- test/pgbench/customer_only.sql: traffic of the services other than
-- product: a customer reads their last orders and shipments and updates
-- their profile.  Runs while product alone is restored, to show the other
-- services keep working.  Needs -D customers=N.
\set cid random(1, :customers)
BEGIN;
SELECT order_id, total, status FROM "order"."order" WHERE customer_id = :cid ORDER BY order_id DESC LIMIT 5;
SELECT shipment_id, status FROM shipment.shipment WHERE customer_id = :cid ORDER BY shipment_id DESC LIMIT 5;
UPDATE customer.customer SET balance = balance + 1 WHERE customer_id = :cid;
END;
