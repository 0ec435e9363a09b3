# test/t/071_pitr_pgbench.pl: the exact oracle under load, and crashes.
#
# The four services of test/fixtures/four_services.sql under the saga
# workload; the archiver worker (pg_bac preloaded) keeps the change archive
# current.  For pairs of snapshots (S1, S2) taken while pgbench runs,
# restoring S1 of each service under another name and replaying the archive
# to S2's instant gives exactly S2's data, table by table.  Then the worker
# is killed with SIGKILL while it archives a large transaction, and later
# the postmaster too: the archive has no gap and no duplicate (the same
# oracle holds across the crashes, and no xid is archived twice).
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacPitrTest;

my $testdir = abs_path(dirname(__FILE__) . '/..');
my $node = pitr_node('pitrbench', conf => "restart_after_crash = on\n");
my $db = 'shop';
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql($db, 'CREATE EXTENSION pg_bac');

ok(psql_file($node, $db, "$testdir/fixtures/four_services.sql", 'scale=1'), 'fixture loaded');
ok(psql_file($node, $db, "$testdir/fixtures/register.sql"), 'services registered');
$node->safe_psql($db, 'SELECT bac.enable_pitr()');
$node->poll_query_until($db,
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_bac archiver'})
  or die 'the archiver worker did not start';
pass('the launcher started the archiver worker of the database');

my @services = ('customer', 'product', 'order', 'shipment');

# restore S1 of every service as <service>_r and replay it to S2's instant;
# restore S2 as <service>_s; compare; drop both
sub oracle_pair
{
	my ($s1, $s2, $what) = @_;
	my $bad = 0;
	for my $svc (@services)
	{
		$node->safe_psql($db, qq{
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS ${svc}_r CASCADE; DROP SCHEMA IF EXISTS ${svc}_s CASCADE;
SELECT count(*) FROM bac.restore('$s1', '$svc', into_schema => '${svc}_r');
SELECT count(*) FROM bac.restore('$s2', '$svc', into_schema => '${svc}_s');
});
		my $r = $node->safe_psql($db,
			qq{SELECT transactions FROM bac.pitr_replay('$s1', '$svc', '${svc}_r', target_snapshot => '$s2')});
		note("$what: $svc: $r transactions replayed");
		$bad += compare_schemas($node, $db, "${svc}_r", "${svc}_s", "$what $svc");
	}
	return $bad;
}

my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-U', 'saga', '-c', '4', '-j', '2', '-T', '12',
	  '-D', 'customers=1000', '-D', 'products=100',
	  '-f', "$testdir/pgbench/saga.sql\@10", '-f', "$testdir/pgbench/catalog.sql\@1",
	  $node->connstr($db) ],
	'>', \$out, '2>', \$err);
my @snaps;
for my $i (1 .. 3)
{
	sleep 2;
	push @snaps, $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot(label => 'load $i')");
}
$bench->finish;
like($out, qr/number of transactions actually processed: [1-9]/, 'pgbench ran');
note($out);
# the worker catches up
my $flush = $node->safe_psql($db, 'SELECT pg_current_wal_flush_lsn()');
$node->poll_query_until($db, "SELECT archived_lsn >= '$flush' FROM bac.pitr_status")
  or die 'the worker did not catch up';
pass('the worker archived the load');
is(oracle_pair($snaps[0], $snaps[1], 'pair 1-2'), 0, 'pair 1-2: S1 + replay == S2');
is(oracle_pair($snaps[1], $snaps[2], 'pair 2-3'), 0, 'pair 2-3: S2 + replay == S3');
is(oracle_pair($snaps[0], $snaps[2], 'pair 1-3'), 0, 'pair 1-3: S1 + replay == S3');

# ---- crash: SIGKILL the worker while it archives a large transaction
$node->safe_psql($db, q{UPDATE "order".order_line SET quantity = quantity + 1});
my $pid;
my $hit = 0;
for (1 .. 500)
{
	my $r = $node->safe_psql($db,
		q{SELECT pid || ' ' || state FROM pg_stat_activity WHERE backend_type = 'pg_bac archiver'});
	my ($p, $state) = split / /, $r;
	next unless $p;
	$pid = $p;
	if (($state // '') eq 'active')
	{
		$hit = 1;
		last;
	}
	select(undef, undef, undef, 0.005);
}
ok($pid, 'found the archiver worker');
kill 'KILL', $pid;
note($hit ? "killed worker $pid while it was archiving" : "killed worker $pid (not seen active)");
# the postmaster restarts after a crash of a child
$node->poll_query_until($db, 'SELECT true') or die 'server did not come back';
$node->safe_psql($db, q{UPDATE customer.customer SET orders_count = orders_count + 1 WHERE customer_id % 7 = 0});
my $s4 = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot(label => 'after worker crash')");

# ---- crash: SIGKILL the postmaster
$node->safe_psql($db, q{UPDATE product.stock SET quantity = quantity + 5});
my $postmaster = $node->{_pid};
$node->kill9;
# wait until the postmaster and its children are gone, then start again
for (1 .. 100)
{
	last if !kill(0, $postmaster);
	select(undef, undef, undef, 0.1);
}
my $started = 0;
for (1 .. 30)
{
	last if ($started = $node->start(fail_ok => 1));
	sleep 1;
}
ok($started, 'the server starts again after SIGKILL of the postmaster');
$node->safe_psql($db, q{UPDATE shipment.shipment SET carrier = 'DHL' WHERE shipment_id % 5 = 0});
my $s5 = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot(label => 'after postmaster crash')");
$flush = $node->safe_psql($db, 'SELECT pg_current_wal_flush_lsn()');
$node->poll_query_until($db, "SELECT archived_lsn >= '$flush' FROM bac.pitr_status")
  or die 'the worker did not catch up after the crashes';
pass('the worker came back and caught up after both crashes');

is($node->safe_psql($db, q{SELECT count(*) - count(DISTINCT xid) FROM bac.pitr_transactions()}),
	'0', 'no transaction archived twice across the crashes');
is($node->safe_psql($db, q{SELECT count(*) FROM bac.pitr_transactions()
	WHERE changes = (SELECT count(*) FROM "order".order_line) AND schemas = '"order"'}),
	'1', 'the large update is in the archive once, whole');
is(oracle_pair($snaps[2], $s4, 'across worker crash'), 0, 'S3 + replay == S4 across the worker crash');
is(oracle_pair($s4, $s5, 'across postmaster crash'), 0, 'S4 + replay == S5 across the postmaster crash');
like($node->safe_psql($db, 'SELECT enabled, window_open, gap IS NULL FROM bac.pitr_status'),
	qr/^t\|t\|t$/, 'window still open, no gap');

$node->stop;
done_testing();
