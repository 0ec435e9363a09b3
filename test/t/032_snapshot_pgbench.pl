# test/t/032_snapshot_pgbench.pl: under a pgbench load where every
# transaction writes an order and its shipment (two services), every
# bac.snapshot() has the two services in exact agreement, while per-schema
# pg_dump runs taken one after the other disagree (so the check can fail).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use BacSnapshotTest;

my $node = bac_node('bench');
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE SCHEMA shop_orders; CREATE SCHEMA shop_shipping;
CREATE TABLE shop_orders.orders (id bigint PRIMARY KEY, amount int, pad text);
CREATE TABLE shop_shipping.shipments (id bigserial PRIMARY KEY, order_id bigint NOT NULL, pad text);
CREATE SEQUENCE shop_orders.order_id;
-- some bulk, so that a copy takes a moment
INSERT INTO shop_orders.orders SELECT nextval('shop_orders.order_id'), 1, repeat('o', 100) FROM generate_series(1, 100000);
INSERT INTO shop_shipping.shipments (order_id, pad) SELECT id, repeat('s', 100) FROM shop_orders.orders;
});
bac_register($node, $db, 'shop_orders', 'shop_shipping');

my $script = $node->basedir . '/order.sql';
open(my $fh, '>', $script) or die;
print $fh q{
BEGIN;
INSERT INTO shop_orders.orders VALUES (nextval('shop_orders.order_id'), 1, 'x');
INSERT INTO shop_shipping.shipments (order_id, pad) VALUES (currval('shop_orders.order_id'), 'y');
COMMIT;
};
close $fh;

my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '4', '-j', '2', '-T', '25', '-f', $script,
	  '-h', $node->host, '-p', $node->port, $db ],
	'>', \$out, '2>', \$err);
$node->poll_query_until($db,
	"SELECT count(*) > 100200 FROM shop_orders.orders")
  or die "pgbench did not start";

# the order ids in the first column of a COPY text file
sub ids_of
{
	my ($path, $col) = @_;
	my %ids;
	open(my $f, '<', $path) or die "open $path: $!";
	while (my $line = <$f>)
	{
		my @c = split /\t/, $line;
		$ids{ $c[$col] } = 1;
	}
	close $f;
	return \%ids;
}

my $archive = $node->data_dir . '/pg_bac';
my @counts;
for my $i (1 .. 4)
{
	my $workers = $i % 2 ? 1 : 2;
	my $id = $node->safe_psql($db,
		"SELECT snapshot_id FROM bac.snapshot(workers => $workers)");
	my %files = map { $_ => 1 } bac_files_of("$archive/$id");
	my (%orders, %ship);
	for my $f (sort keys %files)
	{
		%orders = (%orders, %{ ids_of("$archive/$id/$f", 0) }) if $f =~ m{^shop_orders/data/};
		%ship = (%ship, %{ ids_of("$archive/$id/$f", 1) }) if $f =~ m{^shop_shipping/data/};
	}
	my @broken = grep { !$orders{$_} } keys %ship;     # shipment without its order
	my @orphans = grep { !$ship{$_} } keys %orders;    # order without its shipment
	ok(scalar(keys %orders) > 100000, "snapshot $i (workers $workers) has orders");
	is(scalar(@broken) . '/' . scalar(@orphans), '0/0',
		"snapshot $i: no broken link and no orphan between the services");
	push @counts, scalar(keys %orders);
}
ok($counts[-1] > $counts[0], 'the load kept writing between snapshots');

# the same check with one pg_dump per schema, one after the other
my $disagree = 0;
for my $i (1 .. 3)
{
	my %n;
	for my $schema ('shop_orders', 'shop_shipping')
	{
		my $dump = `pg_dump -h @{[ $node->host ]} -p @{[ $node->port ]} --data-only --schema=$schema $db`;
		my $in = 0;
		$n{$schema} = 0;
		for my $line (split /\n/, $dump)
		{
			if ($line =~ /^COPY /) { $in = 1; next; }
			if ($line eq '\\.') { $in = 0; next; }
			$n{$schema}++ if $in;
		}
	}
	note("pg_dump pair $i: $n{shop_orders} orders, $n{shop_shipping} shipments");
	$disagree++ if $n{shop_orders} != $n{shop_shipping};
}
ok($disagree > 0, "per-schema pg_dump runs under the same load disagree ($disagree of 3 pairs)");

$bench->kill_kill;
$node->stop;
done_testing();
