# test/t/073_pitr_retention.pl: change segments are pruned with the
# snapshots.  Pruning removes exactly the oldest closed segments whose every
# transaction each kept valid base sees (computed here independently from
# bac.pitr_transactions() and the snapshots' txid snapshots), never the
# segment being written, nothing while no valid base exists, nothing a
# running transaction's snapshot could still miss; a restore to an instant
# after the oldest kept base still gives that instant's data once the
# window's start record is gone; a damaged segment index is ignored.  No
# archiver worker here (pg_bac is not preloaded): bac.pitr_pump() drains the
# slot, so the segments are the same on every run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacPitrTest;

my $node = pitr_node('retention', preload => 0,
	conf => "bac.change_segment_size = 64\nautovacuum = off\n");
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA r;
CREATE TABLE r.t (id int PRIMARY KEY, v text);
CREATE TABLE r.loose (x int);
SELECT bac.register_service('r');
});

my $changes = $node->data_dir . '/pg_bac/changes/'
  . $node->safe_psql($db, q{SELECT oid FROM pg_database WHERE datname = current_database()});

# the segments on disk, oldest first
sub segments
{
	opendir(my $d, $changes) or return ();
	my @s = sort grep { /^[0-9A-F]{16}\.changes$/ } readdir($d);
	closedir($d);
	return @s;
}

# one round of work: ~100 kB of changes, then drained (the next round
# starts a new segment)
my $next_id = 0;
sub work
{
	my ($rounds) = @_;
	for (1 .. $rounds)
	{
		my $from = $next_id + 1;
		$next_id += 400;
		$node->safe_psql($db, qq{
INSERT INTO r.t SELECT i, repeat(md5(i::text), 6) FROM generate_series($from, $next_id) i;
UPDATE r.t SET v = 'u' || id WHERE id % 7 = 0 AND id BETWEEN $from - 400 AND $next_id;
DELETE FROM r.t WHERE id % 11 = 0 AND id BETWEEN $from - 400 AND $next_id;
SELECT bac.pitr_pump();});
	}
}

sub snapshot
{
	return $node->safe_psql($db, q{SELECT snapshot_id FROM bac.snapshot()});
}

