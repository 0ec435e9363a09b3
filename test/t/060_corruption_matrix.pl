# test/t/060_corruption_matrix.pl: every file of a snapshot, damaged in
# every way, is caught before anything changes.
#
# For snapshots without compression, with zstd and with lz4, every file
# (manifest.json, pre-data.sql, post-data.sql, each data file) is in turn
# truncated, gets a byte flipped in the middle, gets bytes appended, is
# deleted, and is replaced by the same-named file of another snapshot; the
# manifest's checksum line is tampered with, and a manifest forged
# consistently (a file's sha256 changed, checksum line recomputed) is
# tried.  For every case:
#   - bac.verify_snapshot names the damaged file (not ok);
#   - bac.restore (in place), bac.restore_group and bac.export fail with an
#     error naming the file;
#   - bac.export returns no line of script (psql fetches one row at a time);
#   - for a damaged manifest (the checksum line tampered with included),
#     bac.snapshots() does not list the snapshot and warns that it skips it;
#   - the database (schemas, pg_dump --schema-only, every table's rows,
#     sequences) equals its state before the case.
# The number of cases (files x damages) is printed at the end.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacSnapshotTest;
use BacGuarantee;

my $node = bac_node('corruption');
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE SCHEMA cm;
CREATE TABLE cm.a (id serial PRIMARY KEY, note text NOT NULL);
INSERT INTO cm.a (note) SELECT md5(g::text) || repeat('y', g % 40) FROM generate_series(1, 3000) g;
CREATE TABLE cm.b (id int PRIMARY KEY, a_id int REFERENCES cm.a, v numeric);
INSERT INTO cm.b SELECT g, g, g / 3.0 FROM generate_series(1, 500) g;
CREATE INDEX b_v ON cm.b (v);
CREATE SCHEMA other;
CREATE TABLE other.t (id int PRIMARY KEY, w text);
INSERT INTO other.t SELECT g, 'w' || g FROM generate_series(1, 100) g;
});
bac_register($node, $db, 'cm', 'other');
my $archive = $node->data_dir . '/pg_bac';

my @comps = ('none', 'zstd', 'lz4');
my (%snap, %donor);
$snap{$_} = $node->safe_psql($db,
	"SELECT snapshot_id FROM bac.snapshot('{cm}', compression => '$_')") for @comps;

# The donor snapshots have the same file names with other contents: another
# comment (pre-data), another index (post-data), other rows (data).  The
# live state now differs from the snapshots above, so a restore that went
# through would show.
$node->safe_psql($db, q{
COMMENT ON TABLE cm.a IS 'donor';
CREATE INDEX a_note ON cm.a (note);
UPDATE cm.a SET note = note || '!' WHERE id % 7 = 0;
UPDATE cm.b SET v = -v WHERE id % 5 = 0;
});
$donor{$_} = $node->safe_psql($db,
	"SELECT snapshot_id FROM bac.snapshot('{cm}', compression => '$_')") for @comps;
$node->safe_psql($db, q{
UPDATE cm.a SET note = 'after both' WHERE id = 1;
INSERT INTO other.t VALUES (101, 'after');
});

my $pristine = PostgreSQL::Test::Utils::tempdir();
my $cases = 0;
my %kinds;

# bac.export through psql fetching one row at a time: what it printed
sub export_lines
{
	my ($id) = @_;
	my ($out, $err) = ('', '');
	my $ret = $node->psql($db,
		"\\set FETCH_COUNT 1\nSELECT line FROM bac.export('$id', 'cm') AS line",
		stdout => \$out, stderr => \$err);
	return ($ret, $out, $err);
}

# One damaged snapshot: run every check.  $name names the file the errors
# must mention; $bad the file verify must report.
sub check_case
{
	my ($comp, $id, $label, $name, $bad) = @_;
	$cases++;
	my $before = db_state($node, $db);
	my $what = "$comp, $label";

	my ($ret, $out, $err) = $node->psql($db,
		"SELECT file FROM bac.verify_snapshot('$id') WHERE NOT ok ORDER BY file");
	if ($ret == 0)
	{
		like("\n$out\n", qr/\n\Q$bad\E\n/, "$what: verify_snapshot reports $bad");
	}
	else
	{
		# only when the manifest cannot be read at all may verify error out
		like($err, qr/manifest/, "$what: verify_snapshot fails naming the manifest");
	}

	($ret, $out, $err) = $node->psql($db,
		"SELECT count(*) FROM bac.restore('$id', 'cm')");
	isnt($ret, 0, "$what: restore refuses");
	like($err, qr/\Q$name\E/, "$what: restore's error names $name");

	($ret, $out, $err) = $node->psql($db,
		"SELECT count(*) FROM bac.restore_group('$id', '{cm}')");
	isnt($ret, 0, "$what: restore_group refuses");
	like($err, qr/\Q$name\E/, "$what: restore_group's error names $name");

	($ret, $out, $err) = export_lines($id);
	isnt($ret, 0, "$what: export refuses");
	is($out, '', "$what: export returned no line of script");
	like($err, qr/\Q$name\E/, "$what: export's error names $name");

	# bac.snapshots() lists the valid snapshots: not one whose manifest
	# every reader rejects (a data file is checked only by verify)
	if ($name eq 'manifest')
	{
		($ret, $out, $err) = $node->psql($db,
			"SELECT count(*) FROM bac.snapshots() WHERE snapshot_id = '$id'");
		is($out, '0', "$what: snapshots() does not list it");
		like($err, qr/WARNING:  skipping snapshot directory/, "$what: snapshots() warns that it skips it");
	}

	is(db_state($node, $db), $before, "$what: the database did not change");
}

