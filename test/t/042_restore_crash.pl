# test/t/042_restore_crash.pl: a restore killed at any point leaves the
# database exactly as it was before the restore.
#
# The restoring backend is killed with SIGKILL (the postmaster then resets
# every backend and recovers from WAL) at points found through the
# server's own progress views: while COPY loads a table
# (pg_stat_progress_copy), while post-data builds an index
# (pg_stat_progress_create_index), and after bac.restore returned but before
# COMMIT.  Finally the postmaster itself is killed (immediate stop) with the
# restore done but not committed.  After each crash the schema dump of the
# database and a hash of every table equal the state before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use BacGuarantee;

my $node = PostgreSQL::Test::Cluster->new('restore_crash');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\nmax_wal_size = 1GB");
$node->start;
my $db = 'postgres';

$node->safe_psql($db, q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA big;
CREATE TABLE big.item (id int PRIMARY KEY, payload text NOT NULL, n numeric);
CREATE INDEX item_payload ON big.item (payload);
INSERT INTO big.item SELECT g, md5(g::text) || repeat('x', 60), g / 7.0 FROM generate_series(1, 200000) g;
CREATE TABLE big.tag (item_id int REFERENCES big.item, tag text);
INSERT INTO big.tag SELECT g, 't' || g % 10 FROM generate_series(1, 200000, 3) g;
CREATE SCHEMA other;
CREATE TABLE other.t (id int PRIMARY KEY);
INSERT INTO other.t SELECT generate_series(1, 100);
SELECT bac.register_service('big');
SELECT bac.register_service('other');
});
my $snap = $node->safe_psql($db, q{SELECT snapshot_id FROM bac.snapshot('{big}')});
like($snap, qr/^\d{8}T/, 'snapshot taken');

# the state after the snapshot, different from it
$node->safe_psql($db, q{
DELETE FROM big.tag WHERE item_id < 1000;
UPDATE big.item SET n = -1 WHERE id % 100 = 0;
INSERT INTO other.t VALUES (101);
});

# what must survive any crash: the schemas, the whole schema dump, every
# table's rows and the sequences (BacGuarantee's db_state)
my $before = db_state($node, $db);

# run a restore in the background; returns the harness
sub start_restore
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db),
		'-c', "SET application_name = 'restorer'", '-c', $sql ],
		'>', \$out, '2>', \$err);
	return ($h, \$err);
}

# pid of the restoring backend once $cond (SQL over pg_stat_activity a and
# the progress views) holds, polled every 10 ms for up to 60 s
sub wait_for
{
	my ($cond) = @_;
	for (1 .. 6000)
	{
		my $pid = $node->safe_psql($db, qq{
SELECT a.pid FROM pg_stat_activity a WHERE a.application_name = 'restorer' AND ($cond)});
		return $pid if $pid =~ /^\d+$/;
		usleep(10_000);
	}
	return undef;
}

sub crash_backend_and_check
{
	my ($label, $cond, $sql) = @_;
	# the kill lands some milliseconds after the moment was seen: a restore
	# left to run on could commit first and the check would compare a
	# committed restore.  Inside a transaction that sleeps before COMMIT,
	# the kill always precedes the commit.
	$sql = "BEGIN; $sql; SELECT pg_sleep(300); COMMIT;" unless $sql =~ /^BEGIN;/;
	my ($h, $err) = start_restore($sql);
	my $pid = wait_for($cond);
	ok(defined $pid, "$label: reached the point") or return;
	my $off = -s $node->logfile;
	kill 'KILL', $pid;
	$h->finish;
	isnt($h->result(0), 0, "$label: the restoring session died");
	# wait for the reset this kill causes, not only for a query to run: a
	# connection accepted before the postmaster saw the child die would
	# answer and then be killed by the reset
	wait_for_recovery($node, $db, $off);
	like(substr(slurp_file($node->logfile), $off), qr/terminated by signal 9/,
		"$label: the server went through crash recovery");
	is(db_state($node, $db), $before, "$label: database equals its state before the restore");
}

crash_backend_and_check('kill -9 during COPY of big.item',
	q{EXISTS (SELECT 1 FROM pg_stat_progress_copy p WHERE p.pid = a.pid AND p.tuples_processed > 20000)},
	"SELECT count(*) FROM bac.restore('$snap', 'big')");

crash_backend_and_check('kill -9 while post-data builds an index',
	q{EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.pid = a.pid)},
	"SELECT count(*) FROM bac.restore('$snap', 'big', keep_previous => false)");

crash_backend_and_check('kill -9 after bac.restore returned, before COMMIT',
	q{a.wait_event = 'PgSleep'},
	"BEGIN; SELECT count(*) FROM bac.restore('$snap', 'big'); SELECT pg_sleep(300); COMMIT;");

crash_backend_and_check('kill -9 during a dry run',
	q{EXISTS (SELECT 1 FROM pg_stat_progress_copy p WHERE p.pid = a.pid AND p.tuples_processed > 20000)},
	"SELECT count(*) FROM bac.restore('$snap', 'big', dry_run => true)");

# the postmaster killed (immediate stop, no shutdown checkpoint) while the
# restore is done but not committed
{
	my ($h, $err) = start_restore(
		"BEGIN; SELECT count(*) FROM bac.restore('$snap', 'big'); SELECT pg_sleep(300); COMMIT;");
	my $pid = wait_for(q{a.wait_event = 'PgSleep'});
	ok(defined $pid, 'postmaster crash: reached the point');
	$node->stop('immediate');
	$h->finish;
	$node->start;
	is(db_state($node, $db), $before, 'postmaster crash: database equals its state before the restore');
}

# and a restore left to finish does change it (the checks above can fail)
$node->safe_psql($db, "SELECT count(*) FROM bac.restore('$snap', 'big', keep_previous => false)");
isnt(db_state($node, $db), $before, 'a completed restore changes the state the checks compare');
is($node->safe_psql($db, 'SELECT count(*) FROM big.tag WHERE item_id < 1000'), '333',
	'and brings back the deleted rows');

$node->stop;
done_testing();
