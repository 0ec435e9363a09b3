# test/t/065_concurrency.pl: snapshot and restore beside each other, beside
# DDL, under lock_timeout and statement_timeout, and cancelled at random
# moments.
#
#  - two snapshots at once (same and other services) both complete and
#    verify;
#  - a snapshot of one service while another is being restored (the
#    restore's transaction open) completes at once;
#  - ALTER TABLE, DROP TABLE, CREATE INDEX on the service while it is
#    snapshotted: DDL on a copied table or CREATE INDEX goes through, DROP
#    TABLE of the table being copied waits; the snapshot is still the
#    instant it started at (restored, it has every row);
#  - the same DDL while the service is restored: it waits for the restore
#    and then acts on the restored table, or fails on lock_timeout; nothing
#    breaks;
#  - lock_timeout: a snapshot or a restore that cannot get its lock fails
#    with "lock timeout" and leaves nothing;
#  - statement_timeout: a long snapshot or restore is cancelled and leaves
#    nothing;
#  - pg_cancel_backend at random moments of snapshots and restores: no
#    temporary directory, no listed snapshot, the database as before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BacSnapshotTest;
use BacGuarantee;

my $node = bac_node('concurrency');
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE SCHEMA big;
CREATE TABLE big.a (id int PRIMARY KEY, pad text);
INSERT INTO big.a SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 600000) g;
CREATE TABLE big.b (id int PRIMARY KEY, pad text);
INSERT INTO big.b SELECT g, md5(g::text) FROM generate_series(1, 600000) g;
CREATE TABLE big.small (id int PRIMARY KEY, v text);
INSERT INTO big.small SELECT g, 'v' FROM generate_series(1, 100) g;
CREATE SCHEMA oth;
CREATE TABLE oth.u (id int PRIMARY KEY, v text);
INSERT INTO oth.u SELECT g, 'u' FROM generate_series(1, 50000) g;
VACUUM ANALYZE;
});
bac_register($node, $db, 'big', 'oth');
my $archive = $node->data_dir . '/pg_bac';
my $events = 0;

sub tmp_dirs
{
	opendir(my $dh, $archive) or return 0;
	my @t = grep { /^\.tmp-/ } readdir $dh;
	closedir $dh;
	return scalar(@t);
}

sub listed
{
	return $node->safe_psql($db, 'SELECT count(*) FROM bac.snapshots()');
}

# the relid of a table
sub relid { return $node->safe_psql($db, "SELECT '$_[0]'::regclass::oid"); }

# pid of the session named $app once it copies $relid (COPY TO)
sub copying
{
	my ($app, $relid) = @_;
	return wait_for_pid($node, $db, qq{
SELECT p.pid FROM pg_stat_progress_copy p JOIN pg_stat_activity a ON a.pid = p.pid
 WHERE a.application_name = '$app' AND p.relid = $relid}, 120, 5);
}

# --- two snapshots at once ---
{
	my ($h1, $o1, $e1) = start_psql($node, $db, 'snap1', "SELECT snapshot_id FROM bac.snapshot('{big}', workers => 2)");
	my ($h2, $o2, $e2) = start_psql($node, $db, 'snap2', "SELECT snapshot_id FROM bac.snapshot('{big,oth}', compression => 'lz4')");
	my ($h3, $o3, $e3) = start_psql($node, $db, 'snap3', "SELECT snapshot_id FROM bac.snapshot('{oth}')");
	$_->finish for ($h1, $h2, $h3);
	$events += 3;
	is($h1->result(0) + $h2->result(0) + $h3->result(0), 0, 'three snapshots at once all complete')
	  or diag("$$e1 $$e2 $$e3");
	my @ids = map { /(\d{8}T\d{6}\.\d{6}Z)/ ? $1 : () } ($$o1, $$o2, $$o3);
	is(scalar(keys %{ { map { $_ => 1 } @ids } }), 3, 'with three different ids');
	for my $id (@ids)
	{
		is($node->safe_psql($db, "SELECT count(*) FROM bac.verify_snapshot('$id') WHERE NOT ok"), '0',
			"snapshot $id verifies");
	}
	$node->safe_psql($db, "SELECT bac.drop_snapshot('$_')") for @ids;
}

my $snap = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot('{big,oth}')");

