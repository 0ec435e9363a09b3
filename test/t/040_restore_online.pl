# test/t/040_restore_online.pl: restore one service in place while the
# other three keep committing; the restored tables equal the snapshot files;
# the consequences report equals counts computed independently in SQL; a
# group restore leaves no broken link among the restored services.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('restore_online');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\nlog_lock_waits = on\ndeadlock_timeout = 100ms");
$node->start;
my $db = 'postgres';

# Four services.  Links (soft, no FK, as microservices have them):
#   orders.customer_id -> customer.id      (orphans_matter)
#   customer.fav_product -> product.id
#   shipment.order_id  -> orders.id
# "customer" is the one restored.
$node->safe_psql($db, q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA customer; CREATE SCHEMA product; CREATE SCHEMA orders; CREATE SCHEMA shipment;
CREATE TABLE product.product (id int PRIMARY KEY, stock int NOT NULL, changed_at timestamptz);
INSERT INTO product.product SELECT g, 100, now() FROM generate_series(1, 2000) g;
CREATE TABLE customer.customer (id int PRIMARY KEY, name text NOT NULL,
    fav_product int, balance numeric(12,2) DEFAULT 0, changed_at timestamptz);
CREATE INDEX ON customer.customer (name);
INSERT INTO customer.customer SELECT g, 'customer ' || g, 1 + g % 2000, g % 97, now()
  FROM generate_series(1, 50000) g;
CREATE TABLE customer.note (id bigserial PRIMARY KEY, customer_id int NOT NULL
    REFERENCES customer.customer, body text, at timestamptz DEFAULT now());
INSERT INTO customer.note (customer_id, body) SELECT 1 + g % 50000, repeat('n', 50)
  FROM generate_series(1, 100000) g;
CREATE TABLE orders.orders (id bigserial PRIMARY KEY, customer_id int, amount numeric,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
INSERT INTO orders.orders (customer_id, amount) SELECT 1 + g % 40000, g FROM generate_series(1, 20000) g;
CREATE TABLE shipment.shipment (id bigserial PRIMARY KEY, order_id bigint,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
INSERT INTO shipment.shipment (order_id) SELECT g FROM generate_series(1, 10000) g;
CREATE TABLE product.event (id bigserial PRIMARY KEY, product_id int,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
SELECT bac.register_service('customer');
SELECT bac.register_service('product');
SELECT bac.register_service('orders');
SELECT bac.register_service('shipment');
SELECT bac.add_link('order_customer', 'orders.orders', '{customer_id}',
                    'customer.customer', '{id}', orphans_matter => true);
SELECT bac.add_link('customer_fav_product', 'customer.customer', '{fav_product}',
                    'product.product', '{id}');
SELECT bac.add_link('shipment_order', 'shipment.shipment', '{order_id}',
                    'orders.orders', '{id}');
});

# pgbench workloads, one script per service; ids stay inside what exists
# at snapshot time and is never deleted, so the load adds no broken link.
my $dir = PostgreSQL::Test::Utils::tempdir;
my %script = (
	customer => q{\set c random(1, 40000)
UPDATE customer.customer SET balance = balance + 1, changed_at = clock_timestamp() WHERE id = :c;
},
	product => q{\set p random(1, 1500)
UPDATE product.product SET stock = stock - 1, changed_at = clock_timestamp() WHERE id = :p;
INSERT INTO product.event (product_id) VALUES (:p);
},
	orders => q{\set c random(1, 40000)
INSERT INTO orders.orders (customer_id, amount) VALUES (:c, 1);
},
	shipment => q{\set o random(1, 20000)
INSERT INTO shipment.shipment (order_id) VALUES (:o);
},);
for my $s (keys %script)
{
	open my $fh, '>', "$dir/$s.sql" or die;
	print $fh $script{$s};
	close $fh;
}

# start pgbench on the given services for $secs seconds, in the background
sub pgbench_start
{
	my ($secs, @services) = @_;
	my @cmd = ('pgbench', '-n', '-c', scalar(@services), '-j', 1, '-T', $secs,
		'-h', $node->host, '-p', $node->port, $db);
	push @cmd, '-f', "$dir/$_.sql" for @services;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(\@cmd, '>', \$out, '2>', \$err);
	return { h => $h, out => \$out, err => \$err };
}

sub pgbench_finish
{
	my ($b) = @_;
	$b->{h}->finish;
	is($b->{h}->result(0), 0, 'pgbench ran without error')
	  or diag(${ $b->{err} });
	my ($tps) = ${ $b->{out} } =~ /tps = ([0-9.]+)/;
	return $tps;
}

sub dump_schema
{
	my ($schema) = @_;
	my ($out, $err) = run_command([ 'pg_dump', '--schema-only', "--schema=$schema",
		'-d', $node->connstr($db) ]);
	$out =~ s/^-- Dumped (from|by) .*$//mg;
	$out =~ s/^\\(un)?restrict .*$//mg;
	return $out;
}

# md5 of the sorted lines of some COPY text (order-independent equality)
sub sorted_md5_sql
{
	my ($text_sql) = @_;
	return "SELECT md5(coalesce(string_agg(l, E'\\n' ORDER BY l), '')) FROM"
	  . " regexp_split_to_table(rtrim(($text_sql), E'\\n'), E'\\n') l WHERE l <> ''";
}

$node->safe_psql($db, 'CREATE SCHEMA t');

# 1. snapshot under load on all four services
my $load = pgbench_start(4, qw(customer product orders shipment));
sleep 1;
my $snap = $node->safe_psql($db,
	"SELECT snapshot_id FROM bac.snapshot(label => 'online test')");
like($snap, qr/^\d{8}T\d{6}/, "snapshot $snap taken under load");
pgbench_finish($load);
my $schema_dump_before = dump_schema('customer');

# 2. more writes after the snapshot, with known consequences:
#    - 37 new customers (ids > 50000) and 11 orders referring to them:
#      after the restore these 11 orders are broken (incoming);
#    - products 1999 and 2000 are deleted: the 50 customers of the snapshot
#      whose fav_product (1 + id % 2000) is one of them are broken after the
#      restore (outgoing);
#    - 10 notes deleted: brought back by the restore.
$node->safe_psql($db, q{
INSERT INTO customer.customer (id, name) SELECT g, 'late ' || g FROM generate_series(50001, 50037) g;
INSERT INTO orders.orders (customer_id, amount) SELECT 50001 + g % 37, 0 FROM generate_series(1, 11) g;
UPDATE customer.customer SET name = 'renamed' WHERE id <= 5;
DELETE FROM customer.note WHERE id <= 10;
DELETE FROM product.product WHERE id IN (1999, 2000);
});

# 3. restore customer in place while the three others keep committing
my $others = pgbench_start(7, qw(product orders shipment));
sleep 2;
my $t = time();
$node->safe_psql($db, q{
CREATE TABLE t.w AS SELECT clock_timestamp() AS t0, NULL::timestamptz AS t1;
BEGIN;
CREATE TABLE t.report AS SELECT * FROM bac.restore('} . $snap . q{', 'customer');
SELECT pg_sleep(2);  -- hold the restore's locks a while: the others go on
-- independent counts, inside the restore transaction (the load only uses
-- ids that exist in both states, so it changes none of these counts)
CREATE TABLE t.indep AS SELECT
 (SELECT count(*) FROM orders.orders o WHERE o.customer_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM customer.customer c WHERE c.id = o.customer_id)) AS order_customer,
 (SELECT count(*) FROM customer.customer c WHERE c.fav_product IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM product.product p WHERE p.id = c.fav_product)) AS customer_fav_product,
 (SELECT count(*) FROM customer.customer c
   WHERE NOT EXISTS (SELECT 1 FROM orders.orders o WHERE o.customer_id = c.id)) AS order_customer_orphans;
UPDATE t.w SET t1 = clock_timestamp();
COMMIT;
});
my $window = time() - $t;
my $tps = pgbench_finish($others);
note("restore transaction took $window s; pgbench on the other services: $tps tps");

