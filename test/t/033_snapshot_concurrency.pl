# test/t/033_snapshot_concurrency.pl: while a snapshot copies a large
# table, writers on the same and on other services are not blocked; DDL on
# a table waits only until that table is copied; a cancel stops the
# snapshot promptly and leaves nothing that lists as a snapshot.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);
use BacSnapshotTest;

my $node = bac_node('conc');
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE SCHEMA svc_big; CREATE SCHEMA svc_other;
CREATE TABLE svc_big.big (id int PRIMARY KEY, pad text);
INSERT INTO svc_big.big SELECT i, md5(i::text) || md5((i + 1)::text) FROM generate_series(1, 1500000) i;
CREATE TABLE svc_big.medium (id int, pad text);
INSERT INTO svc_big.medium SELECT i, md5(i::text) || md5((i + 2)::text) FROM generate_series(1, 900000) i;
CREATE TABLE svc_other.t (id int PRIMARY KEY, v text);
INSERT INTO svc_other.t SELECT i, 'v' FROM generate_series(1, 100) i;
VACUUM ANALYZE;
});
bac_register($node, $db, 'svc_big', 'svc_other');
my $big = $node->safe_psql($db, "SELECT 'svc_big.big'::regclass::oid");
my $medium = $node->safe_psql($db, "SELECT 'svc_big.medium'::regclass::oid");

# start a snapshot in the background
sub start_snapshot
{
	my ($args) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-h', $node->host, '-p', $node->port, '-d', $db,
		  '-c', "SET client_min_messages = warning; SELECT snapshot_id FROM bac.snapshot($args)" ],
		'>', \$out, '2>', \$err);
	return ($h, \$out, \$err);
}

# wait (polling quickly) until a snapshot backend copies the given table
sub wait_copying
{
	my ($relid) = @_;
	my $deadline = time + 120;
	while (time < $deadline)
	{
		my $pid = $node->safe_psql($db,
			"SELECT pid FROM pg_stat_progress_copy WHERE relid = $relid AND command = 'COPY TO'");
		return $pid if $pid ne '';
		usleep(20_000);
	}
	die "no snapshot copying $relid";
}

sub copying
{
	my ($pid, $relid) = @_;
	return $node->safe_psql($db,
		"SELECT count(*) FROM pg_stat_progress_copy WHERE pid = $pid AND relid = $relid");
}

# --- writers are not blocked ---
my ($h, $out, $err) = start_snapshot("workers => 1, compression => 'zstd'");
my $pid = wait_copying($big);
my $t0 = time;
$node->safe_psql($db, q{
SET lock_timeout = '3s';
BEGIN;
INSERT INTO svc_big.big VALUES (-1, 'new during snapshot');
UPDATE svc_big.big SET pad = 'updated during snapshot' WHERE id = 5;
DELETE FROM svc_big.big WHERE id = 6;
INSERT INTO svc_other.t VALUES (-1, 'other service');
UPDATE svc_other.t SET v = 'w' WHERE id = 1;
COMMIT;
});
my $writer_secs = time - $t0;
is(copying($pid, $big), '1',
	'the snapshot was still copying the big table when the writers had committed');
ok($writer_secs < 2, sprintf('the writers did not wait (%.3f s)', $writer_secs));

# --- DDL waits only until its table is copied ---
wait_copying($medium);
is($node->safe_psql($db,
		"SELECT count(*) FROM pg_locks WHERE pid = $pid AND relation = $big"),
	'0', 'the snapshot released the big table once copied');
is($node->safe_psql($db,
		"SELECT count(*) FROM pg_locks WHERE pid = $pid AND relation = $medium AND mode = 'AccessShareLock'"),
	'1', 'while it still holds the table it is copying');
$node->safe_psql($db, q{
SET lock_timeout = '5s';
ALTER TABLE svc_big.big ADD COLUMN extra int;
});
is(copying($pid, $medium), '1',
	'ALTER TABLE on the copied table committed while the snapshot was still running');
my ($ret, $lerr);
($ret, undef, $lerr) = $node->psql($db, q{
SET lock_timeout = '200ms';
ALTER TABLE svc_big.medium ADD COLUMN extra int;
});
like($lerr, qr/lock timeout/, 'DDL on the table being copied waits for it');

