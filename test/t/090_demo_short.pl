# test/t/090_demo_short.pl: a short `make demo` (test scale), so it cannot rot
#
# The four services of test/fixtures/four_services.sql under the saga
# workload of test/pgbench/: backups of each service taken at different
# moments (pg_dump -n) leave broken links and orphans after a recovery.
# Counts of bac.check_links are compared with the anti-join oracle
# test/fixtures/oracle.sql.
#
# One bac.snapshot taken under the same workload, restored with
# bac.restore_group after the same disaster, leaves no broken link and no
# orphan; a single-service restore reports (dry run and real) exactly the
# broken links it leaves.
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use IPC::Run;
use lib dirname(__FILE__) . '/../perl';
use BacPitrTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $testdir = abs_path(dirname(__FILE__) . '/..');
my $fixtures = "$testdir/fixtures";

my $node = PostgreSQL::Test::Cluster->new('demo');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
my $connstr = $node->connstr('shop');
my $db = 'shop';


# oracle: link => [broken, orphaned]
sub oracle
{
	my ($ok, $out) = psql_file($node, $db, "$fixtures/oracle.sql");
	die "oracle failed" if !$ok;
	my %r;
	for (split /\n/, $out)
	{
		my ($link, $broken, $orphaned) = split /\|/;
		$r{$link} = [ $broken, $orphaned ];
	}
	return \%r;
}

# ---- the fixture
$node->safe_psql('shop', 'CREATE EXTENSION pg_bac');
my ($ok) = psql_file($node, $db, "$fixtures/four_services.sql", 'scale=1');
ok($ok, 'four-service fixture loads at test scale');

is( $node->safe_psql(
		'shop', q{
	SELECT (SELECT count(*) FROM customer.customer) || ' ' ||
	       (SELECT count(*) FROM product.product) || ' ' ||
	       (SELECT count(*) FROM product.stock) || ' ' ||
	       (SELECT count(*) FROM "order"."order") || ' ' ||
	       (SELECT count(*) FROM "order".order_line) || ' ' ||
	       (SELECT count(*) FROM shipment.shipment)}),
	'1000 100 100 3000 9000 3000',
	'scale 1: 1000 customers, 100 products, 3000 orders of 3 lines, 3000 shipments');

is( $node->safe_psql(
		'shop', q{
	SELECT string_agg(nspname || ':' || pg_get_userbyid(nspowner), ' ' ORDER BY nspname)
	FROM pg_namespace WHERE nspname IN ('customer', 'product', 'order', 'shipment')}),
	'customer:customer_svc order:order_svc product:product_svc shipment:shipment_svc',
	'each service has its own schema, owned by its own role');

is( $node->safe_psql(
		'shop', q{
	SELECT count(*) FROM pg_constraint c
	JOIN pg_class f ON f.oid = c.conrelid JOIN pg_class t ON t.oid = c.confrelid
	WHERE c.contype = 'f' AND f.relnamespace <> t.relnamespace}),
	'0', 'no foreign key crosses services');

my $o = oracle();
is_deeply(
	$o,
	{
		order_customer => [ 0, 0 ],
		order_line_product => [ 0, 0 ],
		shipment_customer => [ 0, 0 ],
		shipment_order => [ 0, 0 ]
	},
	'the fixture starts consistent: no broken link, no orphan');

# ---- registered with pg_bac
($ok) = psql_file($node, $db, "$fixtures/register.sql");
ok($ok, 'services registered, links declared');
is($node->safe_psql('shop', 'SELECT count(*) FROM bac.services'),
	'4', 'four services registered');
is($node->safe_psql('shop', 'SELECT string_agg(link, \' \' ORDER BY link) FROM bac.links'),
	'order_customer order_line_product shipment_customer shipment_order',
	'four links declared');

# check: link => [broken, orphaned] from bac.check_links()
sub check
{
	my %r;
	for (split /\n/,
		$node->safe_psql($db,
			'SELECT link, broken, coalesce(orphaned, 0) FROM bac.check_links()'))
	{
		my ($link, $broken, $orphaned) = split /\|/;
		$r{$link} = [ $broken, $orphaned ];
	}
	return \%r;
}

