# test/t/052_plain_script.pl: a snapshot is readable without pg_bac.
#
# Each service directory of a snapshot carries restore.sql, a psql script.
# Run with psql -f from another directory, on a cluster where pg_bac was
# never installed (never created, never loaded), it recreates the schema
# with its data: pg_dump --schema-only and --data-only of the result equal
# pg_dump of the source at snapshot time.  Uncompressed, zstd and lz4
# snapshots (the command-line tools read the data files); a snapshot copied
# elsewhere; the script's checksum in the manifest.
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::RecursiveCopy;
use lib dirname(__FILE__) . '/../perl';
use BacDdlRoundTrip;
use BacSnapshotTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $zoo = 'test/fixtures/zoo.sql';
plan skip_all => "$zoo (the object zoo of the DDL capture) is not in this tree"
  unless -f $zoo;

my $roles = q{
CREATE ROLE zoo_owner;
CREATE ROLE zoo_reader;
CREATE ROLE "Zoo Writer";
};
my $prereq = 'CREATE FOREIGN DATA WRAPPER zoo_fdw; CREATE SERVER zoo_server FOREIGN DATA WRAPPER zoo_fdw;';

# ---- the source, with pg_bac
my $node = bac_node('plain_src');
$node->safe_psql('postgres', $roles);
$node->safe_psql('postgres', 'CREATE DATABASE src');
my ($ret, $out, $err) = $node->psql('src', undef,
	extra_params => [ '-f', $zoo ], on_error_stop => 1);
is($ret, 0, 'the object zoo loads') or diag($err);
# a table copied in slices by a parallel snapshot: several files
$node->safe_psql('src', q{
CREATE TABLE zoo.big (id int PRIMARY KEY, v int, note text) WITH (fillfactor = 10);
INSERT INTO zoo.big SELECT g, g % 97, CASE WHEN g % 10 = 0 THEN NULL ELSE E'n\t' || g END
  FROM generate_series(1, 200000) g;
CREATE EXTENSION pg_bac;
SELECT bac.register_service('zoo');
});
my %snap;
for my $c ('none', 'zstd', 'lz4')
{
	$snap{$c} = $node->safe_psql('src',
		"SET client_min_messages = warning; SELECT snapshot_id FROM bac.snapshot('{zoo}', workers => 2, compression => '$c')");
	like($snap{$c}, qr/^\d{8}T/, "$c snapshot");
}
my $schema_at_snapshot = dump_schema($node, 'src', '--schema-only', 'zoo');
my $data_at_snapshot = dump_schema($node, 'src', '--data-only', 'zoo');
# changes after the snapshot must not show
$node->safe_psql('src', 'DELETE FROM zoo.big WHERE id % 3 = 0; ALTER TABLE zoo.big ADD COLUMN later int');

my $archive = $node->data_dir . '/pg_bac';
my $script = "$archive/$snap{none}/zoo/restore.sql";
ok(-f $script, 'the service directory has restore.sql');
my $text = slurp_file($script);
unlike($text, qr/\bbac\./, 'restore.sql calls no pg_bac function');
like($text, qr/^\\copy zoo\.big \(id, v, note\) FROM 'zoo\/data\/\d+\.1\.copy'$/m,
	'restore.sql loads each slice of the big table with \copy');
is( $node->safe_psql('src',
		"SELECT count(*) FROM jsonb_array_elements(pg_read_file('pg_bac/$snap{none}/manifest.json')::jsonb->'files') f WHERE f->>'file' = 'zoo/restore.sql'"),
	'1', 'the manifest lists restore.sql with its checksum');
is($node->safe_psql('src', "SELECT count(*) FILTER (WHERE NOT ok) FROM bac.verify_snapshot('$snap{none}')"),
	'0', 'the snapshot verifies');

# ---- the target: a cluster where pg_bac was never installed
my $plain = PostgreSQL::Test::Cluster->new('plain_dst');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', $roles);
is($plain->safe_psql('postgres', q{SHOW shared_preload_libraries}), '',
	'the target cluster preloads nothing');

my $elsewhere = PostgreSQL::Test::Utils::tempdir();

# run_script DB FILE CWD [ARGS]: psql -f FILE with CWD as working directory
sub run_script
{
	my ($db, $file, $cwd, @args) = @_;
	$plain->safe_psql('postgres', "CREATE DATABASE $db");
	$plain->safe_psql($db, $prereq);
	my ($o, $e) = ('', '');
	my $ok = IPC::Run::run(
		[ 'psql', '-X', '-q', @args, '-d', $plain->connstr($db), '-f', $file ],
		'>', \$o, '2>', \$e, init => sub { chdir $cwd or die "chdir $cwd: $!" });
	ok($ok, "psql -f $file from $cwd into $db") or diag($e);
	return $e;
}

# judge DB NAME: pg_dump of the result against the source at snapshot time
sub judge
{
	my ($db, $name) = @_;
	compare_dumps(dump_schema($plain, $db, '--schema-only', 'zoo'), $schema_at_snapshot,
		"$name: pg_dump --schema-only equals the source at snapshot time");
	compare_dumps(dump_schema($plain, $db, '--data-only', 'zoo'), $data_at_snapshot,
		"$name: pg_dump --data-only equals the source at snapshot time");
}

for my $c ('none', 'zstd', 'lz4')
{
	my $e = run_script("dst_$c", "$archive/$snap{$c}/zoo/restore.sql", $elsewhere);
	unlike($e, qr/ERROR|error/, "$c: no error");
	judge("dst_$c", "$c snapshot, absolute path, other directory");
}
is($plain->safe_psql('postgres',
		q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_bac'}), '0',
	'pg_bac is not installed in the target cluster');
for my $db ('dst_none', 'dst_zstd')
{
	is($plain->safe_psql($db, q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_bac'}),
		'0', "pg_bac is not installed in $db");
}

# ---- a copy of the snapshot elsewhere, run by a relative path
my $copy = PostgreSQL::Test::Utils::tempdir();
PostgreSQL::Test::RecursiveCopy::copypath("$archive/$snap{zstd}", "$copy/moved snapshot")
  or die "copy: $!";
run_script('dst_moved', 'moved snapshot/zoo/restore.sql', $copy);
judge('dst_moved', 'a copied snapshot, relative path');

# ---- the directory named explicitly (systems without /proc)
run_script('dst_named', "$copy/moved snapshot/zoo/restore.sql", $elsewhere,
	'-v', "bac_snapshot_dir=$copy/moved snapshot");
judge('dst_named', 'bac_snapshot_dir given');

# ---- a wrong directory is refused before anything is created
$plain->safe_psql('postgres', 'CREATE DATABASE dst_wrong');
my ($o, $e) = ('', '');
IPC::Run::run(
	[ 'psql', '-X', '-q', '-v', "bac_snapshot_dir=$elsewhere", '-d', $plain->connstr('dst_wrong'),
	  '-f', "$archive/$snap{none}/zoo/restore.sql" ],
	'>', \$o, '2>', \$e);
like($o . $e, qr/snapshot directory was not found/, 'a wrong bac_snapshot_dir is refused');
is($plain->safe_psql('dst_wrong', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'zoo'}),
	'0', 'and creates nothing');

# ---- restore.sql is covered by the checksums
open(my $fh, '>>', $script) or die;
print $fh "-- tampered\n";
close $fh;
is($node->safe_psql('src',
		"SELECT string_agg(file, ',') FROM bac.verify_snapshot('$snap{none}') WHERE NOT ok"),
	'zoo/restore.sql', 'a changed restore.sql fails verification');

$plain->stop;
$node->stop;
done_testing();
