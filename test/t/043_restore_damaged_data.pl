# test/t/043_restore_damaged_data.pl: restore refuses a damaged compressed
# data file even when the manifest vouches for it.
#
# For zstd and lz4 snapshots, a data file is truncated (in the middle and
# by its last bytes) or gets bytes appended after its last frame; the
# manifest's size, SHA-256 and checksum line are rewritten to match, so only
# the decompressor (copy_out.c's BacDataReader) can notice.  Each restore
# must fail with an error naming the file and leave nothing behind; the
# intact file restores every row, and so do files the zstd and lz4 tools
# write (no content checksum; two frames one after the other).
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('restore_damaged');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA dmg;
CREATE TABLE dmg.t (id int PRIMARY KEY, note text);
INSERT INTO dmg.t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
SELECT bac.register_service('dmg');
});

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "open $path: $!";
	local $/;
	my $data = <$fh>;
	close $fh;
	return $data;
}

sub spew
{
	my ($path, $data) = @_;
	open(my $fh, '>:raw', $path) or die "open $path: $!";
	print $fh $data;
	close $fh or die "close $path: $!";
}

# Write $data as data file $file of the snapshot in $dir, and make the
# manifest agree with it (size, SHA-256, manifest checksum).
sub plant
{
	my ($dir, $manifest, $file, $data) = @_;
	spew("$dir/$file", $data);
	my $len = length($data);
	my $sha = sha256_hex($data);
	my $m = $manifest;
	my $n = ($m =~ s/("file":\s*"\Q$file\E",\s*"bytes":\s*)\d+(,\s*"sha256":\s*")[0-9a-f]{64}/$1$len$2$sha/);
	die "file $file not found in the manifest" unless $n == 1;
	my $pos = rindex($m, "\n\"manifest_checksum\": \"");
	die "no manifest checksum line" if $pos < 0;
	my $body = substr($m, 0, $pos + 1);
	spew("$dir/manifest.json",
		$body . '"manifest_checksum": "' . sha256_hex($body) . "\"}\n");
}

for my $comp ('zstd', 'lz4')
{
	my $id = $node->safe_psql('postgres',
		"SELECT snapshot_id FROM bac.snapshot('{dmg}', compression => '$comp')");
	my $dir = $node->data_dir . "/pg_bac/$id";
	my $manifest = slurp("$dir/manifest.json");
	my ($file) = $manifest =~ /"files":\s*\["(dmg\/[^"]+)"\]/;
	ok(defined $file, "$comp: the snapshot has one data file for dmg.t");
	my $good = slurp("$dir/$file");
	cmp_ok(length($good), '>', 100, "$comp: the data file is not empty");

	my %cases = (
		'truncated in the middle' => [
			substr($good, 0, int(length($good) / 2)),
			qr/$comp data file "[^"]*\Q$file\E" ends in the middle of a frame/ ],
		'without its last 3 bytes' => [
			substr($good, 0, length($good) - 3),
			qr/$comp data file "[^"]*\Q$file\E" ends in the middle of a frame/ ],
		'with bytes after the frame' => [
			$good . "trailing bytes after the frame\n",
			qr/could not decompress $comp data file "[^"]*\Q$file\E"/ ],
		'with 2 bytes after the frame' => [
			$good . "xy",
			qr/$comp data file "[^"]*\Q$file\E"/ ]);
	for my $case (sort keys %cases)
	{
		my ($data, $re) = @{ $cases{$case} };
		plant($dir, $manifest, $file, $data);
		my ($ret, $out, $err) = $node->psql('postgres',
			"SELECT count(*) FROM bac.restore('$id', 'dmg', into_schema => 'dmg_copy')");
		isnt($ret, 0, "$comp, data file $case: restore fails");
		like($err, $re, "$comp, data file $case: the error names the file");
		is($node->safe_psql('postgres',
				"SELECT count(*) FROM pg_namespace WHERE nspname = 'dmg_copy'"),
			'0', "$comp, data file $case: nothing restored");
	}

	# Files other tools write are read too: a frame without content
	# checksum (zstd then has nothing after its last block, so the reader
	# must flush the decompressor at the end of the file) and two frames
	# one after the other.
  SKIP:
	{
		my $tool = $comp eq 'zstd' ? 'zstd' : 'lz4';
		my @nocheck = $comp eq 'zstd' ? ('--no-check') : ('--no-frame-crc');
		skip "the $tool command is not installed", 6
		  unless system("$tool --version >/dev/null 2>&1") == 0;
		my $tmp = PostgreSQL::Test::Utils::tempdir();
		spew("$tmp/good", $good);
		my $raw = scalar(`$tool -q -d -c $tmp/good`);
		die "$tool -d failed" if $? != 0 || length($raw) == 0;
		my $half = index($raw, "\n", int(length($raw) / 2)) + 1;
		spew("$tmp/a", substr($raw, 0, $half));
		spew("$tmp/b", substr($raw, $half));
		my %variants = (
			'a frame without checksum' =>
			  scalar(`cat $tmp/a $tmp/b | $tool -q -c @nocheck`),
			'two frames' =>
			  scalar(`$tool -q -c $tmp/a`) . scalar(`$tool -q -c $tmp/b`));
		for my $v (sort keys %variants)
		{
			plant($dir, $manifest, $file, $variants{$v});
			my ($ret, $out, $err) = $node->psql('postgres',
				"SELECT count(*) FROM bac.restore('$id', 'dmg', into_schema => 'dmg_copy')");
			is($ret, 0, "$comp, $v: restore succeeds") or diag($err);
			is($node->safe_psql('postgres', q{
				SELECT count(*) FROM (SELECT * FROM dmg.t EXCEPT ALL SELECT * FROM dmg_copy.t) a}),
				'0', "$comp, $v: every row restored");
			is($node->safe_psql('postgres', 'SELECT count(*) FROM dmg_copy.t'),
				'5000', "$comp, $v: no extra row");
			$node->safe_psql('postgres', 'DROP SCHEMA IF EXISTS dmg_copy CASCADE');
		}
	}

	# the intact file (and the manifest as written) restore every row
	spew("$dir/$file", $good);
	spew("$dir/manifest.json", $manifest);
	$node->safe_psql('postgres',
		"SELECT count(*) FROM bac.restore('$id', 'dmg', into_schema => 'dmg_copy')");
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM (SELECT * FROM dmg.t EXCEPT ALL SELECT * FROM dmg_copy.t) a}),
		'0', "$comp: the intact file restores every row");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM dmg_copy.t'),
		'5000', "$comp: no extra row");
	$node->safe_psql('postgres', "DROP SCHEMA dmg_copy CASCADE; SELECT bac.drop_snapshot('$id')");
}

$node->stop;
done_testing();
