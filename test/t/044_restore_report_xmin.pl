# test/t/044_restore_report_xmin.pl: the consequences report counts the
# rows a restore discards and brings back from the rows' xmin exactly as
# a comparison of every row would; foreign keys between restored tables
# are trusted, others validated, NOT VALID ones left so.
#
# A snapshot is taken, then the tables change in every way that matters to
# the count: updates, updates to the same values (new row versions, same
# content), deletes, inserts, inserts in a subtransaction, an aborted
# insert, VACUUM FREEZE of rows newer than the snapshot, a table without a
# primary key holding duplicate rows, a column added, and a table of
# another schema moved in under the name of one the snapshot has (its rows
# are older than the snapshot but were never in it).  After each restore
# (in place, and into another schema) the report's counts must equal an
# oracle computed by EXCEPT ALL over the rows' text, and the DEBUG lines
# say which tables were counted by xmin and which row by row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('report_xmin');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA xm;
CREATE TABLE xm.t_pk (id int PRIMARY KEY, v text NOT NULL, n int);
INSERT INTO xm.t_pk SELECT g, 'v' || g, g % 7 FROM generate_series(1, 2000) g;
CREATE TABLE xm.t_same (id bigint PRIMARY KEY, v text);
INSERT INTO xm.t_same SELECT g, md5(g::text) FROM generate_series(1, 500) g;
CREATE TABLE xm.t_nopk (a int, b text);
INSERT INTO xm.t_nopk SELECT g % 50, 'b' || (g % 50) FROM generate_series(1, 300) g;
CREATE TABLE xm.t_cols (id int PRIMARY KEY, v text);
INSERT INTO xm.t_cols SELECT g, 'c' || g FROM generate_series(1, 100) g;
CREATE TABLE xm.t_moved (id int PRIMARY KEY, v text);
INSERT INTO xm.t_moved SELECT g, 'm' || g FROM generate_series(1, 100) g;
CREATE SCHEMA other;
CREATE TABLE other.t_moved (id int CONSTRAINT other_moved_pkey PRIMARY KEY, v text);
INSERT INTO other.t_moved SELECT g, 'other' || g FROM generate_series(51, 150) g;
CREATE TABLE xm.parent (id int PRIMARY KEY);
INSERT INTO xm.parent SELECT g FROM generate_series(1, 10) g;
CREATE TABLE xm.child (id int PRIMARY KEY, parent_id int REFERENCES xm.parent);
INSERT INTO xm.child SELECT g, 1 + g % 10 FROM generate_series(1, 50) g;
CREATE TABLE other.ref (id int PRIMARY KEY);
INSERT INTO other.ref VALUES (1), (2);
CREATE TABLE xm.ext_child (id int PRIMARY KEY,
	ref_id int CONSTRAINT ext_child_ref_fkey REFERENCES other.ref);
INSERT INTO xm.ext_child VALUES (1, 1), (2, 2);
ALTER TABLE xm.child ADD CONSTRAINT child_parent_loose_fkey
	FOREIGN KEY (parent_id) REFERENCES xm.parent NOT VALID;
SELECT bac.register_service('xm');
});
my $snap = $node->safe_psql('postgres', q{SELECT snapshot_id FROM bac.snapshot('{xm}')});
like($snap, qr/^\d{8}T/, 'snapshot of xm');

