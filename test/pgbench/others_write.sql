-- test/pgbench/others_write.sql: writes of the services other than order
-- (customer, product, shipment), none of which reads the order schema, so
-- they can keep running while order alone is restored.  make bench runs
-- it before and during a restore of order to compare the two rates.  Needs
-- -D customers=N -D products=N.
\set cid random(1, :customers)
\set pid random(1, :products)
BEGIN;
UPDATE customer.customer SET balance = balance + 1 WHERE customer_id = :cid;
UPDATE product.stock SET quantity = quantity + 1 WHERE product_id = :pid;
UPDATE shipment.shipment SET tracking_code = tracking_code WHERE shipment_id = :cid;
END;
