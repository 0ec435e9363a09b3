-- test/pgbench/catalog.sql: the product service adds a product to the
-- catalog with its stock (so orders can refer to products newer than a
-- product backup).  Run next to saga.sql, e.g. -f saga.sql@10 -f catalog.sql@1.
BEGIN;
INSERT INTO product.product (sku, name, description, price)
  VALUES ('NEW-' || pg_current_xact_id(), 'New arrival', 'Just in.', 19.90)
  RETURNING product_id AS pid \gset
INSERT INTO product.stock (product_id, quantity) VALUES (:pid, 1000);
END;