# the others committed while the restore transaction held its locks
my $during = $node->safe_psql($db, q{
SELECT (SELECT count(*) FROM product.event e, t.w WHERE e.at > w.t0 AND e.at < w.t1),
       (SELECT count(*) FROM orders.orders o, t.w WHERE o.at > w.t0 AND o.at < w.t1),
       (SELECT count(*) FROM shipment.shipment s, t.w WHERE s.at > w.t0 AND s.at < w.t1),
       (SELECT extract(epoch FROM t1 - t0) FROM t.w)});
my ($pe, $oe, $se, $secs) = split /\|/, $during;
cmp_ok($secs, '>=', 2, "restore transaction open for $secs s");
cmp_ok($pe, '>', 10 * $secs, "product kept committing during the restore ($pe in $secs s)");
cmp_ok($oe, '>', 10 * $secs, "orders kept committing during the restore ($oe in $secs s)");
cmp_ok($se, '>', 10 * $secs, "shipment kept committing during the restore ($se in $secs s)");

# the report's counts equal the independent ones and the known ones
my %rep = map { my @f = split /\|/; ($f[0] => [@f]) } split /\n/,
  $node->safe_psql($db, q{
SELECT link, direction, broken, coalesce(orphaned::text, 'null'), detail
  FROM t.report WHERE direction <> 'rows' ORDER BY 1});