# --- a snapshot of one service while another is restored ---
{
	my ($h, $o, $e) = start_psql($node, $db, 'restorer', 'BEGIN',
		"SELECT count(*) FROM bac.restore('$snap', 'oth')", 'SELECT pg_sleep(300)', 'ROLLBACK');
	my $pid = wait_for_pid($node, $db,
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'restorer' AND wait_event = 'PgSleep'");
	ok($pid, 'the restore of oth is done but not committed');
	my $t0 = time;
	my ($ret, $out, $err) = $node->psql($db,
		"SET lock_timeout = '20s'; SELECT snapshot_id FROM bac.snapshot('{big}')");
	$events++;
	is($ret, 0, 'a snapshot of big completes meanwhile') or diag($err);
	cmp_ok(time - $t0, '<', 15, 'without waiting for the restore');
	$node->safe_psql($db, "SELECT pg_cancel_backend($pid)");
	$h->finish;
	($out) = $out =~ /(\d{8}T\S+Z)/;
	$node->safe_psql($db, "SELECT bac.drop_snapshot('$out')") if $out;
	# and a snapshot of the service being restored waits, then honours lock_timeout
	($h, $o, $e) = start_psql($node, $db, 'restorer', 'BEGIN',
		"SELECT count(*) FROM bac.restore('$snap', 'oth')", 'SELECT pg_sleep(300)', 'ROLLBACK');
	$pid = wait_for_pid($node, $db,
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'restorer' AND wait_event = 'PgSleep'");
	($ret, $out, $err) = $node->psql($db,
		"SET lock_timeout = '300ms'; SELECT snapshot_id FROM bac.snapshot('{oth}')");
	$events++;
	isnt($ret, 0, 'a snapshot of the service being restored cannot get its lock');
	like($err, qr/lock timeout/, 'and fails on lock_timeout');
	is(tmp_dirs(), 0, 'leaving no temporary directory');
	$node->safe_psql($db, "SELECT pg_cancel_backend($pid)");
	$h->finish;
}

# --- DDL while the service is snapshotted ---
{
	my $before = $node->safe_psql($db, 'SELECT count(*) || md5(string_agg(id::text, \',\' ORDER BY id)) FROM big.b');
	my ($h, $o, $e) = start_psql($node, $db, 'snapper', "SELECT snapshot_id FROM bac.snapshot('{big}')");
	my $pid = copying('snapper', relid('big.a'));
	ok($pid, 'the snapshot copies big.a');
	my $t0 = time;
	$node->safe_psql($db, "SET lock_timeout = '30s'; CREATE INDEX a_pad ON big.a (pad)");
	$events++;
	my $ci = time - $t0;
	# DROP TABLE of a table not copied yet or being copied waits
	my ($hd, $od, $ed) = start_psql($node, $db, 'dropper',
		"SET lock_timeout = '60s'", 'ALTER TABLE big.small ADD COLUMN extra int', 'DROP TABLE big.b');
	$h->finish;
	$hd->finish;
	$events += 2;
	is($h->result(0), 0, 'the snapshot completes beside CREATE INDEX, ALTER TABLE, DROP TABLE') or diag($$e);
	is($hd->result(0), 0, 'the DDL completes too') or diag($$ed);
	note("CREATE INDEX took $ci s during the snapshot");
	my ($id) = $$o =~ /(\d{8}T\S+Z)/;
	$node->safe_psql($db, "SELECT count(*) FROM bac.restore('$id', 'big', into_schema => 'big_then')");
	is($node->safe_psql($db, 'SELECT count(*) || md5(string_agg(id::text, \',\' ORDER BY id)) FROM big_then.b'),
		$before, 'the snapshot holds the dropped table as it was');
	is($node->safe_psql($db, q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'big_then.small'::regclass AND attname = 'extra'}),
		'0', 'and the altered table as it was before the ALTER');
	$node->safe_psql($db, "DROP SCHEMA big_then CASCADE; SELECT bac.drop_snapshot('$id')");
	$node->safe_psql($db, 'CREATE TABLE big.b (id int PRIMARY KEY, pad text); INSERT INTO big.b SELECT g, md5(g::text) FROM generate_series(1, 600000) g');
}

# --- DDL while the service is restored ---
{
	my $snap2 = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot('{big}')");
	for my $ddl ('ALTER TABLE big.small ADD COLUMN during int', 'CREATE INDEX small_v ON big.small (v)',
		'DROP TABLE big.small')
	{
		my ($h, $o, $e) = start_psql($node, $db, 'restorer', 'BEGIN',
			"SELECT count(*) FROM bac.restore('$snap2', 'big', keep_previous => false)",
			'SELECT pg_sleep(1)', 'COMMIT');
		my $pid = wait_for_pid($node, $db,
			"SELECT pid FROM pg_stat_activity WHERE application_name = 'restorer' AND wait_event = 'PgSleep'");
		ok($pid, "restore reached its commit while '$ddl' comes");
		my ($ret, $out, $err) = $node->psql($db, "SET lock_timeout = '100ms'; $ddl");
		$events++;
		isnt($ret, 0, "'$ddl' during the restore waits and gives up on lock_timeout");
		like($err, qr/lock timeout/, 'with a lock timeout');
		$h->finish;
		is($h->result(0), 0, 'the restore commits');
		($ret, $out, $err) = $node->psql($db, "SET lock_timeout = '10s'; $ddl");
		is($ret, 0, "after the restore, '$ddl' acts on the restored table") or diag($err);
		$node->safe_psql($db, "SELECT count(*) FROM bac.restore('$snap2', 'big', keep_previous => false)");
	}
	$node->safe_psql($db, "SELECT bac.drop_snapshot('$snap2')");
}

# --- lock_timeout and statement_timeout ---
{
	my $state = db_state($node, $db);
	my $n_before = listed();
	# a session holding ACCESS EXCLUSIVE on a table of the service
	my ($h, $o, $e) = start_psql($node, $db, 'locker', 'BEGIN', 'LOCK TABLE big.small IN ACCESS EXCLUSIVE MODE',
		'SELECT pg_sleep(300)', 'COMMIT');
	my $pid = wait_for_pid($node, $db,
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'locker' AND wait_event = 'PgSleep'");
	for my $sql ("SELECT * FROM bac.snapshot('{big}', workers => 2)",
		"SELECT count(*) FROM bac.restore('$snap', 'big')",
		"SELECT count(*) FROM bac.restore_group('$snap', '{big}')")
	{
		my $t0 = time;
		my ($ret, $out, $err) = $node->psql($db, "SET lock_timeout = '300ms'; $sql");
		$events++;
		isnt($ret, 0, "lock_timeout: $sql fails");
		like($err, qr/lock timeout/, 'on lock timeout');
		cmp_ok(time - $t0, '<', 10, 'promptly');
	}
	$node->safe_psql($db, "SELECT pg_cancel_backend($pid)");
	$h->finish;
	for my $sql ("SELECT * FROM bac.snapshot('{big}', workers => 2, compression => 'zstd')",
		"SELECT * FROM bac.snapshot('{big}')",
		"SELECT count(*) FROM bac.restore('$snap', 'big')",
		"SELECT count(*) FROM bac.restore_group('$snap')",
		"SELECT count(*) FROM bac.export('$snap', 'big')")
	{
		my $t0 = time;
		my ($ret, $out, $err) = $node->psql($db, "SET statement_timeout = '150ms'; $sql");
		$events++;
		isnt($ret, 0, "statement_timeout: $sql is cancelled");
		like($err, qr/statement timeout/, 'by the statement timeout');
		cmp_ok(time - $t0, '<', 10, 'promptly');
	}
	is(tmp_dirs(), 0, 'no temporary directory left');
	is(listed(), $n_before, 'no snapshot added');
	is(db_state($node, $db), $state, 'the database is as it was');
}

# --- pg_cancel_backend at random moments ---
{
	my $state = db_state($node, $db);
	my $n_before = listed();
	srand($ENV{BAC_SEED} // 14);
	my ($cancelled, $finished) = (0, 0);
	my @ops = ("SELECT snapshot_id FROM bac.snapshot('{big,oth}', workers => 2, compression => 'zstd')",
		"SELECT snapshot_id FROM bac.snapshot('{big}')",
		"SELECT count(*) FROM bac.restore('$snap', 'big')",
		"SELECT count(*) FROM bac.restore_group('$snap')");
	for my $i (1 .. ($ENV{BAC_CANCELS} // 16))
	{
		my $sql = $ops[ $i % @ops ];
		my $is_restore = $sql =~ /restore/;
		my @sql = $is_restore ? ('BEGIN', $sql, 'ROLLBACK') : ($sql);
		my ($h, $o, $e) = start_psql($node, $db, 'victim', @sql);
		my $pid = wait_for_pid($node, $db,
			"SELECT pid FROM pg_stat_activity WHERE application_name = 'victim' AND backend_type = 'client backend' AND state = 'active'");
		usleep(int(rand(1_500_000)));
		$node->safe_psql($db, "SELECT pg_cancel_backend($pid)") if $pid;
		$h->finish;
		$events++;
		if ($h->result(0) != 0)
		{
			$cancelled++;
			like($$e, qr/canceling statement due to user request/, "cancel $i: cancelled cleanly");
		}
		else
		{
			$finished++;
			my ($id) = $$o =~ /(\d{8}T\S+Z)/;
			$node->safe_psql($db, "SELECT bac.drop_snapshot('$id')") if $id && !$is_restore;
		}
		is(tmp_dirs(), 0, "cancel $i: no temporary directory left");
	}
	is(listed(), $n_before, 'no snapshot left by the cancelled ones');
	is(db_state($node, $db), $state, 'the database is as it was');
	cmp_ok($cancelled, '>=', 4, "cancels: $cancelled cancelled mid-way, $finished finished first");
	diag("counts: concurrency: $events concurrent or interrupted operations ($cancelled random cancels)");
}

$node->stop;
done_testing();
