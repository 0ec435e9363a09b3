# test/t/081_progress.pl: bac.progress, read from a second session.
#
# With pg_bac preloaded, a snapshot and a restore of a service of a few
# hundred MB are watched from another session (psql \watch every 20 ms):
# one row for the running operation, its phases, tables and bytes done
# advancing, the current table; no row once it is over.  The slot is freed
# whatever the outcome: cancel, an error caught by an EXCEPTION block,
# pg_terminate_backend.  Without preloading, reading bac.progress is an
# error that says what to do.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('progress');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_bac'
max_worker_processes = 16
shared_buffers = 256MB
max_wal_size = 4GB
});
$node->start;
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA big;
SELECT bac.register_service('big');
});
for my $i (1 .. 6)
{
	$node->safe_psql($db, qq{
CREATE TABLE big.t$i (id int PRIMARY KEY, a text, b text);
INSERT INTO big.t$i SELECT g, md5(g::text) || md5((g + 1)::text), repeat('x', 40) || g
  FROM generate_series(1, 250000) g;
});
}
$node->safe_psql($db, 'CHECKPOINT');
is($node->safe_psql($db, 'SELECT count(*) FROM bac.progress'), '0', 'nothing runs: no row');

my $tmp = PostgreSQL::Test::Utils::tempdir();

# script NAME TEXT: a psql script file (IPC::Run feeds stdin only when
# pumped, so the background sessions read files)
sub script
{
	my ($name, $text) = @_;
	open(my $fh, '>', "$tmp/$name.sql") or die;
	print $fh $text;
	close $fh;
	return "$tmp/$name.sql";
}

my $watch_sql = script('watch', q{SELECT pid, operation, phase, tables_done, coalesce(tables_total, -1),
         bytes_done, coalesce(bytes_total, -1), coalesce(current_table, ''),
         coalesce(snapshot_id, ''), coalesce(services, '')
  FROM bac.progress \watch 0.02
});

# watch SQL: run SQL in this session while another psql samples
# bac.progress every 20 ms; returns the samples as [fields...]
sub watch
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-X', '-At', '-F', '|', '-d', $node->connstr($db), '-f', $watch_sql ],
		'>', \$out, '2>', \$err);
	sleep 1;					# the watcher runs
	$node->safe_psql($db, $sql);
	sleep 1;
	$h->signal('TERM');
	$h->finish;
	diag($err) if $err ne '';
	return [ map { [ split /\|/, $_, -1 ] } grep { /^\d+\|/ } split /\n/, $out ];
}

# check OPERATION SAMPLES: what a watched operation must have shown
sub check
{
	my ($op, $samples) = @_;
	my @mine = grep { $_->[1] eq $op } @$samples;
	cmp_ok(scalar(@mine), '>=', 3, "$op: seen in " . scalar(@mine) . ' samples');
	my %phases = map { $_->[2] => 1 } @mine;
	note("$op phases seen: " . join(', ', sort keys %phases));
	my %bytes = map { $_->[5] => 1 } grep { $_->[5] > 0 } @mine;
	cmp_ok(scalar(keys %bytes), '>=', 2, "$op: bytes_done advances (" . scalar(keys %bytes) . ' values)');
	my %tables = map { $_->[3] => 1 } @mine;
	cmp_ok(scalar(keys %tables), '>=', 2, "$op: tables_done advances (" . join(' ', sort { $a <=> $b } keys %tables) . ')');
	my @order = map { $_->[3] } @mine;
	is_deeply(\@order, [ sort { $a <=> $b } @order ], "$op: tables_done never goes back");
	ok((grep { $_->[4] == 6 } @mine), "$op: tables_total is 6");
	ok((grep { $_->[7] =~ /^t[1-6]$/ } @mine), "$op: the current table is shown");
	ok((grep { $_->[9] eq 'big' } @mine), "$op: the services are shown");
	ok(!(grep { $_->[5] > $_->[6] && $_->[6] >= 0 } @mine), "$op: bytes_done never exceeds bytes_total");
	return \@mine;
}

# ---- a snapshot, watched
my $samples = watch(q{SET client_min_messages = warning;
	SELECT snapshot_id FROM bac.snapshot('{big}')});
check('snapshot', $samples);
my $snap = $node->safe_psql($db, 'SELECT snapshot_id FROM bac.snapshots() ORDER BY consistent_at DESC LIMIT 1');
ok((grep { $_->[8] eq $snap } @$samples), 'snapshot: the snapshot id is shown');
is($node->safe_psql($db, 'SELECT count(*) FROM bac.progress'), '0', 'snapshot over: no row');

