# test/t/074_pitr_time_targets.pl: restore to a time or an LSN, each
# service alone and the whole group, under the saga workload.
#
# The four services of test/fixtures/four_services.sql (with their declared
# links) run the saga workload (test/pgbench/saga.sql and catalog.sql).
# The workload is paused at known instants T1 < T2 < ... : every pgbench
# client waits at a gate (an advisory lock the test holds) before its next
# transaction, so nothing commits; the test records every table's hash of
# every service, the time and pg_current_wal_insert_lsn(), then opens the
# gate.  A base snapshot is taken under load before T1 and another one
# in the middle, so later instants are restored from the newer base.  Then
# each service alone (into another schema) and the whole group (in place,
# in a transaction rolled back after the checks) is restored to each Ti by
# target_time, and by target_lsn too: the hashes equal the recorded ones
# table by table, and bac.check_links finds no broken link in the group.
# The archive itself shows that no transaction committed while a gate was
# closed, and that some committed between every two instants.  And a
# target at the archive's archived_at, taken while commits go on, holds
# every transaction committed before it (the archiver reports that time
# after decoding: commits stamped meanwhile lie beyond its position).
#
# BAC_PITR_INSTANTS (default 3) and BAC_PITR_PHASE_SECONDS (default 2) make
# the long variant (make stress).
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacPitrTest;

my $instants = $ENV{BAC_PITR_INSTANTS} || 3;
my $phase = $ENV{BAC_PITR_PHASE_SECONDS} || 2;
my $clients = 4;
my $gate = 74;					# the advisory lock the clients wait at
my @services = ('customer', 'product', 'order', 'shipment');
my $group = q{ARRAY['customer', 'product', 'order', 'shipment']::name[]};

my $testdir = abs_path(dirname(__FILE__) . '/..');
my $node = pitr_node('pitrtime');
my $db = 'shop';
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql($db, 'CREATE EXTENSION pg_bac');

ok(psql_file($node, $db, "$testdir/fixtures/four_services.sql", 'scale=1'), 'fixture loaded');
ok(psql_file($node, $db, "$testdir/fixtures/register.sql"), 'services registered, links declared');
is($node->safe_psql($db, q{SELECT count(*) FROM bac.links WHERE declared}), '4',
	'four declared links among the services');

