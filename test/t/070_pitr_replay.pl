# test/t/070_pitr_replay.pl: the change archive holds exactly the committed
# changes of the registered schemas, and replaying it from a base snapshot
# to the instant of a later snapshot gives that later snapshot's data, table
# by table: unchanged TOASTed values across updates, REPLICA IDENTITY FULL,
# columns of the schema's own enum, enum array and domain types (restored
# anew, with new OIDs), partitions (rows moving between them), generated
# columns, triggers not fired twice, savepoints rolled back, a prepared
# transaction, synchronous_commit = off, a transaction open across the
# snapshot and one open across bac.enable_pitr().  DDL is a barrier replay refuses to cross;
# a snapshot older than the window is not a valid base.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacPitrTest;

my $node = pitr_node('pitr');
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA a;
CREATE TABLE a.t (id int PRIMARY KEY, v text, big text,
                  g int GENERATED ALWAYS AS (id * 2) STORED);
ALTER TABLE a.t ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE a.f (x int, y text);
ALTER TABLE a.f REPLICA IDENTITY FULL;
CREATE TABLE a.p (id int, k int, v text, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
CREATE TABLE a.p1 PARTITION OF a.p FOR VALUES FROM (0) TO (10);
CREATE TABLE a.p2 PARTITION OF a.p FOR VALUES FROM (10) TO (20);
CREATE TABLE a.log (n serial PRIMARY KEY, what text);
CREATE FUNCTION a.trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO a.log (what) VALUES (TG_OP || ' ' || NEW.id); RETURN NEW; END $$;
CREATE TRIGGER t_log AFTER INSERT OR UPDATE ON a.t FOR EACH ROW EXECUTE FUNCTION a.trg();
CREATE TABLE a.nokey (x int);
CREATE TYPE a.mood AS ENUM ('ok', 'sad', 'glad');
CREATE DOMAIN a.pos AS int CHECK (VALUE > 0);
CREATE TABLE a.e (id int PRIMARY KEY, m a.mood, ms a.mood[], p a.pos);
CREATE SCHEMA other;
CREATE TABLE other.o (id int PRIMARY KEY);
SELECT bac.register_service('a');
});

# errors before the archive exists
my ($ret, $out, $err) = $node->psql($db, 'SELECT bac.pitr_pump()');
like($err, qr/point-in-time restore is not enabled in this database/,
	'pitr_pump before enable_pitr: clear error');

# a snapshot before the window: not a valid base later
my $s0 = $node->safe_psql($db, 'SELECT snapshot_id FROM bac.snapshot()');

# a transaction open across enable_pitr: enable waits for it to end
my $open = $node->background_psql($db);
$open->query_safe(q{BEGIN; INSERT INTO a.t (id, v) VALUES (-1, 'open across enable')});
my $enabler = $node->background_psql($db);
$enabler->query_until(qr/started/, q{
\echo started
SELECT 'enabled ' || slot_name FROM bac.enable_pitr();
});
$open->query_safe('COMMIT');
$open->quit;
$enabler->quit;
like($enabler->{stderr}, qr/1 tables of registered services cannot be replayed: a\.nokey/,
	'enable_pitr names the table without a key');
like($node->safe_psql($db, 'SELECT enabled, window_open, slot_name FROM bac.pitr_status'),
	qr/^t\|t\|pg_bac_\d+$/, 'pitr_status: enabled, window open');
($ret, $out, $err) = $node->psql($db, 'SELECT bac.enable_pitr()');
like($err, qr/already enabled/, 'a second enable_pitr is refused');

$node->safe_psql($db, q{
INSERT INTO a.t (id, v, big)
  SELECT i, 'v' || i, CASE WHEN i % 3 = 0 THEN repeat(md5(i::text), 200) END
  FROM generate_series(1, 50) i;
INSERT INTO a.f SELECT i, 'f' || i FROM generate_series(1, 10) i;
INSERT INTO a.f VALUES (3, 'f3');   -- a duplicate row under REPLICA IDENTITY FULL
INSERT INTO a.p SELECT i, i % 20, 'p' FROM generate_series(1, 40) i;
INSERT INTO other.o SELECT generate_series(1, 10);
INSERT INTO a.e SELECT i, 'ok', ARRAY['ok', 'sad']::a.mood[], i FROM generate_series(1, 10) i;
});

# a transaction open across the first snapshot
my $across = $node->background_psql($db);
$across->query_safe(q{BEGIN; UPDATE a.t SET v = 'across' WHERE id = 1; INSERT INTO a.t (id, v) VALUES (400, 'across')});
my $s1 = $node->safe_psql($db, 'SELECT snapshot_id FROM bac.snapshot()');
$across->query_safe('COMMIT');
$across->quit;

