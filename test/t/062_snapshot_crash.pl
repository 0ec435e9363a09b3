# test/t/062_snapshot_crash.pl: a snapshot killed at any moment leaves no
# snapshot that lists as valid, and nothing else changed.
#
# A snapshot with workers => 2 and zstd compression of a service with a
# table large enough to be copied in slices is interrupted by:
#   - kill -9 of the snapshotting backend,
#   - kill -9 of one of its parallel workers,
#   - an immediate stop of the postmaster,
# at moments taken from the snapshot's own progress: the temporary
# directory appearing, the k-th file appearing in it, COPY of the large
# table k% through (pg_stat_progress_copy), the manifest appearing.
# After each crash and recovery: bac.snapshots() lists exactly the
# snapshots listed before (or the new one too, if it was complete before
# the kill, and then it verifies), verify_snapshot passes on every listed
# snapshot, the database equals its state before (schema dump, data
# hashes), and after the next snapshot no temporary directory is left.
#
# BAC_CRASH_MOMENTS=full (make stress) runs every moment; the default runs
# a spread subset.  The number of moments reached is printed.
use strict;
use warnings;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BacSnapshotTest;
use BacGuarantee;

my $full = ($ENV{BAC_CRASH_MOMENTS} // '') eq 'full';
my $node = PostgreSQL::Test::Cluster->new('snapshot_crash');
$node->init;
$node->append_conf('postgresql.conf', q{
restart_after_crash = on
max_worker_processes = 16
max_parallel_workers = 8
max_wal_size = 2GB
});
$node->start;
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE SCHEMA cs;
CREATE TABLE cs.big (id int PRIMARY KEY, pad text);
INSERT INTO cs.big SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 900000) g;
CREATE TABLE cs.t1 (id int, v text);
INSERT INTO cs.t1 SELECT g, repeat('a', g % 100) FROM generate_series(1, 30000) g;
CREATE TABLE cs.t2 (id int, v numeric);
INSERT INTO cs.t2 SELECT g, g / 3.0 FROM generate_series(1, 30000) g;
CREATE TABLE cs.t3 (id int, v jsonb);
INSERT INTO cs.t3 SELECT g, jsonb_build_object('g', g) FROM generate_series(1, 30000) g;
CREATE INDEX t1_v ON cs.t1 (v);
CREATE SEQUENCE cs.s;
SELECT setval('cs.s', 42);
CREATE SCHEMA other;
CREATE TABLE other.t (id int PRIMARY KEY, v text);
INSERT INTO other.t SELECT g, 'v' || g FROM generate_series(1, 100) g;
VACUUM ANALYZE;
});
bac_register($node, $db, 'cs', 'other');
my $archive = $node->data_dir . '/pg_bac';
my $args = "'{cs}', workers => 2, compression => 'zstd'";

# a complete snapshot first: its files tell how many moments there are
my $base = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot($args)");
my @base_files = bac_files_of("$archive/$base");
my $nfiles = scalar(@base_files) - 1;	# without the manifest
my @slices = grep { m{/data/\d+\.\d+\.copy} } @base_files;
cmp_ok(scalar(@slices), '>=', 2, "the large table is copied in slices (@slices)");
my $listed_before = $node->safe_psql($db,
	'SELECT string_agg(snapshot_id, \',\' ORDER BY 1) FROM bac.snapshots()');
my $state = db_state($node, $db);

# the temporary directory of a running snapshot, or undef
sub tmp_dir
{
	opendir(my $dh, $archive) or return undef;
	my ($t) = grep { /^\.tmp-/ } readdir $dh;
	closedir $dh;
	return defined $t ? "$archive/$t" : undef;
}

sub files_in
{
	my ($dir) = @_;
	my $n = 0;
	find({ wanted => sub { $n++ if -f $_ }, no_chdir => 1 }, $dir) if -d $dir;
	return $n;
}

# Wait for a moment; returns true when reached.  $kind: 'files' (the
# temporary directory holds >= $param files; 0: it exists), 'copied' (a COPY
# of a slice of cs.big has processed >= $param % of its rows), 'manifest'.
sub wait_moment
{
	my ($kind, $param, $h) = @_;
	my $deadline = time + 120;
	while (time < $deadline)
	{
		return 0 unless $h->pumpable;
		my $t = tmp_dir();
		if ($kind eq 'files')
		{
			return 1 if defined $t && files_in($t) >= $param;
			usleep(300);
		}
		elsif ($kind eq 'manifest')
		{
			return 1 if defined $t && -e "$t/manifest.json";
			usleep(100);
		}
		else
		{
			# a slice of cs.big is half its rows; slices are COPY of a
			# query, so progress has no relid: take the snapshot's copies
			my $done = $node->safe_psql($db, q{
SELECT coalesce(max(p.tuples_processed), 0) FROM pg_stat_progress_copy p
  JOIN pg_stat_activity a ON a.pid = p.pid WHERE a.application_name = 'snapper'});
			return 1 if $done >= 450000 * $param / 100;
			usleep(2000);
		}
		$h->pump_nb;
	}
	return 0;
}