# How many of the oldest segments pruning must remove when these snapshots
# are the kept valid bases: the longest run of closed segments whose every
# transaction is visible in each of them.
sub expected_prunable
{
	my @bases = @_;
	my @segs = segments();
	my $cond = join(' AND ', map {
		qq{pg_visible_in_snapshot(xid, (SELECT txid_snapshot::pg_snapshot FROM bac.snapshots() WHERE snapshot_id = '$_'))}
	} @bases);
	my %needed = map { $_ => 1 } split /\n/, $node->safe_psql($db,
		qq{SELECT DISTINCT segment FROM bac.pitr_transactions() WHERE NOT ($cond)});
	my $n = 0;
	for my $i (0 .. $#segs - 1)
	{
		last if $needed{ $segs[$i] };
		$n++;
	}
	return $n;
}

sub prune
{
	return $node->safe_psql($db,
		q{SELECT removed || '|' || kept || '|' || coalesce(reason, '') FROM bac.pitr_prune()});
}

# a snapshot before the window: never a valid base
my $s0 = snapshot();
my ($ret, $out, $err) = $node->psql($db, 'SELECT * FROM bac.enable_pitr()');
like($err, qr/1 tables of registered services cannot be replayed: r\.loose/,
	'enable_pitr names the table without a key');

# once PITR is enabled, register_service names the new service's tables
# that cannot be replayed (and only those)
($ret, $out, $err) = $node->psql($db, q{
CREATE SCHEMA k;
CREATE TABLE k.nokey (x int);
CREATE TABLE k.nothing (x int);
ALTER TABLE k.nothing REPLICA IDENTITY NOTHING;
CREATE TABLE k.keyed (id int PRIMARY KEY);
CREATE TABLE k.full (x int);
ALTER TABLE k.full REPLICA IDENTITY FULL;
SELECT bac.register_service('k');});
is($ret, 0, 'register_service works');
like($err, qr/2 tables of registered services cannot be replayed: k\.nokey, k\.nothing\n/,
	'register_service names the tables of the service without a key');
unlike($err, qr/r\.loose|k\.keyed|k\.full/, 'and no other table');
my ($window_lsn) = $node->safe_psql($db, 'SELECT window_start_lsn FROM bac.pitr_status');
work(5);
my @before = segments();
cmp_ok(scalar(@before), '>=', 5, 'the work filled several segments (' . scalar(@before) . ')');
like(prune(), qr/^0\|\d+\|no snapshot is a valid base/,
	'only a snapshot from before the window: nothing is pruned');
is(scalar(segments()), scalar(@before), 'every segment is still there');

my $s1 = snapshot();
work(3);
my $hash_t = schema_hashes($node, $db, 'r');
my $lsn_t = $node->safe_psql($db, 'SELECT pg_current_wal_insert_lsn()');
work(3);
my $s2 = snapshot();
work(3);

# bases S1 and S2: what S1 does not see stays
my $expect = expected_prunable($s1, $s2);
cmp_ok($expect, '>=', 4, "segments before S1 that no base needs ($expect)");
my $total = scalar(segments());
my $first_txn = $node->safe_psql($db,
	qq{SELECT min(commit_lsn) FROM bac.pitr_transactions() WHERE NOT pg_visible_in_snapshot(xid, (SELECT txid_snapshot::pg_snapshot FROM bac.snapshots() WHERE snapshot_id = '$s1'))});
is(prune(), "$expect|" . ($total - $expect) . '|the next segment holds a transaction a kept snapshot does not see',
	'pitr_prune removes exactly the segments before the oldest valid base\'s first unseen transaction');
is(scalar(segments()), $total - $expect, 'they are gone from disk');
is($node->safe_psql($db,
	qq{SELECT count(*) FROM bac.pitr_transactions() WHERE commit_lsn >= '$first_txn'}),
	$node->safe_psql($db, qq{SELECT count(*) FROM bac.pitr_transactions()}),
	'every transaction S1 does not see is still archived');
is($node->safe_psql($db, 'SELECT segments FROM bac.pitr_status'), $total - $expect,
	'pitr_status counts the segments left');
cmp_ok($node->safe_psql($db, qq{SELECT oldest_lsn > '$window_lsn' FROM bac.pitr_status}), 'eq', 't',
	'the segment with the window\'s start record is gone');
like($node->safe_psql($db, 'SELECT window_open, window_start_lsn FROM bac.pitr_status'),
	qr/^t\|\Q$window_lsn\E$/, 'the window is still known from the segments left');
like(prune(), qr/^0\|/, 'a second prune removes nothing');

# after pruning, a restore to an instant after S1 (base S1) is exact
($ret, $out, $err) = $node->psql($db, qq{
SET client_min_messages = notice;
SELECT count(*) FROM bac.restore('r', target_lsn => '$lsn_t', into_schema => 'r_t')});
is($ret, 0, 'restore to an instant after S1 works after pruning') or diag($err);
like($err, qr/base snapshot "$s1"/, 'its base is S1');
is(schema_hashes($node, $db, 'r_t'), $hash_t,
	'restore to the instant gives that instant\'s data, table by table');
# and S1 + replay to S2's instant equals S2
$node->safe_psql($db, qq{
SET client_min_messages = warning;
SELECT count(*) FROM bac.restore('$s1', 'r', into_schema => 'r_a');
SELECT count(*) FROM bac.restore('$s2', 'r', into_schema => 'r_b');
SELECT * FROM bac.pitr_replay('$s1', 'r', 'r_a', target_snapshot => '$s2');
});
is(compare_schemas($node, $db, 'r_a', 'r_b', 'S1 + replay to S2 after pruning'), 0,
	'S1 restored and replayed to S2 equals S2 after pruning');

# a damaged index is ignored: make the index of the oldest segment claim
# no transaction without fixing its checksum; it must not be pruned
my @segs = segments();
(my $index = "$changes/$segs[0]") =~ s/\.changes$/.index/;
ok(-f $index, 'the segment that stayed has an index');
{
	open(my $fh, '+<', $index) or die "open $index: $!";
	binmode $fh;
	seek($fh, 8 + 4 + 8 + 8 + 8, 0);
	print $fh pack('Q>', 0);    # transactions = 0
	close $fh;
}
like(prune(), qr/^0\|/, 'a damaged index that claims an empty segment does not prune it');
is(scalar(segments()), scalar(@segs), 'the segment is still there');

# a restore to an instant holds the change archive until its transaction
# ends: S1 dropped meanwhile prunes nothing (the restore lists the segments
# before reading them), and pitr_prune says why
$expect = expected_prunable($s2);
cmp_ok($expect, '>=', 3, "segments between S1 and S2 no kept base needs ($expect)");
my $hash_now = schema_hashes($node, $db, 'r');
my $lsn_now = $node->safe_psql($db, 'SELECT pg_current_wal_insert_lsn()');
$node->safe_psql($db, 'SELECT bac.pitr_pump()');

# every closed segment has an index, written when the archive moved on; a
# restore from base S2 leaves unread the segments S2 sees whole
my @closed = segments();
pop @closed;
is(scalar(grep { (my $i = $_) =~ s/\.changes$/.index/; !-f "$changes/$i" } @closed),
	0, 'every closed segment has an index');
($ret, $out, $err) = $node->psql($db, qq{SET client_min_messages = debug1;
SELECT count(*) FROM bac.restore('r', target_lsn => '$lsn_now', into_schema => 'r_skip')});
is($ret, 0, 'a restore to an instant after S2 works') or diag($err);
like($err, qr/base snapshot "$s2"/, 'its base is S2');
my ($skipped) = $err =~ /replay left (\d+) of \d+ change segments unread/;
is($skipped // 0, $expect, "it leaves unread the $expect segments S2 sees whole");
is(schema_hashes($node, $db, 'r_skip'), $hash_now,
	'and gives that instant\'s data, table by table');
my $reader = $node->background_psql($db);
$reader->query_safe('BEGIN');
$reader->query_safe(qq{SET client_min_messages = warning;
SELECT count(*) FROM bac.restore('r', target_lsn => '$lsn_now', into_schema => 'r_hold')});
my @held = segments();
($ret, $out, $err) = $node->psql($db, qq{SELECT bac.drop_snapshot('$s1')});
is($ret, 0, 'S1 is dropped while the restore to an instant is open') or diag($err);
unlike($err, qr/removed \d+ change segments/, 'and no segment is pruned with it');
is(scalar(segments()), scalar(@held), 'every segment is still there');
like(prune(), qr/^0\|\d+\|a restore to an instant is reading the change archive$/,
	'pitr_prune removes nothing while the restore holds the archive, and says why');
$reader->query_safe('ROLLBACK');
$reader->quit;
like(prune(), qr/^$expect\|/,
	'once it ended, pruning removes the segments only S1 needed');
is(scalar(segments()), scalar(@held) - $expect, 'they are gone');

# a transaction running since before S3 holds its snapshot: the segments
# with transactions it could miss stay until it ends, even though S3 (the
# only kept base) sees them
my $old = $node->background_psql($db);
my $old_pid = $old->query_safe('SELECT pg_backend_pid()');
$old->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$old->query_safe('SELECT count(*) FROM r.t');
my $old_xmin = $node->safe_psql($db,
	"SELECT backend_xmin FROM pg_stat_activity WHERE pid = $old_pid");
work(2);
my $s3 = snapshot();
work(1);
my $after_xmin = qq{SELECT count(*) FROM bac.pitr_transactions() WHERE xid::text::bigint >= $old_xmin};
my $n_after = $node->safe_psql($db, $after_xmin);
cmp_ok($n_after, '>=', 2, "transactions after the running snapshot's xmin ($n_after)");
my $n_segs = scalar(segments());
($ret, $out, $err) = $node->psql($db, qq{SELECT bac.prune_snapshots(keep_last => 1)});
is($out, '2', 'prune_snapshots drops S0 and S2');
like($err, qr/removed \d+ change segments/, 'and prunes segments only S2 needed');
cmp_ok(scalar(segments()), '<', $n_segs, 'some segments went');
is($node->safe_psql($db, $after_xmin), $n_after,
	'every transaction the running snapshot could miss is still archived');
$old->query_safe('COMMIT');
$old->quit;
like(prune(), qr/^\d+\|1\|the next segment is the one being written/,
	'once it ended, every closed segment goes; the one being written stays');

# the segment being written is never removed, and archiving goes on
my @last = segments();
is(scalar(@last), 1, 'one segment left');
like(prune(), qr/^0\|1\|the only segment is the one being written/,
	'pruning never removes the segment being written');
is(join(',', segments()), join(',', @last), 'it is still there');
work(1);
my $hash_u = schema_hashes($node, $db, 'r');
my $lsn_u = $node->safe_psql($db, 'SELECT pg_current_wal_insert_lsn()');
work(1);
$node->safe_psql($db, qq{
SET client_min_messages = warning;
SELECT count(*) FROM bac.restore('r', target_lsn => '$lsn_u', into_schema => 'r_u')});
is(schema_hashes($node, $db, 'r_u'), $hash_u,
	'a restore to an instant after S3 is exact with only the newest segments left');

# no valid base at all: nothing is pruned
$node->safe_psql($db, qq{SELECT bac.drop_snapshot('$s3')});
my $n = scalar(segments());
cmp_ok($n, '>=', 2, 'several segments again');
like(prune(), qr/^0\|$n\|no snapshot is a valid base/,
	'without any valid base every segment is kept');

# the archiver worker prunes too: a new base, then pg_bac preloaded; its
# first prune removes what the base no longer needs
my $s4 = snapshot();
work(2);
$expect = expected_prunable($s4);
cmp_ok($expect, '>=', 2, "segments no kept base needs once S4 exists ($expect)");
my $oldest_after = (segments())[$expect];
$oldest_after =~ s/^([0-9A-F]{8})([0-9A-F]{8})\.changes$/sprintf('%X\/%X', hex($1), hex($2))/e;
my $log_offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_bac'\n");
$node->restart;
ok($node->poll_query_until($db, qq{SELECT oldest_lsn = '$oldest_after' FROM bac.pitr_status}),
	'the worker pruned the change archive up to S4');
ok($node->log_contains("removed $expect change segments no kept snapshot needs", $log_offset),
	'and logged how many segments went');

$node->stop;
done_testing();
