# test/stress/soak.pl (make stress): the saga workload at full speed on the
# four services while snapshots are taken in a loop and services restored
# from them, for BAC_SOAK_SECONDS (default 600).
#
# Afterwards:
#  - no saga transaction failed (pgbench reports no error, no aborted
#    client, 0 failed transactions);
#  - every snapshot still in the archive, restored as a group (dry run:
#    restored in the transaction, then rolled back), shows 0 broken links
#    among its services;
#  - the looping backend leaked nothing: open file descriptors
#    (/proc/self/fd), memory contexts (pg_backend_memory_contexts: count and
#    bytes) equal after the warm-up and at the end; no temporary file in
#    base/pgsql_tmp, no temporary directory in the archive.
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacGuarantee;

my $secs = $ENV{BAC_SOAK_SECONDS} // 600;
my $testdir = abs_path(dirname(__FILE__) . '/..');
my $node = PostgreSQL::Test::Cluster->new('soak');
$node->init;
$node->append_conf('postgresql.conf', q{
max_worker_processes = 16
max_parallel_workers = 8
max_wal_size = 4GB
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
my $db = 'shop';
$node->safe_psql($db, 'CREATE EXTENSION pg_bac');
for my $f ([ 'fixtures/four_services.sql', 'scale=1' ], [ 'fixtures/register.sql' ])
{
	my ($file, @vars) = @$f;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', (map { ('-v', $_) } @vars),
		'-f', "$testdir/$file", '-d', $node->connstr($db) ], '>', \$out, '2>', \$err)
	  or die "$file: $err";
}
is($node->safe_psql($db, 'SELECT count(*) FROM bac.services'), '4', 'four services registered');

$node->safe_psql($db, q{
CREATE SCHEMA soak;
CREATE TABLE soak.metrics (i int, at timestamptz, fds int, contexts int, bytes bigint);
CREATE TABLE soak.taken (snapshot_id text);
CREATE PROCEDURE soak.run(secs int) LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	i int := 0;
	id text;
	svc name;
BEGIN
	LOOP
		i := i + 1;
		SELECT snapshot_id INTO id FROM bac.snapshot(NULL, workers => 1 + i % 2,
			compression => (ARRAY['none', 'zstd', 'lz4'])[1 + i % 3]);
		INSERT INTO soak.taken VALUES (id);
		COMMIT;
		svc := (ARRAY['customer', 'product', 'order', 'shipment'])[1 + i % 4];
		PERFORM count(*) FROM bac.restore(id, svc, into_schema => 'soak_copy');
		DROP SCHEMA soak_copy CASCADE;
		COMMIT;
		PERFORM bac.prune_snapshots(keep_last => 8);
		INSERT INTO soak.metrics
		SELECT i, clock_timestamp(),
			(SELECT count(*) FROM pg_ls_dir('/proc/self/fd')),
			(SELECT count(*) FROM pg_backend_memory_contexts),
			(SELECT sum(total_bytes) FROM pg_backend_memory_contexts);
		COMMIT;
		EXIT WHEN clock_timestamp() - t0 > secs * interval '1 s';
	END LOOP;
END $$;
});

# the saga workload, a little longer than the loop
my ($bout, $berr) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-U', 'saga', '-c', '4', '-j', '2', '-T', $secs + 20,
	  '-D', 'customers=1000', '-D', 'products=100',
	  '-f', "$testdir/pgbench/saga.sql\@10", '-f', "$testdir/pgbench/catalog.sql\@1",
	  $node->connstr($db) ],
	'>', \$bout, '2>', \$berr);
sleep 5;

# the loop runs in a session that then sleeps, so its open files can be
# inspected from outside once the loop is over
my ($sh, $sout, $serr) = start_psql($node, $db, 'soaker', 'SET client_min_messages = warning',
	"CALL soak.run($secs)", 'SELECT pg_sleep(30)');
my $spid = wait_for_pid($node, $db,
	"SELECT pid FROM pg_stat_activity WHERE application_name = 'soaker' AND wait_event = 'PgSleep'",
	$secs + 600, 200);
ok($spid, "the snapshot and restore loop ran for $secs s") or diag($$serr);
my @open = map { readlink($_) // '' } glob("/proc/$spid/fd/*");
my $archive = $node->data_dir . '/pg_bac';
my @ours = grep { index($_, $archive) == 0 || m{pgsql_tmp} } @open;
is_deeply(\@ours, [], 'the looping backend holds no file of the archive or temporary file open ('
	  . scalar(@open) . ' descriptors open)');
$node->safe_psql($db, "SELECT pg_cancel_backend($spid)");
$sh->finish;
$bench->finish;
is($bench->result(0), 0, 'pgbench finished');
unlike($berr, qr/error|abort/i, 'no saga transaction failed') or diag(substr($berr, 0, 2000));
my ($failed) = $bout =~ /number of failed transactions: (\d+)/;
is($failed // 0, 0, 'pgbench counts 0 failed transactions');
my ($txns) = $bout =~ /number of transactions actually processed: (\d+)/;
my $loops = $node->safe_psql($db, 'SELECT max(i) FROM soak.metrics');
cmp_ok($loops, '>=', 3, "loop iterations: $loops");

# every snapshot left, restored as a group, has no broken link
my @ids = split /\n/, $node->safe_psql($db, 'SELECT snapshot_id FROM bac.snapshots() ORDER BY 1');
my $groups = 0;
for my $id (@ids)
{
	my $broken = $node->safe_psql($db,
		"SET client_min_messages = warning; SELECT coalesce(sum(broken), 0) FROM bac.restore_group('$id', dry_run => true) WHERE direction = 'internal'");
	is($broken, '0', "snapshot $id restored as a group: 0 broken links among its services");
	$groups++;
}

# leaks of the looping backend: after 3 warm-up loops and at the end
my ($first, $last) = map { [ split /\|/ ] } split /\n/, $node->safe_psql($db, q{
(SELECT fds, contexts, bytes FROM soak.metrics WHERE i = LEAST(3, (SELECT max(i) FROM soak.metrics)))
UNION ALL (SELECT fds, contexts, bytes FROM soak.metrics ORDER BY i DESC LIMIT 1)});
# a leak grows with every loop (hundreds in a full soak); caches of the
# server (relation files kept open, plans) may move by a few
cmp_ok($last->[0] - $first->[0], '<=', 8,
	"open file descriptors: $first->[0] after warm-up, $last->[0] at the end ($loops loops)");
cmp_ok($last->[1] - $first->[1], '<=', 8,
	"memory contexts: $first->[1] after warm-up, $last->[1] at the end ($loops loops)");
cmp_ok($last->[2] - $first->[2], '<', 1024 * 1024,
	"memory: $first->[2] bytes after warm-up, $last->[2] at the end (less than 1 MB growth)");
my $tmp = $node->data_dir . '/base/pgsql_tmp';
my @tmpfiles = -d $tmp ? glob("$tmp/*") : ();
is_deeply(\@tmpfiles, [], 'no temporary file left in base/pgsql_tmp');
opendir(my $dh, $node->data_dir . '/pg_bac') or die;
my @tmpdirs = grep { /^\.tmp-/ } readdir $dh;
closedir $dh;
is_deeply(\@tmpdirs, [], 'no temporary directory left in the archive');

diag("counts: soak: $secs s, $loops snapshot+restore loops, " . ($txns // '?')
	  . " saga transactions, $groups snapshots restored as a group with 0 broken links");
$node->stop;
done_testing();