# ---- a restore of it, watched
$samples = watch(qq{SET client_min_messages = warning;
	SELECT count(*) FROM bac.restore('$snap', 'big')});
my $restore = check('restore', $samples);
ok((grep { $_->[8] eq $snap } @$restore), 'restore: the snapshot id is shown');
is($node->safe_psql($db, 'SELECT count(*) FROM bac.progress'), '0', 'restore over: no row');

# ---- verify and export show up too
$samples = watch(qq{SELECT count(*) FROM bac.verify_snapshot('$snap')});
ok((grep { $_->[1] eq 'verify' } @$samples), 'verify_snapshot is shown');
$samples = watch(qq{SELECT count(*) FROM bac.export('$snap', 'big')});
ok((grep { $_->[1] eq 'export' } @$samples), 'export is shown');

# ---- freed whatever the outcome: a snapshot waiting for a lock
# start_blocked: a snapshot waiting for big.t3, which another session
# holds; returns (harness, its pid)
my ($lout, $lerr) = ('', '');
my $locker = IPC::Run::start([ 'psql', '-X', '-At', '-d', $node->connstr($db), '-f',
		script('lock', "BEGIN; LOCK TABLE big.t3 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600);\n") ],
	'>', \$lout, '2>', \$lerr);
ok($node->poll_query_until($db, q{SELECT count(*) = 1 FROM pg_locks WHERE relation = 'big.t3'::regclass AND mode = 'AccessExclusiveLock' AND granted}),
	'another session holds big.t3');

sub start_blocked
{
	my ($sout, $serr) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-X', '-At', '-d', $node->connstr($db), '-c',
			"SELECT snapshot_id FROM bac.snapshot('{big}')" ],
		'>', \$sout, '2>', \$serr);
	$node->poll_query_until($db, q{SELECT count(*) = 1 FROM bac.progress WHERE operation = 'snapshot'})
	  or die 'the snapshot does not show';
	my $pid = $node->safe_psql($db, q{SELECT pid FROM bac.progress WHERE operation = 'snapshot'});
	return ($h, $pid, \$serr);
}

my ($h, $pid, $errref) = start_blocked();
pass("a blocked snapshot shows (pid $pid)");
$node->safe_psql($db, "SELECT pg_cancel_backend($pid)");
$h->finish;
like($$errref, qr/canceling statement/, 'the snapshot was cancelled');
is($node->safe_psql($db, 'SELECT count(*) FROM bac.progress'), '0', 'cancelled: no row');

($h, $pid, $errref) = start_blocked();
$node->safe_psql($db, "SELECT pg_terminate_backend($pid)");
$h->finish;
ok($node->poll_query_until($db, 'SELECT count(*) = 0 FROM bac.progress'),
	'terminated: no row');

# an error caught by an EXCEPTION block: the session goes on, the row is gone
is( $node->safe_psql(
		$db, q{
SET lock_timeout = '100ms';
DO $$BEGIN
	PERFORM * FROM bac.snapshot('{big}');
EXCEPTION WHEN lock_not_available THEN
	RAISE NOTICE 'caught';
END$$;
SELECT count(*) FROM bac.progress WHERE pid = pg_backend_pid();}),
	'0', 'an error caught in the same session: no row');

$locker->kill_kill;

# ---- without preloading
my $plain = PostgreSQL::Test::Cluster->new('not_preloaded');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION pg_bac');
my ($ret, $out, $err) = $plain->psql('postgres', 'SELECT * FROM bac.progress');
isnt($ret, 0, 'not preloaded: reading bac.progress is an error');
like($err, qr/bac.progress needs pg_bac in shared_preload_libraries/, 'that says why');
like($err, qr/HINT:  Add pg_bac to shared_preload_libraries/, 'and what to do');
$plain->safe_psql('postgres', 'CREATE SCHEMA s; CREATE TABLE s.t AS SELECT 1 AS x; SELECT bac.register_service(\'s\')');
like($plain->safe_psql('postgres', q{SET client_min_messages = warning; SELECT snapshot_id FROM bac.snapshot('{s}')}),
	qr/^\d{8}T/, 'not preloaded: snapshots work all the same');
$plain->stop;

$node->stop;
done_testing();