# the changes after the snapshot
$node->safe_psql('postgres', q{
UPDATE xm.t_pk SET v = v || ' changed' WHERE id <= 10;
UPDATE xm.t_pk SET n = n WHERE id BETWEEN 11 AND 15;
DELETE FROM xm.t_pk WHERE id BETWEEN 100 AND 106;
INSERT INTO xm.t_pk SELECT g, 'new', 0 FROM generate_series(3001, 3012) g;
BEGIN;
SAVEPOINT s;
INSERT INTO xm.t_pk SELECT g, 'sub', 0 FROM generate_series(4001, 4003) g;
RELEASE SAVEPOINT s;
COMMIT;
BEGIN;
INSERT INTO xm.t_pk VALUES (5001, 'aborted', 0);
ROLLBACK;
DELETE FROM xm.t_nopk WHERE ctid = (SELECT min(ctid) FROM xm.t_nopk WHERE a = 3);
INSERT INTO xm.t_nopk VALUES (4, 'b4'), (99, 'b99');
ALTER TABLE xm.t_cols ADD COLUMN w int DEFAULT 0;
ALTER TABLE xm.t_moved RENAME TO t_moved_before;
ALTER TABLE other.t_moved SET SCHEMA xm;
});
$node->safe_psql('postgres', 'VACUUM FREEZE xm.t_pk');

# report SCHEMA_NOW SCHEMA_RESTORED: the oracle, "table discarded back" per
# table, by EXCEPT ALL over the rows' text
sub oracle
{
	my ($now, $restored) = @_;
	my @lines;
	for my $t (qw(t_cols t_moved t_nopk t_pk t_same))
	{
		push @lines, $node->safe_psql('postgres', qq{
SELECT '$t ' ||
  (SELECT count(*) FROM (SELECT ROW(o.*)::text FROM $now.$t o EXCEPT ALL SELECT ROW(n.*)::text FROM $restored.$t n) d) || ' ' ||
  (SELECT count(*) FROM (SELECT ROW(n.*)::text FROM $restored.$t n EXCEPT ALL SELECT ROW(o.*)::text FROM $now.$t o) b)});
	}
	return join("\n", @lines);
}

# the report's rows, as "table discarded back"
sub counts
{
	my ($out) = @_;
	my @lines;
	for my $l (split /\n/, $out)
	{
		next unless $l =~ /^(t_\w+)\|table \S+: (\d+) rows discarded .*, (\d+) rows brought back/;
		push @lines, "$1 $2 $3";
	}
	return join("\n", sort @lines);
}

# which way each table was counted, from the DEBUG lines
sub ways
{
	my ($err) = @_;
	my %w;
	$w{$1} = 'xmin' while $err =~ /rows of table (t_\w+) compared with the snapshot by xmin/g;
	$w{$1} = 'rows' while $err =~ /rows of table (t_\w+) compared row by row/g;
	return join(' ', map { "$_=$w{$_}" } sort keys %w);
}

# 1. into another schema: the live tables are the current ones
my ($ret, $out, $err) = $node->psql('postgres', qq{
SET client_min_messages = debug1;
SELECT link, detail FROM bac.restore('$snap', 'xm', into_schema => 'xm_copy')
 WHERE direction = 'rows' ORDER BY link;
});
is($ret, 0, 'restore into another schema') or diag($err);
is(counts($out), oracle('xm', 'xm_copy'),
	'into another schema: the counts equal those of EXCEPT ALL');
is(ways($err), 't_cols=rows t_moved=rows t_nopk=rows t_pk=xmin t_same=xmin',
	'into another schema: unchanged tables and tables with a key by xmin, the others row by row');
like($out, qr/^t_pk\|table t_pk: 25 rows discarded .*, 17 rows brought back/m,
	't_pk: 10 changed + 12 inserted + 3 from a subtransaction discarded, 10 + 7 deleted brought back');
like($out, qr/^t_same\|table t_same: 0 rows discarded .*, 0 rows brought back/m,
	't_same: nothing discarded or brought back');

# foreign keys: between restored tables trusted, to another schema
# validated, NOT VALID at the source left NOT VALID
like($err, qr/foreign key child_parent_id_fkey of the post-data script trusted from the snapshot/,
	'the foreign key between two restored tables is trusted');
# (the capture wraps it in a DO block that checks the table exists)
unlike($err, qr/foreign key ext_child_ref_fkey of the post-data script trusted/,
	'the foreign key to a table of another schema is not trusted');
