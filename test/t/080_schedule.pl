# test/t/080_schedule.pl: schedules through pg_cron, retention per schedule
#
# pg_cron runs in the cluster (shared_preload_libraries, cron.database_name
# = shop).  The jobs' commands are run directly to test retention quickly;
# one job is left to pg_cron and one real minute ticks.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacSnapshotTest;

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_cron,pg_bac'
cron.database_name = 'shop'
cron.host = '@{[ $node->host ]}'
max_worker_processes = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('postgres', 'CREATE DATABASE elsewhere');
my $db = 'shop';

# ---- pg_cron missing (a database without it): a clear error with the hint
$node->safe_psql('elsewhere', 'CREATE EXTENSION pg_bac; CREATE SCHEMA a; SELECT bac.register_service(\'a\')');
my ($ret, $out, $err) = $node->psql('elsewhere',
	q{SELECT bac.schedule('nightly', '0 3 * * *', '{a}', keep_last => 2)});
isnt($ret, 0, 'without pg_cron in the database, bac.schedule fails');
like($err, qr/pg_cron is not installed in database "elsewhere"/, 'and says pg_cron is missing');
like($err, qr/HINT:.*CREATE EXTENSION pg_cron/, 'with a hint how to install it');

# ---- the services
$node->safe_psql($db, 'CREATE EXTENSION pg_cron');
$node->safe_psql($db, q{
CREATE SCHEMA a; CREATE SCHEMA b;
CREATE TABLE a.t (id int PRIMARY KEY, v text);
INSERT INTO a.t SELECT i, 'a' || i FROM generate_series(1, 500) i;
CREATE TABLE b.u (id int PRIMARY KEY);
INSERT INTO b.u SELECT generate_series(1, 300);
});
bac_register($node, $db, 'a', 'b');

# ---- bad input
for my $case (
	[ q{'bad name', '0 3 * * *'}, qr/invalid schedule name/, 'a name with a space' ],
	[ q{'x', NULL}, qr/cron_expression must not be null/, 'no cron expression' ],
	[ q{'x', '0 3 * * *', '{nope}'}, qr/services not registered: nope/, 'an unknown service' ],
	[ q{'x', '0 3 * * *', keep_last => -1}, qr/keep_last must not be negative/, 'negative keep_last' ],
	[ q{'x', '0 3 * * *', compression => 'gzip'}, qr/unknown compression "gzip"/, 'unknown compression' ],
	[ q{'x', '0 3 * * *', workers => 0}, qr/workers must be between 1 and 64/, 'zero workers' ],
	[ q{'x', 'every day'}, qr/invalid schedule/, 'a schedule pg_cron cannot parse' ])
{
	($ret, $out, $err) = $node->psql($db, "SELECT bac.schedule($case->[0])");
	like($err, qr/$case->[1]/, "refused: $case->[2]");
}
is($node->safe_psql($db, 'SELECT count(*) FROM bac.cron_schedule'), '0', 'nothing was scheduled');
is($node->safe_psql($db, q{SELECT count(*) FROM cron.job WHERE jobname LIKE 'bac:%'}), '0', 'no pg_cron job either');

# ---- a schedule of service a keeping the newest 2
my $job = $node->safe_psql($db,
	q{SELECT bac.schedule('a_hourly', '0 * * * *', '{a}', keep_last => 2, compression => 'zstd')});
like($job, qr/^\d+$/, 'bac.schedule returns the pg_cron job id');
is( $node->safe_psql($db, "SELECT jobname, schedule, command, database FROM cron.job WHERE jobid = $job"),
	q{bac:a_hourly|0 * * * *|SELECT bac.run_schedule('a_hourly')|shop},
	'pg_cron has the job, in this database');
is( $node->safe_psql($db,
		q{SELECT name, cron_expression, services, keep_last, compression, active, snapshots FROM bac.schedules}),
	'a_hourly|0 * * * *|{a}|2|zstd|t|0', 'bac.schedules shows it');

# run_job NAME: what pg_cron would run, run directly
sub run_job
{
	my ($name) = @_;
	my $cmd = $node->safe_psql($db, "SELECT command FROM cron.job WHERE jobname = 'bac:$name'");
	return $node->safe_psql($db, $cmd);
}

# snaps LABEL: ids of the snapshots with that label, oldest first
sub snaps
{
	my ($label) = @_;
	return [ split /\n/, $node->safe_psql($db,
		"SELECT snapshot_id FROM bac.snapshots() WHERE label = '$label' ORDER BY consistent_at") ];
}

my $manual = $node->safe_psql($db, q{SELECT snapshot_id FROM bac.snapshot('{a}', label => 'manual')});
my @taken;
for my $i (1 .. 4)
{
	run_job('a_hourly');
	my $now = snaps('schedule:a_hourly');
	push @taken, $now->[-1];
	is(scalar(@$now), $i < 2 ? $i : 2, "run $i: the schedule keeps " . ($i < 2 ? $i : 2));
}
is_deeply(snaps('schedule:a_hourly'), [ @taken[ 2, 3 ] ], 'the newest two are kept');
is_deeply(snaps('manual'), [$manual], 'a snapshot the schedule did not take is untouched');
is($node->safe_psql($db, q{SELECT compression FROM bac.snapshots() WHERE label = 'schedule:a_hourly' LIMIT 1}),
	'zstd', 'the schedule\'s compression is used');