my ($i_oc, $i_cf, $i_orph) = split /\|/,
  $node->safe_psql($db, 'SELECT * FROM t.indep');
is($rep{order_customer}[1], 'incoming', 'order_customer is incoming');
is($rep{order_customer}[2], $i_oc, "order_customer broken = independent count ($i_oc)");
is($i_oc, 11, 'which is the 11 orders of customers created after the snapshot');
# (orphans move with the load on orders: compared after the group restore)
is($rep{customer_fav_product}[1], 'outgoing', 'customer_fav_product is outgoing');
is($rep{customer_fav_product}[2], $i_cf, "customer_fav_product broken = independent count ($i_cf)");
is($i_cf, 50, 'which is the 50 customers whose favourite product was deleted');
ok(!exists $rep{shipment_order}, 'a link not touching the service is not reported');
like($node->safe_psql($db, "SELECT detail FROM t.report WHERE direction = 'rows' AND link = 'note'"),
	qr/table note: 0 rows discarded .*, 10 rows brought back/,
	'the report counts the 10 deleted notes the restore brings back');
my $discarded = $node->safe_psql($db, qq{
SELECT count(*) FROM (SELECT c::text FROM "customer_before_$snap".customer c
  EXCEPT ALL SELECT c::text FROM customer.customer c) x});
like($node->safe_psql($db, "SELECT detail FROM t.report WHERE direction = 'rows' AND link = 'customer'"),
	qr/table customer: $discarded rows discarded/,
	"the report's discarded customer rows equal an EXCEPT ALL over the kept copy ($discarded)");

# the restored tables equal the snapshot's data files, row for row
my $tables = $node->safe_psql($db, qq{
SELECT t->>'table', string_agg(f, ' ')
  FROM jsonb_array_elements(pg_read_file('pg_bac/$snap/manifest.json')::jsonb->'services') s,
       jsonb_array_elements(s->'tables') t, jsonb_array_elements_text(t->'files') f
 WHERE s->>'service' = 'customer' GROUP BY 1 ORDER BY 1});
my $ntables = 0;
my $datadir = $node->safe_psql($db, 'SHOW data_directory');
for my $line (split /\n/, $tables)
{
	my ($table, $files) = split /\|/, $line;
	my $filetext = join(' || ', map { "pg_read_file('pg_bac/$snap/$_')" } split / /, $files);
	my $want = $node->safe_psql($db, sorted_md5_sql($filetext));
	my $copyfile = $datadir . "/restored_$table.copy";
	$node->safe_psql($db, qq{COPY customer."$table" TO '$copyfile'});
	my $got = $node->safe_psql($db, sorted_md5_sql("pg_read_file('restored_$table.copy')"));
	is($got, $want, "restored table $table equals the snapshot data ($want)");
	$ntables++;
}
is($ntables, 2, 'both tables of customer compared');