like($err, qr/validating foreign key constraint "ext_child_ref_fkey"/,
	'the foreign key to a table of another schema is validated');
is($node->safe_psql('postgres', q{
SELECT string_agg(conname || '=' || convalidated, ' ' ORDER BY conname) FROM pg_constraint
 WHERE contype = 'f' AND connamespace = 'xm_copy'::regnamespace}),
	'child_parent_id_fkey=true child_parent_loose_fkey=false ext_child_ref_fkey=true',
	'the restored foreign keys are valid as at the source');

# 2. in place, the current schema kept aside
($ret, $out, $err) = $node->psql('postgres', qq{
SET client_min_messages = debug1;
SELECT link, detail FROM bac.restore('$snap', 'xm') WHERE direction = 'rows' ORDER BY link;
});
is($ret, 0, 'restore in place') or diag($err);
my ($aside) = $err =~ /moved aside as (\S+)/;
ok(defined $aside, 'the current schema was kept aside');
my $oracle = oracle($aside, 'xm');
# t_moved_before is only in the aside schema: not in the oracle's list
is(join("\n", grep { !/^t_moved_before/ } split /\n/, counts($out)), $oracle,
	'in place: the counts equal those of EXCEPT ALL');
is(ways($err), 't_cols=rows t_moved=rows t_nopk=rows t_pk=xmin t_same=xmin',
	'in place: the same tables by xmin');

# 3. again in place over the restored tables: created after the snapshot,
# so every table is compared row by row, with the right counts
$node->safe_psql('postgres', q{UPDATE xm.t_pk SET v = 'again' WHERE id = 1});
($ret, $out, $err) = $node->psql('postgres', qq{
SET client_min_messages = debug1;
SELECT link, detail FROM bac.restore('$snap', 'xm', keep_previous => false)
 WHERE direction = 'rows' ORDER BY link;
});
is($ret, 0, 'restore in place over restored rows') or diag($err);
like($out, qr/^t_pk\|table t_pk: 1 rows discarded .*, 1 rows brought back/m,
	'over restored rows: one row changed, one discarded and one brought back');
is(ways($err), 't_cols=rows t_moved=rows t_nopk=rows t_pk=rows t_same=rows',
	'over restored tables: every table compared row by row');

# a partitioned table cannot take a NOT VALID foreign key: its foreign
# key is added as captured, which checks the rows
$node->safe_psql('postgres', q{
CREATE SCHEMA xp;
CREATE TABLE xp.parent (id int PRIMARY KEY);
INSERT INTO xp.parent SELECT g FROM generate_series(1, 10) g;
CREATE TABLE xp.child (id int, parent_id int REFERENCES xp.parent)
	PARTITION BY RANGE (id);
CREATE TABLE xp.child_1 PARTITION OF xp.child FOR VALUES FROM (0) TO (100);
INSERT INTO xp.child SELECT g, 1 + g % 10 FROM generate_series(1, 50) g;
SELECT bac.register_service('xp');
});
my $snap_p = $node->safe_psql('postgres', q{SELECT snapshot_id FROM bac.snapshot('{xp}')});
($ret, $out, $err) = $node->psql('postgres', qq{
SET client_min_messages = debug1;
SELECT count(*) FROM bac.restore('$snap_p', 'xp', into_schema => 'xp_copy');
});
is($ret, 0, 'a foreign key on a partitioned table restores') or diag($err);
like($err, qr/foreign key child_parent_id_fkey of the post-data script validated/,
	'the foreign key on a partitioned table is validated, not trusted');
is($node->safe_psql('postgres', q{
SELECT bool_and(convalidated) AND count(*) > 0 FROM pg_constraint
 WHERE contype = 'f' AND connamespace = 'xp_copy'::regnamespace}),
	't', 'the foreign key on the partitioned table is valid');

$node->stop;
done_testing();
