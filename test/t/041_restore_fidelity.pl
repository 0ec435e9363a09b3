# test/t/041_restore_fidelity.pl: pg_dump is the judge of a restore.
#
# The object zoo of the DDL capture (test/fixtures/zoo.sql) is snapshotted,
# changed (data and definitions), then restored: in place, into another
# database of the same server, and into another cluster of the same major
# version with the archive copied (where its roles are missing).  Each time
# pg_dump --schema-only and --data-only of the restored schema equal the
# dumps taken at snapshot time.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use lib dirname(__FILE__) . '/../perl';
use BacDdlRoundTrip;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::RecursiveCopy;
use PostgreSQL::Test::Utils;
use Test::More;

my $zoo = 'test/fixtures/zoo.sql';
plan skip_all => "$zoo (the object zoo of the DDL capture) is not in this tree"
  unless -f $zoo;

my $node = PostgreSQL::Test::Cluster->new('restore_fidelity');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE ROLE zoo_owner;
CREATE ROLE zoo_reader;
CREATE ROLE "Zoo Writer";
CREATE DATABASE src;
CREATE DATABASE dst;
});
my ($ret, $out, $err) = $node->psql('src', undef,
	extra_params => [ '-f', $zoo ], on_error_stop => 1);
is($ret, 0, 'the object zoo loads') or diag($err);

$node->safe_psql('src', q{
CREATE EXTENSION pg_bac;
SELECT bac.register_service('zoo');
});
my $snap = $node->safe_psql('src', q{SELECT snapshot_id FROM bac.snapshot('{zoo}')});
like($snap, qr/^\d{8}T/, 'snapshot of the zoo');
my $schema_at_snapshot = dump_schema($node, 'src', '--schema-only', 'zoo');
my $data_at_snapshot = dump_schema($node, 'src', '--data-only', 'zoo');
my @tables = split /\n/, $node->safe_psql('src', q{
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'zoo' AND c.relkind = 'r' ORDER BY 1});
cmp_ok(scalar(@tables), '>', 5, 'the zoo has tables');

# change it: every table loses its rows, one gets a new column and index
$node->safe_psql('src', join('', map { "DELETE FROM $_;\n" } reverse @tables)
	  . "ALTER TABLE $tables[0] ADD COLUMN added_later int;\n"
	  . "CREATE INDEX added_later_idx ON $tables[0] (added_later);\n");
isnt(dump_schema($node, 'src', '--schema-only', 'zoo'), $schema_at_snapshot,
	'the zoo changed after the snapshot');

# 1. in place
($ret, $out, $err) = $node->psql('src',
	"SELECT count(*) FROM bac.restore('$snap', 'zoo', keep_previous => false)");
is($ret, 0, 'in-place restore of the zoo') or diag($err);
compare_dumps(dump_schema($node, 'src', '--schema-only', 'zoo'), $schema_at_snapshot,
	'in place: pg_dump --schema-only equals the dump at snapshot time');
compare_dumps(dump_schema($node, 'src', '--data-only', 'zoo'), $data_at_snapshot,
	'in place: pg_dump --data-only equals the dump at snapshot time');

# 1b. beside the live schema, under another name: the dump equals the
#     original's with the schema renamed (the scripts are relocatable)
($ret, $out, $err) = $node->psql('src',
	"SELECT count(*) FROM bac.restore('$snap', 'zoo', into_schema => 'zoo_copy')");
is($ret, 0, 'restore of the zoo into zoo_copy') or diag($err);
{
	my $want = $schema_at_snapshot;
	$want =~ s/\bzoo\./zoo_copy./g;
	$want =~ s/(Schema|Name): zoo;/$1: zoo_copy;/g;
	$want =~ s/SCHEMA zoo\b/SCHEMA zoo_copy/g;
	$want =~ s/search_path TO 'zoo'/search_path TO 'zoo_copy'/g;
	compare_dumps(dump_schema($node, 'src', '--schema-only', 'zoo_copy'), $want,
		'into_schema: pg_dump --schema-only equals the dump at snapshot time, schema renamed');
}
$node->safe_psql('src', 'DROP SCHEMA zoo_copy CASCADE');

# 2. into another database of the same server (same archive directory)
# what the zoo needs outside its schema, in any database it goes to
my $prereq = 'CREATE FOREIGN DATA WRAPPER zoo_fdw; CREATE SERVER zoo_server FOREIGN DATA WRAPPER zoo_fdw;';
$node->safe_psql('dst', "CREATE EXTENSION pg_bac; $prereq");
($ret, $out, $err) = $node->psql('dst',
	"SELECT count(*) FROM bac.restore('$snap', 'zoo')");
is($ret, 0, 'restore of the zoo into another database') or diag($err);
compare_dumps(dump_schema($node, 'dst', '--schema-only', 'zoo'), $schema_at_snapshot,
	'other database: pg_dump --schema-only equals the dump at snapshot time');
compare_dumps(dump_schema($node, 'dst', '--data-only', 'zoo'), $data_at_snapshot,
	'other database: pg_dump --data-only equals the dump at snapshot time');

# 3. into another cluster of the same major version, archive copied, where
#    the zoo's roles do not exist
my $other = PostgreSQL::Test::Cluster->new('restore_fidelity_other');
$other->init;
$other->start;
my $archive = $node->data_dir . '/pg_bac';
make_path($other->data_dir . '/pg_bac');
PostgreSQL::Test::RecursiveCopy::copypath("$archive/$snap", $other->data_dir . "/pg_bac/$snap");
$other->safe_psql('postgres', "CREATE EXTENSION pg_bac; $prereq");
($ret, $out, $err) = $other->psql('postgres',
	"SELECT count(*) FROM bac.restore('$snap', 'zoo')");
isnt($ret, 0, 'other cluster: the restore is refused while roles are missing');
like($err, qr/roles of snapshot "$snap" do not exist here: .*zoo_owner/,
	'and the missing roles are named');
is($other->safe_psql('postgres', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'zoo'}),
	'0', 'nothing was created');
($ret, $out, $err) = $other->psql('postgres',
	"SELECT count(*) FROM bac.restore('$snap', 'zoo', missing_roles => 'current_user')");
is($ret, 0, "other cluster: missing_roles => 'current_user' restores") or diag($err);
# the data is the same; the owners named in the dump's comments are not
(my $got = dump_schema($other, 'postgres', '--data-only', 'zoo')) =~ s/; Owner: .*$//mg;
(my $want = $data_at_snapshot) =~ s/; Owner: .*$//mg;
compare_dumps($got, $want,
	'other cluster: pg_dump --data-only equals the dump at snapshot time (but for owners)');
is($other->safe_psql('postgres', q{SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'zoo' AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)}),
	'0', 'other cluster: every relation is owned by the current user');
$other->safe_psql('postgres', q{
CREATE ROLE zoo_owner; CREATE ROLE zoo_reader; CREATE ROLE "Zoo Writer";
DROP SCHEMA zoo CASCADE;});
($ret, $out, $err) = $other->psql('postgres',
	"SELECT count(*) FROM bac.restore('$snap', 'zoo')");
is($ret, 0, 'other cluster: with the roles created, a plain restore works') or diag($err);
compare_dumps(dump_schema($other, 'postgres', '--schema-only', 'zoo'), $schema_at_snapshot,
	'other cluster: pg_dump --schema-only equals the dump at snapshot time');

$other->stop;
$node->stop;
done_testing();
