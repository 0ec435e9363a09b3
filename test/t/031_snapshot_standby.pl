# test/t/031_snapshot_standby.pl: bac.snapshot() on a streaming hot standby
# writes only archive files and captures what the primary has.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacSnapshotTest;

my $primary = bac_node('primary', allows_streaming => 1);
my $db = 'postgres';
$primary->safe_psql($db, q{
CREATE SCHEMA orders; CREATE SCHEMA shipping;
CREATE TABLE orders.o (id bigserial PRIMARY KEY, note text);
CREATE TABLE shipping.s (id bigserial PRIMARY KEY, order_id bigint, at timestamptz DEFAULT now());
INSERT INTO orders.o (note) SELECT 'order ' || i FROM generate_series(1, 60000) i;
INSERT INTO shipping.s (order_id) SELECT i FROM generate_series(1, 60000) i;
});
bac_register($primary, $db, 'orders', 'shipping');

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->append_conf('postgresql.conf', qq{
max_worker_processes = 16
max_parallel_workers = 8
});
$standby->start;

# more rows after the backup, streamed to the standby
$primary->safe_psql($db, q{
INSERT INTO orders.o (note) SELECT 'late ' || i FROM generate_series(1, 1000) i;
INSERT INTO shipping.s (order_id) SELECT i FROM generate_series(60001, 61000) i;
});
$primary->wait_for_catchup($standby);
is($standby->safe_psql($db, 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');

my $lsn_before = $standby->safe_psql($db, 'SELECT pg_last_wal_replay_lsn()');
my $row = $standby->safe_psql($db,
	"SELECT snapshot_id || ' ' || rows || ' ' || tables FROM bac.snapshot(workers => 2, compression => 'lz4', label => 'on standby')");
my ($id, $rows, $tables) = split / /, $row;
is($rows, 122000, 'the standby snapshot has every row the primary committed');
is($tables, 2, 'and both tables');
is($standby->safe_psql($db,
		"SELECT in_recovery || ' ' || (wal_lsn >= '$lsn_before') || ' ' || label FROM bac.snapshots() WHERE snapshot_id = '$id'"),
	'true true on standby', 'manifest records recovery, the replay LSN and the label');
is($standby->safe_psql($db,
		"SELECT count(*) FILTER (WHERE NOT ok) || '/' || count(*) FROM bac.verify_snapshot('$id')"),
	'0/9', 'every file of the standby snapshot verifies (manifest, 2 services x pre-data, post-data, restore.sql, data)');
ok(-f $standby->data_dir . "/pg_bac/$id/manifest.json", 'files are in the standby archive');
ok(!-e $primary->data_dir . "/pg_bac/$id", 'and nothing on the primary');

# and the standby keeps replaying
$primary->safe_psql($db, "INSERT INTO orders.o (note) VALUES ('after')");
$primary->wait_for_catchup($standby);
is($standby->safe_psql($db, 'SELECT count(*) FROM orders.o'), '61001',
	'replication goes on after the snapshot');

$standby->stop;
$primary->stop;
done_testing();
