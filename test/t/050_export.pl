# test/t/050_export.pl: pg_dump is the judge of an export.
#
# The object zoo of the DDL capture (test/fixtures/zoo.sql), plus a table
# big enough to be copied in slices by a parallel snapshot, is snapshotted
# (uncompressed and zstd), exported with bac.export() through psql into a
# file, and the file is loaded with psql into empty databases:
#   - as the original schema: pg_dump --schema-only and --data-only of the
#     target equal the dumps of the source at snapshot time;
#   - under another name (as_schema): they equal the source's dumps with the
#     schema renamed;
#   - the zstd and lz4 snapshots export the same bytes as the uncompressed
#     one (but for the two header lines naming the snapshot);
#   - a name with a line break cannot end a comment of the script;
#   - a damaged slice is refused before the first line.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__) . '/../perl';
use BacDdlRoundTrip;
use BacSnapshotTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $zoo = 'test/fixtures/zoo.sql';
plan skip_all => "$zoo (the object zoo of the DDL capture) is not in this tree"
  unless -f $zoo;

my $node = bac_node('export');
$node->safe_psql('postgres', q{
CREATE ROLE zoo_owner;
CREATE ROLE zoo_reader;
CREATE ROLE "Zoo Writer";
});
$node->safe_psql('postgres', "CREATE DATABASE $_") for qw(src dst dst_copy);
my ($ret, $out, $err) = $node->psql('src', undef,
	extra_params => [ '-f', $zoo ], on_error_stop => 1);
is($ret, 0, 'the object zoo loads') or diag($err);

# a table of more than 2 x 4096 blocks: a parallel snapshot slices it
$node->safe_psql('src', q{
CREATE TABLE zoo.big (id int PRIMARY KEY, v int, note text) WITH (fillfactor = 10);
INSERT INTO zoo.big SELECT g, g % 97, CASE WHEN g % 10 = 0 THEN NULL ELSE E'n\t' || g END
  FROM generate_series(1, 200000) g;
CREATE TABLE zoo.nothing ();
INSERT INTO zoo.nothing DEFAULT VALUES;
INSERT INTO zoo.nothing DEFAULT VALUES;
});

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "open $path: $!";
	local $/;
	my $t = <$fh>;
	close $fh;
	return $t;
}

# export with psql into a file; returns the seconds it took
sub export_to
{
	my ($file, $call) = @_;
	my $start = time;
	my ($o, $e) = run_command([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr('src'), '-c', $call, '-o', $file ]);
	is($e, '', "export $call: no error");
	return time - $start;
}

# load a script into a database with psql
sub load
{
	my ($db, $file) = @_;
	my ($o, $e) = run_command([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr($db), '-f', $file ]);
	unlike($e, qr/ERROR/, "$file loads into $db") or diag($e);
}

$node->safe_psql('src', q{
CREATE EXTENSION pg_bac;
SELECT bac.register_service('zoo');
});
my $snap = $node->safe_psql('src',
	q{SET client_min_messages = warning; SELECT snapshot_id FROM bac.snapshot('{zoo}', workers => 2)});
like($snap, qr/^\d{8}T/, 'uncompressed parallel snapshot of the zoo');
my $zsnap = $node->safe_psql('src',
	q{SET client_min_messages = warning; SELECT snapshot_id FROM bac.snapshot('{zoo}', workers => 2, compression => 'zstd')});
like($zsnap, qr/^\d{8}T/, 'zstd parallel snapshot of the zoo');
my $lsnap = $node->safe_psql('src',
	q{SET client_min_messages = warning; SELECT snapshot_id FROM bac.snapshot('{zoo}', compression => 'lz4')});
like($lsnap, qr/^\d{8}T/, 'lz4 snapshot of the zoo');
my $schema_at_snapshot = dump_schema($node, 'src', '--schema-only', 'zoo');
my $data_at_snapshot = dump_schema($node, 'src', '--data-only', 'zoo');

for my $s ($snap, $zsnap)
{
	my $nfiles = $node->safe_psql('src', qq{
SELECT jsonb_array_length(t->'files')
  FROM jsonb_path_query(pg_read_file('pg_bac/$s/manifest.json')::jsonb,
                        '\$.services[*].tables[*] ? (\@.table == "big")') t});
	cmp_ok($nfiles, '>', 1, "snapshot $s: the big table is in $nfiles slice files");
}

# the source changes after the snapshot: the export must not see it
$node->safe_psql('src', q{
DELETE FROM zoo.big WHERE id % 2 = 0;
ALTER TABLE zoo.big ADD COLUMN later int;
});

my $dir = PostgreSQL::Test::Utils::tempdir();
my $prereq = 'CREATE FOREIGN DATA WRAPPER zoo_fdw; CREATE SERVER zoo_server FOREIGN DATA WRAPPER zoo_fdw;';

# 1. as the original schema, into an empty database
my $secs = export_to("$dir/zoo.sql", "SELECT * FROM bac.export('$snap', 'zoo')");
my $bytes = -s "$dir/zoo.sql";
note(sprintf('export of the zoo: %d bytes in %.3f s (%.1f MB/s)',
	$bytes, $secs, $bytes / 1e6 / ($secs || 1e-6)));