# One measure for the recorded state and for the restored one: per table
# of a schema, "table:md5 of its rows (as text, sorted):row count".
$node->safe_psql($db, q{
CREATE FUNCTION public.table_hashes(s name) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	h text;
	acc text := '';
BEGIN
	FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			 WHERE n.nspname = s AND c.relkind = 'r' ORDER BY 1
	LOOP
		EXECUTE format('SELECT md5(coalesce(string_agg(x::text, ''|'' ORDER BY x::text), '''')) || '':'' || count(*) FROM %I.%I x',
					   s, r.relname) INTO h;
		acc := acc || r.relname || ':' || h || ' ';
	END LOOP;
	RETURN rtrim(acc);
END $$;
});

# "service=hashes" lines of every service (of schemas named with $suffix)
sub all_hashes_sql
{
	my ($suffix) = @_;
	return join(" UNION ALL ",
		map { "SELECT '$_=' || public.table_hashes('$_$suffix')" } @services);
}

# compare "table:hash:count ..." strings table by table; returns the
# number of tables that differ
sub compare_hashes
{
	my ($got, $want, $what) = @_;
	my %g = map { my ($t, $r) = split /:/, $_, 2; ($t => $r) } split / /, $got;
	my %w = map { my ($t, $r) = split /:/, $_, 2; ($t => $r) } split / /, $want;
	is(join(' ', sort keys %g), join(' ', sort keys %w), "$what: same tables");
	my $bad = 0;
	for my $t (sort keys %w)
	{
		my ($wh, $wn) = split /:/, $w{$t};
		my ($gh, $gn) = split /:/, ($g{$t} // 'missing:-');
		$bad++ if $gh ne $wh;
		is("$gh:$gn", "$wh:$wn", "$what: table $t equal ($wn rows)");
	}
	return $bad;
}

# parse "service=hashes" lines
sub parse_services
{
	my ($out) = @_;
	return map { split /=/, $_, 2 } split /\n/, $out;
}

$node->safe_psql($db, 'SELECT bac.enable_pitr()');
$node->poll_query_until($db,
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_bac archiver'})
  or die 'the archiver worker did not start';
pass('the archiver worker runs');

# the saga workload, every transaction behind the gate
my $tmp = PostgreSQL::Test::Utils::tempdir;
for my $script ('saga', 'catalog')
{
	open(my $in, '<', "$testdir/pgbench/$script.sql") or die;
	open(my $outf, '>', "$tmp/$script.sql") or die;
	print $outf "SELECT pg_advisory_xact_lock_shared($gate);\n";
	print $outf $_ while <$in>;
	close $in;
	close $outf;
}
my ($bout, $berr) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-U', 'saga', '-c', $clients, '-j', '2', '-T', '600',
	  '-D', 'customers=1000', '-D', 'products=100',
	  '-f', "$tmp/saga.sql\@10", '-f', "$tmp/catalog.sql\@1",
	  $node->connstr($db) ],
	'>', \$bout, '2>', \$berr);
my $gatekeeper = $node->background_psql($db);

# close the gate: every client waits before its next transaction
sub pause_workload
{
	$gatekeeper->query_safe("SELECT pg_advisory_lock($gate)");
	$node->poll_query_until($db, qq{
SELECT count(*) = $clients FROM pg_stat_activity
 WHERE usename = 'saga' AND wait_event_type = 'Lock' AND wait_event = 'advisory'})
	  or die "the clients did not stop at the gate: $berr";
}

sub resume_workload
{
	$gatekeeper->query_safe("SELECT pg_advisory_unlock($gate)");
}

sleep 1;
my $s1 = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot(label => 'base 1')");
ok($s1, "base snapshot $s1 under load");

# the instants: (time, lsn, time after the hashes, {service => hashes})
my @t;
my $s2;
for my $i (1 .. $instants)
{
	sleep $phase;
	pause_workload();
	my ($time, $lsn) = split /\|/, $node->safe_psql($db,
		'SELECT clock_timestamp(), pg_current_wal_insert_lsn() FROM pg_sleep(0.01)');
	my %h = parse_services($node->safe_psql($db, all_hashes_sql('')));
	my $after = $node->safe_psql($db, 'SELECT clock_timestamp() FROM pg_sleep(0.01)');
	push @t, { time => $time, lsn => $lsn, after => $after, hashes => \%h };
	note("T$i = $time, LSN $lsn");
	resume_workload();
	if ($i == int(($instants + 1) / 2))
	{
		sleep 1;
		$s2 = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot(label => 'base 2')");
		ok($s2, "second base snapshot $s2 under load, after T$i");
	}
}
sleep $phase;

# A target the archive has just reached, while commits go on.  The
# archiver reports the time it reached after decoding, so transactions
# that committed while it decoded can carry an earlier commit time than
# that and still lie beyond the position it reached.  The worker is
# stopped (between two rounds) so that only bac.pitr_pump() archives:
# one pump decodes the backlog while the saga goes on, the restore to its
# archived_at starts, and the archive moves on only once the restore has
# finished or waits for it.  The same target restored later is the oracle.
my $worker = $node->safe_psql($db,
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_bac archiver'});
my $stopped = 0;
pause_workload();				# the worker goes idle: it holds the slot rarely
for (1 .. 200)
{
	kill 'STOP', $worker;
	if ($node->safe_psql($db, q{SELECT count(*) FROM pg_replication_slots
			WHERE slot_name LIKE 'pg_bac\_%' AND active_pid IS NULL}) eq '1')
	{
		$stopped = 1;
		last;
	}
	kill 'CONT', $worker;
	select(undef, undef, undef, 0.02);
}
ok($stopped, "the archiver worker $worker stopped between two rounds");
resume_workload();
sleep 2;
$node->safe_psql($db, 'SELECT bac.pitr_pump()');
my ($at, $at_lsn) = split /\|/, $node->safe_psql($db,
	'SELECT archived_at, archived_lsn FROM bac.pitr_status');
my $restorer = $node->background_psql($db, on_error_stop => 0);
$restorer->query_until(qr/started/, qq{
\\echo started
SET client_min_messages = warning;
SELECT 'restored ' || count(*) FROM bac.restore('order', target_time => '$at', into_schema => 'order_x');
});
$node->poll_query_until($db, q{
SELECT EXISTS (SELECT FROM pg_stat_activity
			   WHERE query LIKE '%into_schema => ''order_x''%' AND pid <> pg_backend_pid()
				 AND (state = 'idle' OR wait_event = 'Extension'))})
  or die 'the restore neither finished nor waited';
$node->safe_psql($db, 'SELECT bac.pitr_pump()');
$restorer->quit;
kill 'CONT', $worker;
unlike($restorer->{stderr}, qr/ERROR/, "restore to archived_at ($at) under load") or diag($restorer->{stderr});
pause_workload();
$bench->kill_kill;
$bench->finish;
resume_workload();
$gatekeeper->quit;

my $flush = $node->safe_psql($db, 'SELECT pg_current_wal_flush_lsn()');
$node->poll_query_until($db, "SELECT archived_lsn >= '$flush' FROM bac.pitr_status")
  or die 'the worker did not catch up';
pass('the worker archived the load');
my $total = $node->safe_psql($db, 'SELECT count(*) FROM bac.pitr_transactions()');
note("$total transactions archived");

# the archive proves the instants: nothing committed while a gate was
# closed, something between every two instants and after the last
my $prev = $node->safe_psql($db, "SELECT consistent_at FROM bac.snapshots() WHERE snapshot_id = '$s1'");
for my $i (1 .. $instants)
{
	my $ti = $t[ $i - 1 ];
	is($node->safe_psql($db, qq{SELECT count(*) FROM bac.pitr_transactions()
		WHERE commit_at BETWEEN '$ti->{time}' AND '$ti->{after}'}),
		'0', "T$i: no transaction committed while the workload was paused");
	cmp_ok($node->safe_psql($db, qq{SELECT count(*) FROM bac.pitr_transactions()
		WHERE commit_at > '$prev' AND commit_at < '$ti->{time}'}),
		'>', 0, "T$i: transactions committed since the previous instant");
	$prev = $ti->{time};
	isnt(join(' ', map { $ti->{hashes}{$_} } @services),
		$i > 1 ? join(' ', map { $t[ $i - 2 ]{hashes}{$_} } @services) : '',
		"T$i: the data differs from the previous instant");
}
cmp_ok($node->safe_psql($db, qq{SELECT count(*) FROM bac.pitr_transactions()
	WHERE commit_at > '$prev'}), '>', 0, 'transactions committed after the last instant');
for my $svc (@services)
{
	isnt($t[0]{hashes}{$svc}, $t[-1]{hashes}{$svc}, "service $svc changed between T1 and T$instants");
}

# the base each target picks, from the restore's notice
sub restore_sql
{
	my ($svc, $target, $value, $into) = @_;
	return qq{SELECT count(*) FROM bac.restore('$svc', $target => '$value', into_schema => '$into')};
}

for my $i (1 .. $instants)
{
	my $ti = $t[ $i - 1 ];
	my $base = $i <= int(($instants + 1) / 2) ? $s1 : $s2;

	# each service alone, into another schema, by time
	for my $svc (@services)
	{
		my ($ret, $out, $err) = $node->psql($db, restore_sql($svc, 'target_time', $ti->{time}, "${svc}_r"));
		is($ret, 0, "T$i: $svc restored alone by target_time") or diag($err);
		like($err, qr/base snapshot "\Q$base\E"/, "T$i: $svc: the base is the newest snapshot before T$i");
		is(compare_hashes($node->safe_psql($db, "SELECT public.table_hashes('${svc}_r')"),
			$ti->{hashes}{$svc}, "T$i $svc alone (time)"), 0, "T$i: $svc alone equals its recorded state");
		$node->safe_psql($db, qq{DROP SCHEMA "${svc}_r" CASCADE});
	}

	# the whole group in place, by time and by LSN, rolled back after
	for my $target ('target_time', 'target_lsn')
	{
		my $value = $target eq 'target_time' ? $ti->{time} : $ti->{lsn};
		my $out = $node->safe_psql($db, qq{
BEGIN;
SET client_min_messages = warning;
SELECT 'report=' || coalesce(sum(broken), 0) FROM bac.restore_group_at($group, $target => '$value', keep_previous => false);
SELECT 'links=' || coalesce(sum(broken), 0) || ':' || count(*) FROM bac.check_links($group);
} . all_hashes_sql('') . q{;
ROLLBACK;
});
		my %r = parse_services($out);
		is($r{report}, '0', "T$i: group by $target: the consequences report counts 0 broken references");
		is($r{links}, '0:4', "T$i: group by $target: bac.check_links shows 0 broken references in the 4 links");
		my $bad = 0;
		for my $svc (@services)
		{
			$bad += compare_hashes($r{$svc}, $ti->{hashes}{$svc}, "T$i group ($target) $svc");
		}
		is($bad, 0, "T$i: the group restored in place by $target equals its recorded state");
	}
}

# the archive's time was ahead of its position: transactions stamped
# before archived_at lay beyond archived_lsn
my $late = $node->safe_psql($db, qq{SELECT count(*) FROM bac.pitr_transactions()
	WHERE commit_at <= '$at' AND commit_lsn >= '$at_lsn'});
note("$late transactions committed before archived_at $at lay beyond archived_lsn $at_lsn");
cmp_ok($late, '>', 0, 'the case is there: commits before archived_at beyond archived_lsn');
$node->safe_psql($db, qq{SET client_min_messages = warning;
	SELECT count(*) FROM bac.restore('order', target_time => '$at', into_schema => 'order_y')});
is(compare_hashes($node->safe_psql($db, q{SELECT public.table_hashes('order_x')}),
	$node->safe_psql($db, q{SELECT public.table_hashes('order_y')}), 'target at archived_at'),
	0, 'a target at the archive\'s archived_at under load holds every transaction committed before it');
$node->safe_psql($db, 'DROP SCHEMA order_x CASCADE; DROP SCHEMA order_y CASCADE');

# one service alone by LSN
{
	my $ti = $t[0];
	$node->safe_psql($db, restore_sql('order', 'target_lsn', $ti->{lsn}, 'order_r'));
	is(compare_hashes($node->safe_psql($db, q{SELECT public.table_hashes('order_r')}),
		$ti->{hashes}{order}, 'T1 order alone (lsn)'), 0, 'T1: order alone by target_lsn equals its recorded state');
	$node->safe_psql($db, 'DROP SCHEMA order_r CASCADE');
}

# the check can fail: order alone in place at T1 leaves the shipments made
# since without their order
my $out = $node->safe_psql($db, qq{
BEGIN;
SET client_min_messages = warning;
SELECT count(*) FROM bac.restore('order', target_time => '$t[0]{time}', keep_previous => false);
SELECT broken FROM bac.check_links(ARRAY['order']::name[]) WHERE link = 'shipment_order';
ROLLBACK;
});
cmp_ok((split /\n/, $out)[-1], '>', 0,
	'control: order alone in place at T1 breaks shipment_order (the link check sees it)');

# the live data is untouched by all of the above
is($node->safe_psql($db, q{SELECT count(*) FROM pg_namespace WHERE nspname ~ '_[rxy][0-9]*$'}), '0',
	'no restored schema left behind');

$node->stop;
done_testing();