# the oracle counts orphans only where they matter
sub check_as_oracle
{
	my $c = check();
	$c->{$_}[1] = 0 for grep { $_ ne 'shipment_order' } keys %$c;
	return $c;
}

is_deeply(check_as_oracle(), oracle(), 'bac.check_links agrees with the oracle: all zero');

# a second database, same starting point, for pg_bac's turn
$node->safe_psql('postgres', 'CREATE DATABASE shop_bac TEMPLATE shop');

# saga DB: start the saga workload on DB in the background
sub saga
{
	my ($dbname) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-U', 'saga', '-c', '2', '-j', '1', '-T', '120',
			'-D', 'customers=1000', '-D', 'products=100',
			'-f', "$testdir/pgbench/saga.sql\@10",
			'-f', "$testdir/pgbench/catalog.sql\@1", $node->connstr($dbname)
		],
		'>', \$out, '2>', \$err);
	return ($h, \$err);
}

# ---- independent backups under the saga workload
my ($bench, $bench_err_ref) = saga('shop');

my $dumpdir = PostgreSQL::Test::Utils::tempdir;

# dump SERVICE: pg_dump -n of one service by its own role
sub dump_service
{
	my ($service) = @_;
	$node->command_ok(
		[
			'pg_dump', '-U', "${service}_svc", '-n', qq{"$service"},
			'-f', "$dumpdir/$service.sql", '-d', $connstr
		],
		"pg_dump -n $service under load");
}

# between two dumps, wait until the workload made the difference the BAC
# theorem predicts: that is what makes the counts below certain
dump_service('customer');
my $c = $node->safe_psql('shop', 'SELECT max(customer_id) FROM customer.customer');
ok( $node->poll_query_until(
		'shop',
		qq{SELECT EXISTS (SELECT FROM "order"."order" WHERE customer_id > $c)}),
	'orders of customers newer than the customer dump exist');
dump_service('product');
my $p = $node->safe_psql('shop', 'SELECT max(product_id) FROM product.product');
ok( $node->poll_query_until(
		'shop',
		qq{SELECT EXISTS (SELECT FROM "order".order_line WHERE product_id > $p)}),
	'order lines of products newer than the product dump exist');
dump_service('shipment');
my $maxo = $node->safe_psql('shop', 'SELECT max(order_id) FROM "order"."order"');
ok( $node->poll_query_until(
		'shop', qq{SELECT max(order_id) > $maxo FROM "order"."order"}),
	'orders newer than the shipment dump exist');
dump_service('order');

ok($bench->pumpable, 'the saga workload ran through the dumps');
$bench->signal('TERM');
$bench->finish;
unlike($$bench_err_ref, qr/error/i, 'no saga transaction failed')
  or diag($$bench_err_ref);

# ---- disaster and recovery from the independent dumps
$node->safe_psql('shop',
	'SET client_min_messages = warning; DROP SCHEMA customer, product, "order", shipment CASCADE'
);
for my $service (qw(customer product order shipment))
{
	($ok) = psql_file($node, $db, "$dumpdir/$service.sql");
	ok($ok, "$service restored from its own dump");
}

$o = oracle();
cmp_ok($o->{order_customer}[0], '>', 0,
	'orders refer to customers the customer dump does not have');
cmp_ok($o->{shipment_customer}[0], '>', 0,
	'shipments refer to customers the customer dump does not have');
cmp_ok($o->{order_line_product}[0], '>', 0,
	'order lines refer to products the product dump does not have');
cmp_ok($o->{shipment_order}[1], '>', 0,
	'orders have no shipment: orphan state (the shipment dump is older)');
is($o->{shipment_order}[0], 0,
	'no shipment refers to a missing order (the order dump is newer)');

# the links are declared again after the loss of the tables they named
($ok) = psql_file($node, $db, "$fixtures/register.sql");
ok($ok, 'links declared again after the recovery');
is_deeply(check_as_oracle(), $o, 'bac.check_links counts what the oracle counts');