$node->safe_psql($db, q{
UPDATE a.t SET v = v || '!' WHERE id % 2 = 0;          -- big stays TOASTed, unchanged
UPDATE a.t SET id = id + 1000 WHERE id IN (7, 9);       -- key changes
DELETE FROM a.t WHERE id = 5;
UPDATE a.e SET m = 'glad', ms = ms || 'glad'::a.mood, p = p + 1 WHERE id % 2 = 0;  -- the schema's own types
INSERT INTO a.e VALUES (11, 'sad', '{glad}', 11);
});
# an instant between the snapshots: its data, WAL position and time
my $hash_t = schema_hashes($node, $db, 'a');
my ($lsn_t, $time_t) = split /\|/, $node->safe_psql($db,
	'SELECT pg_current_wal_insert_lsn(), clock_timestamp()');
$node->safe_psql($db, q{
UPDATE a.f SET y = 'changed' WHERE x = 3;               -- both duplicates
DELETE FROM a.f WHERE x = 4;
UPDATE a.p SET k = k + 10 WHERE k BETWEEN 1 AND 4;      -- rows move to p2
BEGIN;
INSERT INTO a.t (id, v) VALUES (500, 'savepoint');
SAVEPOINT s; INSERT INTO a.t (id, v) VALUES (501, 'rolled back'); ROLLBACK TO s;
INSERT INTO a.t (id, v) VALUES (502, 'kept');
COMMIT;
BEGIN; INSERT INTO a.t (id, v) VALUES (600, 'prepared'); PREPARE TRANSACTION 'p1';
COMMIT PREPARED 'p1';
SET synchronous_commit = off;
INSERT INTO a.t (id, v) VALUES (700, 'async');
RESET synchronous_commit;
BEGIN; INSERT INTO a.t (id, v) VALUES (800, 'rolled back whole'); ROLLBACK;
TRUNCATE a.f; INSERT INTO a.f VALUES (99, 'after truncate');
UPDATE other.o SET id = id + 100;
});
my $s2 = $node->safe_psql($db, 'SELECT snapshot_id FROM bac.snapshot()');
$node->safe_psql($db, q{INSERT INTO a.t (id, v) VALUES (900, 'after s2')});
$node->safe_psql($db, 'SELECT bac.pitr_pump()');

# what the archive holds
is($node->safe_psql($db, q{SELECT count(*) FROM bac.pitr_transactions() WHERE schemas IS DISTINCT FROM 'a'}),
	'0', 'the archive holds only transactions of the registered schema');
is($node->safe_psql($db, q{SELECT count(*) - count(DISTINCT xid) FROM bac.pitr_transactions()}),
	'0', 'no transaction is archived twice');
is($node->safe_psql($db, q{SELECT count(*) FROM bac.pitr_transactions()}),
	'20', 'every committed transaction of the schema after enable_pitr is archived (20)');

# base before the window
($ret, $out, $err) = $node->psql($db, qq{SELECT * FROM bac.pitr_replay('$s0', 'a', 'a_x', target_snapshot => '$s1')});
like($err, qr/not a valid base for point-in-time restore/, 'a snapshot before the window is refused as a base');

# the oracle: S1 + replay to S2's instant == S2
$node->safe_psql($db, qq{
SET client_min_messages = warning;
SELECT count(*) FROM bac.restore('$s1', 'a', into_schema => 'a_r');
SELECT count(*) FROM bac.restore('$s2', 'a', into_schema => 'a_s');
});
my $replayed = $node->safe_psql($db,
	qq{SELECT transactions || ' ' || changes FROM bac.pitr_replay('$s1', 'a', 'a_r', target_snapshot => '$s2')});
note("replayed: $replayed");
like($replayed, qr/^1[0-9] \d+$/, 'replay applied the transactions between the snapshots');
is(compare_schemas($node, $db, 'a_r', 'a_s', 'S1 + replay to S2'), 0,
	'S1 restored and replayed to S2 equals S2, table by table');
is($node->safe_psql($db, q{SELECT count(*) FROM a_r.log}),
	$node->safe_psql($db, q{SELECT count(*) FROM a_s.log}),
	'trigger rows are replayed once, the trigger did not fire again');
is($node->safe_psql($db, q{SELECT count(*) FROM a_r.t WHERE big IS NOT NULL AND length(big) = 6400}),
	'16', 'TOASTed values kept across updates that did not change them');
is($node->safe_psql($db, q{SELECT count(*) FROM a_r.t WHERE g <> id * 2}),
	'0', 'generated columns computed on replay');

