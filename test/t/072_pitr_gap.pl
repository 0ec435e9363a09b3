# test/t/072_pitr_gap.pl: a slot that loses WAL (max_slot_wal_keep_size)
# ends the change archive's window honestly: bac.pitr_pump() warns,
# bac.pitr_status shows the gap, and a restore to a target after it is
# refused while one before it still works.  No archiver worker here (pg_bac
# is not preloaded): bac.pitr_pump() drains the slot in the backend.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacPitrTest;

my $node = pitr_node('gap', preload => 0, init => { extra => ['--wal-segsize=1'] },
	conf => "max_slot_wal_keep_size = 2MB\nmin_wal_size = 2MB\nmax_wal_size = 4MB\n");
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA g;
CREATE TABLE g.t (id int PRIMARY KEY, v text);
SELECT bac.register_service('g');
CREATE TABLE public.filler (x text);
SELECT bac.enable_pitr();
});
is($node->safe_psql($db, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pg_bac%'}),
	'0', 'no archiver worker without shared_preload_libraries');
my $snap = $node->safe_psql($db, 'SELECT snapshot_id FROM bac.snapshot()');
$node->safe_psql($db, q{INSERT INTO g.t SELECT i, 'before' FROM generate_series(1, 10) i});
my $lsn_before = $node->safe_psql($db, 'SELECT pg_current_wal_insert_lsn()');
is($node->safe_psql($db, 'SELECT bac.pitr_pump()'), '1', 'pump archives the transaction');

# the slot falls behind by more than max_slot_wal_keep_size
$node->safe_psql($db, q{INSERT INTO g.t SELECT i, 'lost' FROM generate_series(11, 20) i});
for (1 .. 6)
{
	$node->safe_psql($db, q{INSERT INTO public.filler SELECT repeat('x', 1000) FROM generate_series(1, 2000);
	                        SELECT pg_switch_wal(); CHECKPOINT;});
}
is($node->safe_psql($db, q{SELECT wal_status FROM pg_replication_slots WHERE slot_name LIKE 'pg_bac_%'}),
	'lost', 'the slot lost its WAL');
my ($ret, $out, $err) = $node->psql($db, 'SELECT bac.pitr_pump()');
like($err, qr/has a gap: slot "pg_bac_\d+" was invalidated/, 'pitr_pump warns about the gap');
like($node->safe_psql($db, q{SELECT enabled || ' ' || slot_lost || ' ' || window_open || ' ' || (gap IS NOT NULL) FROM bac.pitr_status}),
	qr/^false true false true$/, 'pitr_status: not enabled, slot lost, window closed, gap shown');

$node->safe_psql($db, q{SET client_min_messages = warning;
	SELECT count(*) FROM bac.restore('g', target_lsn => '} . $lsn_before . q{', into_schema => 'g_before')});
is($node->safe_psql($db, q{SELECT count(*) || ' ' || min(v) FROM g_before.t}), '10 before',
	'a target before the gap still restores');
($ret, $out, $err) = $node->psql($db, q{SELECT count(*) FROM bac.restore('g', target_lsn => pg_current_wal_insert_lsn(), into_schema => 'g_after')});
like($err, qr/does not reach the target.*where its window ended/s, 'a target after the gap is refused');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_namespace WHERE nspname = 'g_after'}), '0', 'nothing was restored');

$node->stop;
done_testing();