# fidelity: the schema dumps the same as before
is(dump_schema('customer'), $schema_dump_before,
	'pg_dump --schema-only --schema=customer equals the dump taken at snapshot time');

# 4. group restore of all four: no broken link among them
my $grp = $node->safe_psql($db, qq{
CREATE TABLE t.greport AS SELECT * FROM bac.restore_group('$snap', keep_previous => false);
SELECT string_agg(link || ':' || direction || ':' || broken, ' ' ORDER BY link)
  FROM t.greport WHERE direction <> 'rows'});
is($grp, 'customer_fav_product:internal:0 order_customer:internal:0 shipment_order:internal:0',
	'group restore reports zero broken links among the restored services');
my ($g_orph, $i_orph2) = split /\|/, $node->safe_psql($db, q{
SELECT (SELECT orphaned FROM t.greport WHERE link = 'order_customer'),
       (SELECT count(*) FROM customer.customer c
         WHERE NOT EXISTS (SELECT 1 FROM orders.orders o WHERE o.customer_id = c.id))});
is($g_orph, $i_orph2, "order_customer orphans = independent count ($i_orph2)");
cmp_ok($i_orph2, '>', 0, 'there are orphans to count');
is($node->safe_psql($db, q{SELECT sum(broken) FROM bac.check_links()}), '0',
	'and bac.check_links agrees');
is($node->safe_psql($db, q{
SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bac_replaced%'}), '0',
	'keep_previous => false leaves no old schema behind');

# 5. lock_timeout applies while waiting for the service's locks, and a
#    timed-out restore changes nothing
my ($hout, $herr) = ('', '');
my $holder = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr($db), '-c',
	'BEGIN; LOCK TABLE customer.note IN ACCESS SHARE MODE; SELECT pg_sleep(4); COMMIT;' ],
	'>', \$hout, '2>', \$herr);
$node->poll_query_until($db, q{SELECT count(*) > 0 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE c.relname = 'note' AND l.mode = 'AccessShareLock' AND l.granted AND l.pid <> pg_backend_pid()});
my $nsp_before = $node->safe_psql($db, q{SELECT string_agg(nspname, ' ' ORDER BY nspname) FROM pg_namespace});
my ($lret, $lout, $lerr) = $node->psql($db,
	"SET lock_timeout = '300ms'; SELECT count(*) FROM bac.restore('$snap', 'customer')");
isnt($lret, 0, 'a restore waiting for a lock held by another session times out');
like($lerr, qr/lock timeout/, 'with lock_timeout');
is($node->safe_psql($db, q{SELECT string_agg(nspname, ' ' ORDER BY nspname) FROM pg_namespace}),
	$nsp_before, 'and changes nothing');
$holder->finish;

# 6. two restores of the same service at once: the second waits for the
#    first, then refuses cleanly instead of acting on the replaced schema
my ($fout, $ferr) = ('', '');
my $first = IPC::Run::start([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-c',
	"BEGIN; SELECT count(*) FROM bac.restore('$snap', 'customer', keep_previous => false); SELECT pg_sleep(2); COMMIT;" ],
	'>', \$fout, '2>', \$ferr);
$node->poll_query_until($db, q{SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep'
 AND query LIKE '%bac.restore%'});
my ($cret, $cout, $cerr) = $node->psql($db,
	"SELECT count(*) FROM bac.restore('$snap', 'customer', keep_previous => false)");
$first->finish;
is($first->result(0), 0, 'the first of two concurrent restores commits');
isnt($cret, 0, 'the second, which waited for it, fails');
like($cerr, qr/was replaced while the restore waited for its lock/, 'saying why');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bac_replaced%'}),
	'0', 'and leaves nothing behind');

$node->stop;
done_testing();