# ---- a second schedule for b with its own retention leaves a's alone
$node->safe_psql($db, q{SELECT bac.schedule('b_daily', '30 2 * * *', '{b}', keep_last => 1)});
run_job('b_daily') for 1 .. 3;
is(scalar(@{ snaps('schedule:b_daily') }), 1, 'b_daily keeps 1');
is_deeply(snaps('schedule:a_hourly'), [ @taken[ 2, 3 ] ], 'a_hourly\'s snapshots untouched by b_daily');

# ---- older_than: nothing is old yet, so keep_last alone does not drop
$node->safe_psql($db, q{SELECT bac.schedule('a_age', '0 4 * * *', '{a}', keep_last => 0, older_than => '1 hour')});
run_job('a_age') for 1 .. 2;
is(scalar(@{ snaps('schedule:a_age') }), 2, 'older_than 1 hour: two fresh snapshots both kept');
$node->safe_psql($db, q{SELECT bac.schedule('a_age', '0 4 * * *', '{a}', keep_last => 0, older_than => '0 seconds')});
my @age = @{ snaps('schedule:a_age') };
is($node->safe_psql($db, q{SELECT bac.prune_schedule('a_age')}), '1',
	'older_than 0 and keep_last 0: the older one is dropped');
is_deeply(snaps('schedule:a_age'), [ $age[1] ], 'the newest snapshot of a stays all the same');

# ---- never the newest valid snapshot of a service
$node->safe_psql($db, q{SELECT bac.unschedule('b_daily')});
is(scalar(@{ snaps('schedule:b_daily') }), 1, 'unschedule keeps the snapshots it took');
is($node->safe_psql($db, q{SELECT count(*) FROM cron.job WHERE jobname = 'bac:b_daily'}), '0',
	'unschedule removed the pg_cron job');
$node->safe_psql($db, q{SELECT bac.schedule('b_zero', '0 5 * * *', '{b}', keep_last => 0)});
run_job('b_zero');
my $b1 = snaps('schedule:b_zero');
is(scalar(@$b1), 1, 'keep_last 0 keeps the newest snapshot of b all the same');
run_job('b_zero');
my $b2 = snaps('schedule:b_zero');
is(scalar(@$b2), 1, 'the next run drops the older one');
isnt($b2->[0], $b1->[0], 'and keeps the new one');

# damage the newest snapshot of b (a manual one): the scheduled one, now
# the newest valid snapshot of b, stays
my $mb = $node->safe_psql($db, q{SELECT snapshot_id FROM bac.snapshot('{b}', label => 'manual_b')});
my $mdir = $node->data_dir . "/pg_bac/$mb";
my ($datafile) = grep { m{^b/} && !/\.sql$/ } bac_files_of($mdir);
ok(defined $datafile, "the manual snapshot has a data file of b ($datafile)");
open(my $fh, '>>', "$mdir/$datafile") or die "open: $!";
print $fh "damage";
close $fh;
isnt($node->safe_psql($db, "SELECT count(*) FILTER (WHERE NOT ok) FROM bac.verify_snapshot('$mb')"),
	'0', 'the manual snapshot no longer verifies');
is($node->safe_psql($db, q{SELECT bac.prune_schedule('b_zero')}), '0',
	'prune keeps the scheduled snapshot: the newer one of b is damaged');
is_deeply(snaps('schedule:b_zero'), $b2, 'the newest valid snapshot of b is still there');
$node->safe_psql($db, "SELECT bac.drop_snapshot('$mb')");
$node->safe_psql($db, q{SELECT bac.snapshot('{b}', label => 'manual_b')});
is($node->safe_psql($db, q{SELECT bac.prune_schedule('b_zero')}), '1',
	'with a valid newer snapshot of b, keep_last 0 drops the scheduled one');

# ---- unschedule
($ret, $out, $err) = $node->psql($db, q{SELECT bac.unschedule('nope')});
like($err, qr/schedule "nope" does not exist/, 'unscheduling an unknown schedule is an error');
$node->safe_psql($db, q{SELECT bac.unschedule(name) FROM bac.cron_schedule});
is($node->safe_psql($db, q{SELECT count(*) FROM cron.job WHERE jobname LIKE 'bac:%'}), '0',
	'every job removed');

# ---- one real minute: pg_cron runs the job itself
$node->safe_psql($db, q{SELECT bac.schedule('tick', '* * * * *', '{a}', keep_last => 1)});
ok( $node->poll_query_until(
		$db, q{SELECT last_status = 'succeeded' AND snapshots = 1 FROM bac.schedules WHERE name = 'tick'},
		't'),
	'pg_cron ran the job within a minute: one snapshot, run succeeded');
my $msg = $node->safe_psql($db, q{SELECT last_message FROM bac.schedules WHERE name = 'tick'});
ok($msg ne '', "pg_cron recorded the run ($msg)");
is(scalar(@{ snaps('schedule:tick') }), 1, 'the snapshot is labelled schedule:tick');
$node->safe_psql($db, q{SELECT bac.unschedule('tick')});

$node->stop;
done_testing();