# target LSN and time: the same result as the live schema now
$node->safe_psql($db, qq{
SET client_min_messages = warning;
SELECT count(*) FROM bac.restore('$s1', 'a', into_schema => 'a_l');
});
$node->safe_psql($db, qq{
SELECT * FROM bac.pitr_replay('$s1', 'a', 'a_l', target_lsn => (SELECT archived_lsn FROM bac.pitr_status))});
is(compare_schemas($node, $db, 'a_l', 'a', 'S1 + replay to the archive end'), 0,
	'replay to the end of the archive equals the live schema');

# restore to an instant between the snapshots (base S1, picked by pg_bac)
$node->safe_psql($db, qq{
SET client_min_messages = warning;
SELECT count(*) FROM bac.restore('a', target_lsn => '$lsn_t', into_schema => 'a_t');
});
is(schema_hashes($node, $db, 'a_t'), $hash_t,
	'bac.restore(service, target_lsn) gives the data of that instant, table by table');
($ret, $out, $err) = $node->psql($db, qq{SELECT count(*) FROM bac.restore('a', target_time => '$time_t', into_schema => 'a_tt')});
like($err, qr/base snapshot "$s1"/, 'the base is the newest valid snapshot before the target');
is(schema_hashes($node, $db, 'a_tt'), $hash_t,
	'bac.restore(service, target_time) gives the data of that instant');
($ret, $out, $err) = $node->psql($db, qq{SELECT count(*) FROM bac.restore('a', target_time => '$time_t', target_lsn => '$lsn_t')});
like($err, qr/exactly one of target_time and target_lsn/, 'two targets are refused');
($ret, $out, $err) = $node->psql($db, qq{SELECT count(*) FROM bac.restore('a', target_time => (SELECT consistent_at - interval '1 second' FROM bac.snapshots() WHERE snapshot_id = '$s1'))});
like($err, qr/not a valid base|no snapshot is a valid base|no snapshot of these services was taken before the target/,
	'a target before the first valid base is refused');

# DDL is a barrier
$node->safe_psql($db, q{ALTER TABLE a.t ADD COLUMN z int; INSERT INTO a.t (id, v) VALUES (901, 'after alter')});
$node->safe_psql($db, 'SELECT bac.pitr_pump()');
is($node->safe_psql($db, q{SELECT sum(barriers) FROM bac.pitr_transactions()}), '1',
	'the ALTER TABLE is one barrier in the archive');
$node->safe_psql($db, qq{
SET client_min_messages = warning;
SELECT count(*) FROM bac.restore('$s1', 'a', into_schema => 'a_b');
});
($ret, $out, $err) = $node->psql($db, qq{
SELECT * FROM bac.pitr_replay('$s1', 'a', 'a_b', target_lsn => (SELECT archived_lsn FROM bac.pitr_status))});
like($err, qr/cannot replay across a DDL barrier of schema "a".*ALTER TABLE a\.t/s,
	'replay across the ALTER TABLE is refused, naming it');
($ret, $out, $err) = $node->psql($db, qq{
SELECT * FROM bac.pitr_replay('$s1', 'a', 'a_b', target_lsn => pg_current_wal_insert_lsn() + 100000000)});
like($err, qr/is ahead of this server's WAL/, 'a target beyond the server\'s WAL is refused at once');

# a group in place, to the instant before the ALTER TABLE: allowed (the
# barrier is after the target), and pg_bac's own restore is a barrier
my $barriers = $node->safe_psql($db, q{SELECT sum(barriers) FROM bac.pitr_transactions()});
$node->safe_psql($db, qq{
SET client_min_messages = warning;
SELECT count(*) FROM bac.restore_group_at(ARRAY['a']::name[], target_lsn => '$lsn_t', keep_previous => false)});
is(schema_hashes($node, $db, 'a'), $hash_t,
	'bac.restore_group_at(services, target_lsn) in place: the live schema is back at the instant');
$node->safe_psql($db, 'SELECT bac.pitr_pump()');
cmp_ok($node->safe_psql($db, q{SELECT sum(barriers) FROM bac.pitr_transactions()}), '>', $barriers,
	'the in-place restore is a barrier in the archive');

# disable: the window ends, the archive stays
like($node->safe_psql($db, 'SELECT bac.disable_pitr()'), qr{^[0-9A-F]+/[0-9A-F]+$}, 'disable_pitr returns the window end');
is($node->safe_psql($db, q{SELECT enabled || ' ' || window_open FROM bac.pitr_status}), 'false false',
	'pitr_status after disable: not enabled, window closed');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pg_bac_%'}),
	'0', 'the slot is dropped');

$node->stop;
done_testing();
