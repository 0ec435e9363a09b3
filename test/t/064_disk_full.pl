# test/t/064_disk_full.pl: a full disk fails a snapshot or a restore
# cleanly and loses nothing.
#
# test/run-tests.sh mounts (as root) a 64 MB tmpfs owned by postgres and
# passes its path in BAC_SMALLFS.  Without it the test is SKIPPED (never
# passed).
#
# Snapshot: the archive directory is on the small filesystem, mostly taken
# by a filler file; a snapshot (plain, then zstd with two workers) fails
# with an error naming the directory and "No space left on device",
# leaves no file behind and lists nothing; once the filler is removed the
# same snapshot succeeds and verifies.
#
# Restore: the service's tables live in a tablespace on the small
# filesystem, mostly taken by a filler; restoring the service in place
# (keeping the previous schema, so the data must be written again) fails
# for lack of space and rolls back whole: the database equals its state
# before.  Without the filler the restore succeeds.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacSnapshotTest;
use BacGuarantee;

my $small = $ENV{BAC_SMALLFS} // '';
plan skip_all => 'SKIP: BAC_SMALLFS is not set (no small filesystem; make test mounts one when run as root)'
  unless $small ne '' && -d $small && -w $small;

my $node = bac_node('disk_full');
my $db = 'postgres';
my $name = "disk_full_$$";
my $archive = "$small/$name-archive";
my $tsdir = "$small/$name-ts";
mkdir $archive or die "mkdir $archive: $!";
chmod 0700, $archive;
mkdir $tsdir or die "mkdir $tsdir: $!";
chmod 0700, $tsdir;

# fill the small filesystem until $leave bytes are free; returns the filler
sub fill
{
	my ($leave, $tag) = @_;
	return fill_until("$small/$name-filler-$tag", $leave);
}

$node->safe_psql($db, q{
CREATE SCHEMA full_svc;
CREATE TABLE full_svc.t (id int PRIMARY KEY, pad text);
INSERT INTO full_svc.t SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 400000) g;
CREATE SCHEMA other;
CREATE TABLE other.u (id int);
INSERT INTO other.u SELECT generate_series(1, 10);
});
bac_register($node, $db, 'full_svc', 'other');
# (the setting exists once the library is loaded in the session)
$node->safe_psql($db, qq{
SELECT bac.version();
ALTER SYSTEM SET bac.archive_directory = '$archive';
SELECT pg_reload_conf();
});
my $raw = $node->safe_psql($db, q{SELECT sum(length(t::text) + 1) FROM full_svc.t});
note("full_svc.t is about $raw bytes of COPY text");

# --- snapshot on a full disk ---
my $cases = 0;
for my $args ("'{full_svc}'", "'{full_svc}', workers => 2, compression => 'zstd'")
{
	# leave a quarter of what the data needs (compressed: a twentieth)
	my $leave = $args =~ /zstd/ ? int($raw / 20) : int($raw / 4);
	my $filler = fill($leave, 'snap');
	my ($ret, $out, $err) = $node->psql($db, "SELECT snapshot_id FROM bac.snapshot($args)");
	$cases++;
	isnt($ret, 0, "snapshot($args) on a full disk fails");
	like($err, qr/\Q$archive\E/, "the error names the archive directory");
	like($err, qr/No space left on device/, 'and says the device is full');
	opendir(my $dh, $archive) or die;
	my @left = grep { $_ ne '.' && $_ ne '..' } readdir $dh;
	closedir $dh;
	is_deeply(\@left, [], 'the failed snapshot left no file behind');
	is($node->safe_psql($db, 'SELECT count(*) FROM bac.snapshots()'), '0', 'and nothing lists');
	unlink $filler or die;
	my $id = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot($args)");
	like($id, qr/^\d{8}T/, 'with space freed, the same snapshot succeeds');
	is($node->safe_psql($db, "SELECT count(*) FROM bac.verify_snapshot('$id') WHERE NOT ok"), '0',
		'and verifies');
	$node->safe_psql($db, "SELECT bac.drop_snapshot('$id')");
}

# --- restore into a full tablespace ---
$node->safe_psql($db, qq{
SELECT bac.version();
ALTER SYSTEM RESET bac.archive_directory;
SELECT pg_reload_conf();
});
$node->safe_psql($db, "CREATE TABLESPACE small_ts LOCATION '$tsdir'");
$node->safe_psql($db, q{
CREATE SCHEMA ts_svc;
CREATE TABLE ts_svc.t (id int PRIMARY KEY USING INDEX TABLESPACE small_ts, pad text) TABLESPACE small_ts;
INSERT INTO ts_svc.t SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 150000) g;
SELECT bac.register_service('ts_svc');
});
my $snap = $node->safe_psql($db, q{SELECT snapshot_id FROM bac.snapshot('{ts_svc}')});
$node->safe_psql($db, q{UPDATE ts_svc.t SET pad = 'after' WHERE id % 10 = 0; CHECKPOINT});
my $size = $node->safe_psql($db, q{SELECT pg_total_relation_size('ts_svc.t')});
{
	my $before = db_state($node, $db);
	my $filler = fill(int($size / 3), 'ts');
	my ($ret, $out, $err) = $node->psql($db,
		"SET default_tablespace = small_ts; SELECT count(*) FROM bac.restore('$snap', 'ts_svc')");
	$cases++;
	isnt($ret, 0, 'a restore into a full tablespace fails');
	like($err, qr/No space left on device|could not extend file/, 'for lack of space') or diag($err);
	is(db_state($node, $db), $before, 'and rolls back whole: the database equals its state before');
	unlink $filler or die;
	($ret, $out, $err) = $node->psql($db,
		"SET default_tablespace = small_ts; SELECT count(*) FROM bac.restore('$snap', 'ts_svc', keep_previous => false)");
	is($ret, 0, 'with space freed, the restore succeeds') or diag($err);
	is($node->safe_psql($db, q{SELECT count(*) FROM ts_svc.t WHERE pad = 'after'}), '0',
		'and brings back the snapshot');
}

diag("counts: disk full: $cases full-disk cases on a 64 MB tmpfs");
# leave the small filesystem empty for the next test (066)
$node->safe_psql($db, q{
SELECT bac.unregister_service('ts_svc');
DROP SCHEMA ts_svc CASCADE;
DROP TABLESPACE small_ts;
});
$node->stop;
system('rm', '-rf', $tsdir, $archive);
done_testing();