for my $comp (@comps)
{
	my $id = $snap{$comp};
	my $dir = "$archive/$id";
	my $ddir = "$archive/$donor{$comp}";
	system('cp', '-a', $dir, "$pristine/$id") == 0 or die "cp failed";
	my @files = bac_files_of($dir);
	my @data = grep { m{/data/} } @files;
	is(scalar(@data), 2, "$comp: the snapshot has a data file per table (@data)");
	is($node->safe_psql($db,
			"SELECT count(*) FILTER (WHERE NOT ok) FROM bac.verify_snapshot('$id')"),
		'0', "$comp: the intact snapshot verifies");
	is($node->safe_psql($db, "SELECT count(*) FROM bac.snapshots() WHERE snapshot_id = '$id'"),
		'1', "$comp: snapshots() lists the intact snapshot");

	# put the snapshot back as it was taken
	my $heal = sub {
		system('rm', '-rf', $dir) == 0 or die "rm failed";
		system('cp', '-a', "$pristine/$id", $dir) == 0 or die "cp failed";
	};

	for my $f (@files)
	{
		my $path = "$dir/$f";
		my $good = slurp($path);
		my $kind = $f eq 'manifest.json' ? 'manifest'
		  : $f =~ m{/data/} ? "data file ($comp)" : ($f =~ m{/([^/]+)$})[0];
		$kinds{"$f ($comp)"} = 1;
		# what errors must name: the path, or for the manifest "manifest"
		my $name = $f eq 'manifest.json' ? 'manifest' : $f;
		my $donor_bytes = slurp("$ddir/$f");
		isnt($donor_bytes, $good, "$comp: the donor's $f differs");

		my %damage = (
			'truncated' => sub { spew($path, substr($good, 0, int(length($good) / 2))) },
			'byte flipped in the middle' => sub {
				my $d = $good;
				my $pos = int(length($d) / 2);
				substr($d, $pos, 1) = chr(ord(substr($d, $pos, 1)) ^ 0x20);
				spew($path, $d);
			},
			'bytes appended' => sub { spew($path, $good . "appended\n") },
			'deleted' => sub { unlink($path) or die "unlink $path: $!" },
			'replaced by the donor snapshot\'s file' => sub { spew($path, $donor_bytes) });
		for my $d (sort keys %damage)
		{
			$damage{$d}->();
			check_case($comp, $id, "$f $d", $name, $f);
			$heal->();
		}
	}

	# the manifest's checksum line tampered with (one hex digit changed)
	{
		my $path = "$dir/manifest.json";
		my $m = slurp($path);
		$m =~ s/("manifest_checksum": ")(.)/$1 . ($2 eq 'a' ? 'b' : 'a')/e
		  or die 'no checksum line';
		spew($path, $m);
		check_case($comp, $id, 'manifest checksum line tampered', 'manifest', 'manifest.json');
		$heal->();
	}

	# a forged manifest, consistent with itself: the sha256 of a data file
	# changed and the checksum line recomputed; the file is then damaged
	{
		my $path = "$dir/manifest.json";
		my $m = slurp($path);
		my $f = $data[0];
		$m =~ s/("file":\s*"\Q$f\E",\s*"bytes":\s*\d+,\s*"sha256":\s*")([0-9a-f])/$1 . ($2 eq '0' ? '1' : '0')/e
		  or die "no entry for $f";
		spew($path, manifest_reseal($m));
		check_case($comp, $id, "manifest forged with another sha256 for $f", $f, $f);
		$heal->();
	}

	is($node->safe_psql($db,
			"SELECT count(*) FILTER (WHERE NOT ok) FROM bac.verify_snapshot('$id')"),
		'0', "$comp: healed, the snapshot verifies again");
}

# the checks above can fail: an intact snapshot does restore and changes
# the state they compare
{
	my $before = db_state($node, $db);
	my ($out) = $node->safe_psql($db,
		"SELECT count(*) FROM bac.export('$snap{zstd}', 'cm')");
	cmp_ok($out, '>', 10, 'the intact snapshot exports');
	$node->safe_psql($db, "SELECT count(*) FROM bac.restore_group('$snap{lz4}', '{cm}')");
	$node->safe_psql($db, "SELECT count(*) FROM bac.restore('$snap{none}', 'cm', keep_previous => false)");
	isnt(db_state($node, $db), $before, 'an intact snapshot restores and changes the state');
	is($node->safe_psql($db, "SELECT note FROM cm.a WHERE id = 1"), 'c4ca4238a0b923820dcc509a6f75849b' . 'y',
		'the restored row is the snapshot\'s');
}

my $nfiles = scalar(keys %kinds);
cmp_ok($cases, '>=', 70,
	"corruption matrix: $cases cases ($nfiles files in 3 compressions x 5 damages, "
	  . "+ 2 manifest forgeries each), each checked by verify, restore, restore_group, export and a state compare");
diag("counts: corruption matrix: $cases cases ($nfiles files x 5 damages + 2 manifest forgeries per compression)");

$node->stop;
done_testing();
