# test/t/063_restore_crash_moments.pl: bac.restore and bac.restore_group
# killed at any moment leave the database exactly as it was.
#
# The moments come from the restore's own progress: the k-th table load
# starting (pg_stat_progress_copy, COPY FROM), the large table k% loaded,
# the indexes of the k-th table being built (pg_stat_progress_create_index),
# and the function returned but the transaction not committed.  At each
# moment either the restoring backend is killed with SIGKILL (the
# postmaster resets and recovers) or the postmaster is stopped in
# immediate mode; for restore in place (keeping and dropping the previous
# schema), under another name, and restore_group of two services.  After
# each crash the schema dump, every table's rows and the sequences equal
# the state before.
#
# BAC_CRASH_MOMENTS=full (make stress) runs every moment; the default runs
# a spread subset.  The number of moments reached is printed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BacGuarantee;

my $full = ($ENV{BAC_CRASH_MOMENTS} // '') eq 'full';
my $node = PostgreSQL::Test::Cluster->new('restore_crash_moments');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\nmax_wal_size = 2GB");
$node->start;
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA rs;
CREATE TABLE rs.item (id int PRIMARY KEY, payload text NOT NULL, n numeric);
CREATE INDEX item_payload ON rs.item (payload);
INSERT INTO rs.item SELECT g, md5(g::text) || repeat('x', 40), g / 7.0 FROM generate_series(1, 200000) g;
CREATE TABLE rs.tag (item_id int REFERENCES rs.item, tag text);
CREATE INDEX tag_tag ON rs.tag (tag);
INSERT INTO rs.tag SELECT g, 't' || g % 10 FROM generate_series(1, 200000, 3) g;
CREATE TABLE rs.note (id int PRIMARY KEY, body text);
INSERT INTO rs.note SELECT g, repeat('n', g % 200) FROM generate_series(1, 40000) g;
CREATE SEQUENCE rs.seq;
SELECT setval('rs.seq', 1000);
CREATE SCHEMA rt;
CREATE TABLE rt.x (id int PRIMARY KEY, item_id int, v text);
CREATE INDEX x_v ON rt.x (v);
INSERT INTO rt.x SELECT g, g, md5(g::text) FROM generate_series(1, 60000) g;
CREATE SCHEMA other;
CREATE TABLE other.t (id int PRIMARY KEY);
INSERT INTO other.t SELECT generate_series(1, 100);
SELECT bac.register_service('rs', service_group => 'g');
SELECT bac.register_service('rt', service_group => 'g');
SELECT bac.register_service('other');
SELECT bac.add_link('x_item', 'rt.x', '{item_id}', 'rs.item', '{id}');
});
my $snap = $node->safe_psql($db, q{SELECT snapshot_id FROM bac.snapshot('{rs,rt}', compression => 'lz4')});

# the state to keep, different from the snapshot
$node->safe_psql($db, q{
DELETE FROM rs.tag WHERE item_id < 1000;
UPDATE rs.item SET n = -1 WHERE id % 100 = 0;
UPDATE rt.x SET v = 'changed' WHERE id < 50;
SELECT nextval('rs.seq');
INSERT INTO other.t VALUES (101);
});
# a crash moves sequences to their last WAL-logged value (PostgreSQL
# logs 32 values ahead): crash once now so the state compared is the one
# every later crash also leaves
$node->stop('immediate');
$node->start;
my $before = db_state($node, $db);
watch_install($node);

my %ops = (
	'restore in place' => "SELECT count(*) FROM bac.restore('$snap', 'rs')",
	'restore dropping the previous' => "SELECT count(*) FROM bac.restore('$snap', 'rs', keep_previous => false)",
	'restore into another schema' => "SELECT count(*) FROM bac.restore('$snap', 'rs', into_schema => 'rs_copy')",
	'restore_group' => "SELECT count(*) FROM bac.restore_group('$snap', '{rs,rt}')");