$node->safe_psql('dst', $prereq);
load('dst', "$dir/zoo.sql");
compare_dumps(dump_schema($node, 'dst', '--schema-only', 'zoo'), $schema_at_snapshot,
	'export loaded: pg_dump --schema-only equals the dump at snapshot time');
compare_dumps(dump_schema($node, 'dst', '--data-only', 'zoo'), $data_at_snapshot,
	'export loaded: pg_dump --data-only equals the dump at snapshot time');
is($node->safe_psql('dst', 'SELECT count(*) FROM zoo.big'), '200000',
	'the sliced table has all its rows');

# 2. under another name
export_to("$dir/zoo_copy.sql",
	"SELECT * FROM bac.export('$snap', 'zoo', as_schema => 'zoo_copy')");
$node->safe_psql('dst_copy', $prereq);
load('dst_copy', "$dir/zoo_copy.sql");
{
	my $want = $schema_at_snapshot;
	$want =~ s/\bzoo\./zoo_copy./g;
	$want =~ s/(Schema|Name): zoo;/$1: zoo_copy;/g;
	$want =~ s/SCHEMA zoo\b/SCHEMA zoo_copy/g;
	$want =~ s/search_path TO 'zoo'/search_path TO 'zoo_copy'/g;
	compare_dumps(dump_schema($node, 'dst_copy', '--schema-only', 'zoo_copy'), $want,
		'as_schema: pg_dump --schema-only equals the dump at snapshot time, schema renamed');
	$want = $data_at_snapshot;
	$want =~ s/\bzoo\./zoo_copy./g;
	$want =~ s/Schema: zoo;/Schema: zoo_copy;/g;
	$want =~ s/setval\('zoo\./setval('zoo_copy./g;
	compare_dumps(dump_schema($node, 'dst_copy', '--data-only', 'zoo_copy'), $want,
		'as_schema: pg_dump --data-only equals the dump at snapshot time, schema renamed');
}

# 2b. a name with a line break does not end a comment of the script
{
	my $evil = "zoo\nDROP TABLE public.sentinel; --";
	(my $lit = $evil) =~ s/\n/\\n/g;
	export_to("$dir/zoo_evil.sql",
		"SELECT * FROM bac.export('$snap', 'zoo', as_schema => E'$lit')");
	$node->safe_psql('postgres', 'CREATE DATABASE dst_evil');
	$node->safe_psql('dst_evil', "$prereq CREATE TABLE public.sentinel ()");
	load('dst_evil', "$dir/zoo_evil.sql");
	is($node->safe_psql('dst_evil',
			"SELECT to_regclass('public.sentinel') IS NOT NULL AND to_regnamespace(quote_ident(E'$lit')) IS NOT NULL"),
		't', 'as_schema with a line break: the schema is made, nothing else runs');
}

# 3. zstd: the same bytes (streamed from the select list this time)
$secs = export_to("$dir/zoo_zstd.sql", "SELECT bac.export('$zsnap', 'zoo')");
note(sprintf('export of the zstd snapshot: %d bytes in %.3f s', -s "$dir/zoo_zstd.sql", $secs));
{
	my ($plain, $zstd) = (slurp("$dir/zoo.sql"), slurp("$dir/zoo_zstd.sql"));
	for ($plain, $zstd)
	{
		s/^-- (Snapshot|Consistent at): .*$//mg;
	}
	ok(length($plain) > 2_000_000, 'the export holds the big table');
	compare_dumps($zstd, $plain,
		'the zstd snapshot exports the same bytes as the uncompressed one');
	export_to("$dir/zoo_lz4.sql", "SELECT bac.export('$lsnap', 'zoo')");
	my $lz4 = slurp("$dir/zoo_lz4.sql");
	$lz4 =~ s/^-- (Snapshot|Consistent at): .*$//mg;
	compare_dumps($lz4, $plain,
		'the lz4 snapshot exports the same bytes as the uncompressed one');
}

# 4. a damaged slice is refused before the first line
{
	my $f = $node->safe_psql('src', qq{
SELECT t->'files'->>1
  FROM jsonb_path_query(pg_read_file('pg_bac/$zsnap/manifest.json')::jsonb,
                        '\$.services[*].tables[*] ? (\@.table == "big")') t});
	my $path = $node->data_dir . "/pg_bac/$zsnap/$f";
	open(my $fh, '+<:raw', $path) or die "open $path: $!";
	seek($fh, 100, 0);
	print $fh 'X';
	close $fh;
	my ($o, $e) = run_command([ 'psql', '-XAtq', '-d', $node->connstr('src'),
		'-c', "SELECT bac.export('$zsnap', 'zoo')" ]);
	like($e, qr/ERROR:  file ".*" of snapshot "$zsnap" is damaged/,
		'a damaged data file is refused');
	is($o, '', 'and no line of the script was returned');
}

$node->stop;
done_testing();
