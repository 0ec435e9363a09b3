# test/t/066_wal_full.pl: a restore whose WAL cannot grow loses nothing.
#
# The cluster's pg_wal is on the small filesystem test/run-tests.sh mounts
# (as root) in BAC_SMALLFS (initdb --waldir, 1 MB segments, no checkpoint
# during the test so the WAL of one transaction stays on disk).  Without
# it the test is SKIPPED (never passed).
#
# A first restore of the service under another name measures how much
# WAL a restore writes.  Then a filler leaves less than half of that free
# and the service is restored in place (keeping the previous schema): a
# WAL write fails for lack of space: a PANIC (a WAL write cannot fail in
# a critical section), the restore's session is gone, the server restarts
# (restart_after_crash = on, as in production) and its crash recovery,
# needing a new WAL segment too, may fail and shut it down.  With the filler removed and the server (re)started,
# the database equals its state before the restore (schemas, pg_dump
# --schema-only, every table's rows, sequences), and the same restore
# then succeeds and brings back the snapshot.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use BacSnapshotTest;
use BacGuarantee;

my $small = $ENV{BAC_SMALLFS} // '';
plan skip_all => 'SKIP: BAC_SMALLFS is not set (no small filesystem; make test mounts one when run as root)'
  unless $small ne '' && -d $small && -w $small;

my $name = "wal_full_$$";
my $waldir = "$small/$name-wal";
my $node = PostgreSQL::Test::Cluster->new('wal_full');
$node->init(extra => [ "--waldir=$waldir", '--wal-segsize=1' ]);
$node->append_conf('postgresql.conf', q{
wal_level = replica
max_wal_senders = 0
min_wal_size = 2MB
max_wal_size = 4GB
checkpoint_timeout = 1d
# as in production (the test framework turns it off)
restart_after_crash = on
});
$node->start;
my $db = 'postgres';

# fill the small filesystem until $leave bytes are free; returns the filler
sub fill
{
	my ($leave) = @_;
	return fill_until("$small/$name-filler", $leave);
}

$node->safe_psql($db, q{
CREATE SCHEMA wal_svc;
CREATE TABLE wal_svc.t (id int PRIMARY KEY, pad text);
INSERT INTO wal_svc.t SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 60000) g;
CREATE SEQUENCE wal_svc.s;
SELECT nextval('wal_svc.s') FROM generate_series(1, 5);
CREATE SCHEMA other;
CREATE TABLE other.u (id int);
INSERT INTO other.u SELECT generate_series(1, 10);
});
bac_register($node, $db, 'wal_svc', 'other');
my $snap = $node->safe_psql($db, q{SELECT snapshot_id FROM bac.snapshot('{wal_svc}')});
$node->safe_psql($db, q{
UPDATE wal_svc.t SET pad = 'after' WHERE id % 10 = 0;
SELECT nextval('wal_svc.s') FROM generate_series(1, 5);
INSERT INTO other.u VALUES (11);
});

# how much WAL a restore of the service writes
my $wal = $node->safe_psql($db, qq{
SELECT pg_current_wal_lsn() AS l0 \\gset
SELECT count(*) FROM bac.restore('$snap', 'wal_svc', into_schema => 'wal_copy');
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :'l0')::bigint;
DROP SCHEMA wal_copy CASCADE;
});
($wal) = $wal =~ /(\d+)\s*$/;
# a checkpoint keeps old segments as future ones, as many as it expects
# to need (up to max_wal_size): with max_wal_size at its minimum for that
# checkpoint, pg_wal keeps little beyond the current segment, then no
# checkpoint comes before the end of the test
$node->safe_psql($db, q{
ALTER SYSTEM SET max_wal_size = '2MB';
SELECT pg_reload_conf();
SELECT pg_sleep(1);
});
$node->safe_psql($db, 'CHECKPOINT');
$node->safe_psql($db, q{
ALTER SYSTEM RESET max_wal_size;
SELECT pg_reload_conf();
SELECT pg_sleep(1);
});
my $segments = $node->safe_psql($db, q{SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'});
note("pg_wal holds $segments segments of 1 MB");
cmp_ok($segments, '<=', 4, 'pg_wal keeps no more than a few segments');
my $free = free_bytes($small);
note("a restore writes $wal bytes of WAL; $free bytes free on the small filesystem");
cmp_ok($wal, '>', 4 * 1024 * 1024, 'a restore writes several WAL segments');
cmp_ok($free, '>', $wal + 4 * 1024 * 1024,
	'the small filesystem has room for the restore once the filler is gone');

my $before = db_state($node, $db);
my $filler = fill(int($wal / 3));
my $offset = -s $node->logfile;
my ($ret, $out, $err) = $node->psql($db, "SELECT count(*) FROM bac.restore('$snap', 'wal_svc')");
isnt($ret, 0, 'the restore fails when its WAL cannot grow');
like($err, qr/server closed the connection|terminating connection|No space left on device/,
	'its session ends (server crash) or gets the error') or diag($err);

# the server either restarts on its own (if crash recovery's checkpoint
# finds room) or stays down: wait for one or the other
my $log = '';
for (1 .. 1200)
{
	$log = substr(slurp($node->logfile), $offset);
	last if $log =~ /reinitializing.*(ready to accept connections|aborting startup|database system is shut down)/s
	  || $log =~ /shutting down because restart_after_crash is off/;
	usleep(100_000);
}
like($log, qr/PANIC:.*No space left on device/, 'the server log shows the PANIC of a WAL write on a full disk');
my $outcome = $log =~ /reinitializing.*ready to accept connections/s ? 'the server recovered on its own'
  : $log =~ /startup process failure/ ? 'crash recovery failed for lack of space too, the server stayed down until space was freed'
  : 'the server stayed down until space was freed';
note($outcome);

# free the space, restart (immediate stop of whatever is left)
$node->stop('immediate', fail_ok => 1);
unlink $filler or die "unlink $filler: $!";
$node->_update_pid(-1);
$node->start;
is(db_state($node, $db), $before, 'after freeing space and restarting, the database equals its state before the restore');

($ret, $out, $err) = $node->psql($db, "SELECT count(*) FROM bac.restore('$snap', 'wal_svc')");
is($ret, 0, 'with space freed, the restore succeeds') or diag($err);
is($node->safe_psql($db, q{SELECT count(*) FROM wal_svc.t WHERE pad = 'after'}), '0',
	'and brings back the snapshot');
is($node->safe_psql($db, q{SELECT last_value FROM wal_svc.s}), '5', 'and its sequence value');
is($node->safe_psql($db, q{SELECT count(*) FROM other.u}), '11', 'another service is untouched');

diag("counts: WAL full: a restore writing $wal bytes of WAL with " . int($wal / 3)
	  . " bytes free for pg_wal: PANIC, $outcome; then the state before the restore, and the restore succeeded");
$node->stop;
system('rm', '-rf', $waldir);
done_testing();