# pid of the restoring backend once the moment is reached, "missed <pid>"
# when it returned before, else undef (polled inside the server every ms)
sub wait_moment
{
	my ($kind, $param) = @_;
	my $who = q{a.application_name = 'restorer' AND a.backend_type = 'client backend'};
	my $late = qq{SELECT a.pid, NULL::text AS key, true AS late FROM pg_stat_activity a
 WHERE $who AND a.wait_event = 'PgSleep'};
	my ($q, $k) = ('', 1);
	if ($kind eq 'table')
	{
		# the k-th distinct table being loaded
		$q = qq{SELECT a.pid, p.relid::text AS key, false AS late FROM pg_stat_activity a
  JOIN pg_stat_progress_copy p ON p.pid = a.pid WHERE $who AND p.command = 'COPY FROM'};
		$k = $param;
	}
	elsif ($kind eq 'rows')
	{
		$q = qq{SELECT a.pid, 'r' AS key, false AS late FROM pg_stat_activity a
  JOIN pg_stat_progress_copy p ON p.pid = a.pid WHERE $who AND p.tuples_processed >= 200000 * $param / 100};
	}
	elsif ($kind eq 'index')
	{
		# index_relid is 0 during a non-concurrent CREATE INDEX: count the
		# distinct tables whose indexes are being built
		$q = qq{SELECT a.pid, p.relid::text AS key, false AS late FROM pg_stat_activity a
  JOIN pg_stat_progress_create_index p ON p.pid = a.pid WHERE $who};
		$k = $param;
	}
	else
	{
		return watch($node, "SELECT a.pid, 's' AS key, false AS late FROM pg_stat_activity a
 WHERE $who AND a.wait_event = 'PgSleep'", 1);
	}
	return watch($node, "$q UNION ALL $late", $k);
}

my @moments;
for my $op (sort keys %ops)
{
	my $ntables = $op eq 'restore_group' ? 4 : 3;
	push @moments, [ 'backend', $op, 'table', $_ ] for 1 .. $ntables;
	push @moments, [ 'backend', $op, 'rows', $_ ] for (30, 80);
	push @moments, [ 'backend', $op, 'index', $_ ] for 1 .. ($op eq 'restore_group' ? 4 : 3);
	push @moments, [ 'backend', $op, 'before commit', 0 ];
}
push @moments, [ 'postmaster', 'restore in place', 'rows', 50 ];
push @moments, [ 'postmaster', 'restore in place', 'index', 2 ];
push @moments, [ 'postmaster', 'restore_group', 'table', 3 ];
push @moments, [ 'postmaster', 'restore_group', 'before commit', 0 ];
push @moments, [ 'backend', 'dry run', 'rows', 50 ];
$ops{'dry run'} = "SELECT count(*) FROM bac.restore_group('$snap', dry_run => true)";
unless ($full)
{
	my $i = 0;
	@moments = grep { $i++ % 4 == 0 } @moments;
	push @moments, [ 'postmaster', 'restore_group', 'index', 2 ];
}

my ($reached, %by) = (0);
for my $m (@moments)
{
	my ($target, $op, $kind, $param) = @$m;
	my $what = "$target killed during $op at $kind $param";
	my $sql = $ops{$op};
	# never committed unless the test fails: a missed moment is
	# terminated while it waits
	my @sql = ('BEGIN', $sql, 'SELECT pg_sleep(300)', 'COMMIT');
	my ($h, $out, $err) = start_psql($node, $db, 'restorer', @sql);
	my $pid = wait_moment($kind, $param);
	if (!defined $pid || $pid =~ /^missed (\d+)/)
	{
		$node->safe_psql($db, "SELECT pg_terminate_backend($1)") if defined $1;
		$h->finish;
		note("$what: not reached");
		next;
	}
	if ($target eq 'postmaster')
	{
		$node->stop('immediate');
		$h->finish;
		$node->start;
	}
	else
	{
		my $off = -s $node->logfile;
		kill 'KILL', $pid;
		$h->finish;
		wait_for_recovery($node, $db, $off);
	}
	$reached++;
	$by{$target}++;
	isnt($h->result(0), 0, "$what: the restoring session died");
	is(db_state($node, $db), $before, "$what: the database equals its state before");
}

cmp_ok($reached, '>=', $full ? 30 : 8,
	"restore crash: $reached moments reached of " . scalar(@moments));
diag("counts: restore crash: $reached moments reached ("
	  . join(', ', map { "$_ $by{$_}" } sort keys %by) . ")");

# a restore left to finish does change the state (the checks can fail)
$node->safe_psql($db, "SELECT count(*) FROM bac.restore_group('$snap', '{rs,rt}', keep_previous => false)");
isnt(db_state($node, $db), $before, 'a completed restore changes the state the checks compare');
is($node->safe_psql($db, 'SELECT count(*) FROM rs.tag WHERE item_id < 1000'), '333',
	'and brings back the deleted rows');

$node->stop;
done_testing();