# The moments: [target, kind, param]
my @moments;
for my $k (0 .. $nfiles)
{
	push @moments, [ 'backend', 'files', $k ];
}
push @moments, [ 'backend', 'manifest', 0 ];
push @moments, [ 'backend', 'copied', $_ ] for (20, 60);
push @moments, [ 'worker', 'copied', $_ ] for (5, 25, 50, 75, 95);
push @moments, [ 'worker', 'files', $_ ] for (2, 3);
push @moments, [ 'postmaster', 'files', $_ ] for (0, int($nfiles / 3), int(2 * $nfiles / 3), $nfiles);
push @moments, [ 'postmaster', 'copied', 50 ];
push @moments, [ 'postmaster', 'manifest', 0 ];
unless ($full)
{
	# every third moment, and always one of each target
	my $i = 0;
	@moments = grep { $i++ % 3 == 0 } @moments;
	push @moments, [ 'worker', 'copied', 40 ], [ 'postmaster', 'copied', 30 ];
}

my ($reached, $crashed, $completed) = (0, 0, 0);
my %by_target;
for my $m (@moments)
{
	my ($target, $kind, $param) = @$m;
	my $what = "$target at $kind $param";
	my ($h, $out, $err) = start_psql($node, $db, 'snapper',
		"SET client_min_messages = warning", "SELECT snapshot_id FROM bac.snapshot($args)");
	my $ok = wait_moment($kind, $param, $h);
	my $victim;
	if ($ok && $target eq 'backend')
	{
		$victim = $node->safe_psql($db,
			"SELECT pid FROM pg_stat_activity WHERE application_name = 'snapper' AND backend_type = 'client backend'");
	}
	elsif ($ok && $target eq 'worker')
	{
		($victim) = split /\n/, $node->safe_psql($db, q{
SELECT w.pid FROM pg_stat_activity w JOIN pg_stat_activity l ON l.pid = w.leader_pid
 WHERE l.application_name = 'snapper' AND w.backend_type = 'parallel worker'});
	}
	if ($target eq 'postmaster' && $ok)
	{
		$node->stop('immediate');
		$h->finish;
		$node->start;
	}
	elsif ($victim)
	{
		my $off = -s $node->logfile;
		kill 'KILL', $victim;
		$h->finish;
		wait_for_recovery($node, $db, $off);
	}
	else
	{
		# the moment was not reached (the snapshot ended first)
		$h->finish;
		note("$what: not reached");
		my ($id) = $$out =~ /(\d{8}T\d{6}\.\d{6}Z)/;
		$node->safe_psql($db, "SELECT bac.drop_snapshot('$id')") if $id;
		next;
	}
	$reached++;
	$by_target{$target}++;
	my $died = $h->result(0) != 0;
	$died ? $crashed++ : $completed++;

	# what lists now: the snapshots before, and the new one only if it was
	# complete (then it must verify)
	my @listed = split /\n/, $node->safe_psql($db,
		'SELECT snapshot_id FROM bac.snapshots() ORDER BY 1');
	my @new = grep { index(",$listed_before,", ",$_,") < 0 } @listed;
	ok(@new <= 1, "$what: at most the snapshot being taken is new in the list");
	my $bad = $node->safe_psql($db, q{
SELECT count(*) FROM bac.snapshots() s, bac.verify_snapshot(s.snapshot_id) v WHERE NOT v.ok});
	is($bad, '0', "$what: every listed snapshot verifies");
	if (@new)
	{
		note("$what: the snapshot was complete before the kill");
		$node->safe_psql($db, "SELECT bac.drop_snapshot('$new[0]')");
	}
	is(db_state($node, $db), $state, "$what: the database equals its state before");

	# the next snapshot removes the temporary directory
	my $id = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot('{other}')");
	is(tmp_dir(), undef, "$what: no temporary directory after the next snapshot");
	$node->safe_psql($db, "SELECT bac.drop_snapshot('$id')");
}

ok($by_target{backend} && $by_target{worker} && $by_target{postmaster},
	'every target was crashed at least once');
cmp_ok($reached, '>=', $full ? 20 : 8,
	"snapshot crash: $reached moments reached of " . scalar(@moments)
	  . " ($crashed killed mid-snapshot, $completed finished first; "
	  . join(', ', map { "$_ $by_target{$_}" } sort keys %by_target) . ")");
diag("counts: snapshot crash: $reached moments reached (" . join(", ", map { "$_ $by_target{$_}" } sort keys %by_target) . "), $crashed killed mid-snapshot");

# the snapshot still works after all this
my $last = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot($args)");
is($node->safe_psql($db, "SELECT count(*) FROM bac.verify_snapshot('$last') WHERE NOT ok"), '0',
	'a snapshot after the crashes is complete');

$node->stop;
done_testing();