# ---- pg_bac: one snapshot under the same workload
$db = 'shop_bac';
($bench, $bench_err_ref) = saga('shop_bac');
ok( $node->poll_query_until(
		'shop_bac', 'SELECT max(order_id) > 3050 FROM "order"."order"'),
	'the saga workload runs');
my $snap = $node->safe_psql('shop_bac',
	"SELECT snapshot_id FROM bac.snapshot(label => 'short demo')");
like($snap, qr/\S/, 'bac.snapshot under load');
my $after = $node->safe_psql('shop_bac',
	'SELECT (SELECT max(customer_id) FROM customer.customer) || \' \' || (SELECT max(order_id) FROM "order"."order")');
my ($c_after, $o_after) = split / /, $after;
ok( $node->poll_query_until(
		'shop_bac',
		qq{SELECT EXISTS (SELECT FROM "order"."order" WHERE customer_id > $c_after)
		      AND max(order_id) > $o_after + 20 FROM "order"."order"}),
	'the workload goes on after the snapshot');
$bench->signal('TERM');
$bench->finish;
unlike($$bench_err_ref, qr/error/i, 'no saga transaction failed during the snapshot')
  or diag($$bench_err_ref);

is( $node->safe_psql(
		'shop_bac',
		"SELECT count(*) FILTER (WHERE NOT ok) || ' of ' || (count(*) > 0) FROM bac.verify_snapshot('$snap')"
	),
	'0 of true',
	'every file of the snapshot verifies');
is( $node->safe_psql(
		'shop_bac',
		"SELECT array_to_string(services, ' ') FROM bac.snapshots() WHERE snapshot_id = '$snap'"),
	'customer order product shipment',
	'the snapshot covers the four services');

# ---- disaster, then bac.restore_group of that snapshot
$node->safe_psql('shop_bac',
	'SET client_min_messages = warning; DROP SCHEMA customer, product, "order", shipment CASCADE'
);
$node->safe_psql('shop_bac',
	"SET client_min_messages = warning; SELECT * FROM bac.restore_group('$snap')");
$o = oracle();
is_deeply(
	$o,
	{
		order_customer => [ 0, 0 ],
		order_line_product => [ 0, 0 ],
		shipment_customer => [ 0, 0 ],
		shipment_order => [ 0, 0 ]
	},
	'after bac.restore_group: no broken link, no orphan (oracle)');
is_deeply(check_as_oracle(), $o, 'bac.check_links agrees: all zero');
cmp_ok($node->safe_psql('shop_bac', 'SELECT max(order_id) FROM "order"."order"'),
	'>', 3000, 'the orders placed under load before the snapshot are back');

# ---- one service alone: product goes back to the snapshot, after orders
# for products newer than the snapshot were placed
my $p_snap = $node->safe_psql('shop_bac', 'SELECT max(product_id) FROM product.product');
($bench, $bench_err_ref) = saga('shop_bac');
ok( $node->poll_query_until(
		'shop_bac',
		qq{SELECT EXISTS (SELECT FROM "order".order_line WHERE product_id > $p_snap)}),
	'orders for products newer than the snapshot exist');
$bench->signal('TERM');
$bench->finish;
my $dry = $node->safe_psql('shop_bac',
	"SET client_min_messages = error; SELECT coalesce(sum(broken), 0) FROM bac.restore('$snap', 'product', dry_run => true) WHERE link = 'order_line_product'"
);
cmp_ok($dry, '>', 0, 'the dry run reports broken order lines');
my $new_products = $node->safe_psql('shop_bac',
	"SELECT count(*) FROM product.product WHERE product_id > $p_snap");
cmp_ok($new_products, '>', 0, 'and changes nothing: the new products are still there');
my $real = $node->safe_psql('shop_bac',
	"SET client_min_messages = error; SELECT coalesce(sum(broken), 0) FROM bac.restore('$snap', 'product') WHERE link = 'order_line_product'"
);
is($real, $dry, 'the restore reports what the dry run announced');
is(oracle()->{order_line_product}[0], $real,
	'and the oracle counts as many broken order lines');

$node->stop;
done_testing();
