# test/t/090_demo_short.pl: a short `make demo` (test scale), so it cannot rot
#
# The four services of test/fixtures/four_services.sql under the saga
# workload of test/pgbench/: backups of each service taken at different
# moments (pg_dump -n) leave broken links and orphans after a recovery,
# counted by the anti-join oracle test/fixtures/oracle.sql.
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use IPC::Run;
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

# psql_file FILE, VARS...: run a script file, stopping at its first error
sub psql_file
{
	my ($file, @vars) = @_;
	my @cmd = ('psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
		(map { ('-v', $_) } @vars), '-f', $file, '-d', $connstr);
	my ($out, $err);
	my $ok = IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	diag($err) if !$ok;
	return ($ok, $out);
}

# oracle: link => [broken, orphaned]
sub oracle
{
	my ($ok, $out) = psql_file("$fixtures/oracle.sql");
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
my ($ok) = psql_file("$fixtures/four_services.sql", 'scale=1');
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

# ---- independent backups under the saga workload
my ($bench_out, $bench_err) = ('', '');
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-U', 'saga', '-c', '2', '-j', '1', '-T', '120',
		'-D', 'customers=1000', '-D', 'products=100',
		'-f', "$testdir/pgbench/saga.sql\@10",
		'-f', "$testdir/pgbench/catalog.sql\@1", $connstr
	],
	'>', \$bench_out, '2>', \$bench_err);

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
unlike($bench_err, qr/error/i, 'no saga transaction failed')
  or diag($bench_err);

# ---- disaster and recovery from the independent dumps
$node->safe_psql('shop',
	'SET client_min_messages = warning; DROP SCHEMA customer, product, "order", shipment CASCADE'
);
for my $service (qw(customer product order shipment))
{
	($ok) = psql_file("$dumpdir/$service.sql");
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

$node->stop;
done_testing();