$h->finish;
my $id = $$out;
chomp $id;
like($id, qr/^\d{8}T\d{6}\.\d{6}Z$/, 'the snapshot completed') or diag($$err);

# the snapshot is of its instant: none of the concurrent changes are in it
my $dir = $node->data_dir . "/pg_bac/$id";
my $bigfile = (grep { m{^svc_big/data/} } bac_files_of($dir))[0];
my $copy = `zstd -dcq $dir/$bigfile`;
my $nrows = ($copy =~ tr/\n//);
is($nrows, 1500000, 'the big table has its rows of the instant');
ok($copy !~ /^-1\t/m && $copy =~ /^6\t/m && $copy !~ /updated during snapshot/,
	'and none of the changes committed after the instant');
is($node->safe_psql($db,
		"SELECT count(*) FILTER (WHERE NOT ok) FROM bac.verify_snapshot('$id')"),
	'0', 'the snapshot verifies');

# --- cancel: prompt, and nothing left behind ---
my $listed = $node->safe_psql($db, 'SELECT count(*) FROM bac.snapshots()');
for my $workers (1, 2)
{
	($h, $out, $err) = start_snapshot("workers => $workers, compression => 'zstd'");
	# slices of the big table are COPY (SELECT ...): wait for any COPY TO
	$node->poll_query_until($db,
		"SELECT count(*) > 0 FROM pg_stat_progress_copy WHERE command = 'COPY TO'")
	  or die "the snapshot does not copy";
	$pid = $node->safe_psql($db,
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND query LIKE '%bac.snapshot(workers%'");
	$t0 = time;
	$node->safe_psql($db, "SELECT pg_cancel_backend($pid)");
	$h->finish;
	my $secs = time - $t0;
	like($$err, qr/canceling statement due to user request/,
		"workers $workers: the snapshot is cancelled");
	ok($secs < 5, sprintf('workers %d: promptly (%.3f s)', $workers, $secs));
	opendir(my $dh, $node->data_dir . '/pg_bac');
	my @tmp = grep { /^\.tmp-/ } readdir $dh;
	closedir $dh;
	is(scalar(@tmp), 0, "workers $workers: no temporary directory is left");
	is($node->safe_psql($db, 'SELECT count(*) FROM bac.snapshots()'), $listed,
		"workers $workers: no new snapshot is listed");
	is($node->safe_psql($db,
			"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'"),
		'0', "workers $workers: no parallel worker is left running");
}

# --- a parallel snapshot cuts the big table into TID-range slices ---
$id = $node->safe_psql($db,
	"SET client_min_messages = warning; SELECT snapshot_id FROM bac.snapshot(workers => 2)");
$dir = $node->data_dir . "/pg_bac/$id";
my $big_entry = $node->safe_psql($db, qq{
SELECT t->>'rows' || ' ' || (SELECT string_agg(f, ' ') FROM jsonb_array_elements_text(t->'files') f)
  FROM jsonb_path_query(pg_read_file('pg_bac/$id/manifest.json')::jsonb,
                        '\$.services[*].tables[*] ? (\@.table == "big")') t});
my ($big_rows, @bigfiles) = split / /, $big_entry;
my $big_nfiles = scalar(@bigfiles);
is($big_rows, 1500000, 'workers 2: the big table has all its rows');
cmp_ok($big_nfiles, '>', 1, 'workers 2: in more than one slice file');
my $lines = 0;
my %seen;
my $dups = 0;
for my $f (@bigfiles)
{
	open(my $fh, '<', "$dir/$f") or die;
	while (my $l = <$fh>)
	{
		my ($k) = split /\t/, $l, 2;
		$dups++ if $seen{$k}++;
		$lines++;
	}
	close $fh;
}
is($lines, 1500000, 'workers 2: the slice files hold every row of the big table');
is($dups, 0, 'workers 2: no row is in two slices');
is($node->safe_psql($db,
		"SELECT count(*) FILTER (WHERE NOT ok) FROM bac.verify_snapshot('$id')"),
	'0', 'workers 2: the sliced snapshot verifies');

$node->stop;
done_testing();
