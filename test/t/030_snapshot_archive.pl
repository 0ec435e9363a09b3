# test/t/030_snapshot_archive.pl: checksums catch any damaged byte; bad
# archive directories fail cleanly; leftovers of crashed snapshots are
# cleaned and never listed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Cwd ();
use BacSnapshotTest;

my $node = bac_node('archive');
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE SCHEMA alpha; CREATE SCHEMA beta;
CREATE TABLE alpha.t (id int PRIMARY KEY, v text);
INSERT INTO alpha.t SELECT i, repeat('x', i % 50) FROM generate_series(1, 2000) i;
CREATE TABLE beta.u (id int, w numeric);
INSERT INTO beta.u SELECT i, i / 7.0 FROM generate_series(1, 1000) i;
});
bac_register($node, $db, 'alpha', 'beta');
my $archive = $node->data_dir . '/pg_bac';

for my $comp ('none', 'zstd')
{
	my $id = $node->safe_psql($db,
		"SELECT snapshot_id FROM bac.snapshot(compression => '$comp', workers => 2)");
	my $dir = "$archive/$id";
	my @files = bac_files_of($dir);
	ok(scalar(@files) >= 7, "$comp: snapshot has its files (@files)");

	# files readable by the server's OS user only
	my @loose = grep { (stat("$dir/$_"))[2] & 077 } @files;
	is_deeply(\@loose, [], "$comp: no file is readable by group or others");
	is((stat($dir))[2] & 0777, 0700, "$comp: snapshot directory is 0700");

	is($node->safe_psql($db,
			"SELECT count(*) FILTER (WHERE NOT ok) FROM bac.verify_snapshot('$id')"),
		'0', "$comp: intact snapshot verifies");

	# flip one byte in each file in turn: exactly that file is reported
	for my $f (@files)
	{
		my $path = "$dir/$f";
		my $size = -s $path;
		my $pos = int($size / 2);
		open(my $fh, '+<', $path) or die "open $path: $!";
		binmode $fh;
		seek($fh, $pos, 0);
		read($fh, my $orig, 1);
		seek($fh, $pos, 0);
		print $fh chr(ord($orig) ^ 0x01);
		close $fh;

		my $bad = $node->safe_psql($db,
			"SELECT string_agg(file, ',' ORDER BY file) FROM bac.verify_snapshot('$id') WHERE NOT ok");
		is($bad, $f, "$comp: a flipped byte in $f is reported for that file");

		open($fh, '+<', $path) or die "open $path: $!";
		binmode $fh;
		seek($fh, $pos, 0);
		print $fh $orig;
		close $fh;
	}
	is($node->safe_psql($db,
			"SELECT count(*) FILTER (WHERE NOT ok) FROM bac.verify_snapshot('$id')"),
		'0', "$comp: restored bytes verify again");

	# a missing file is reported too
	rename("$dir/alpha/pre-data.sql", "$dir/alpha/pre-data.sql.gone");
	like($node->safe_psql($db,
			"SELECT detail FROM bac.verify_snapshot('$id') WHERE file = 'alpha/pre-data.sql'"),
		qr/missing/, "$comp: a missing file is reported");
	rename("$dir/alpha/pre-data.sql.gone", "$dir/alpha/pre-data.sql");
}

# change bac.archive_directory and wait until new sessions see it
sub set_archive
{
	my ($dir) = @_;
	$node->append_conf('postgresql.conf', "bac.archive_directory = '$dir'");
	$node->reload;
	$node->poll_query_until($db,
		"LOAD 'pg_bac'; SELECT current_setting('bac.archive_directory') = '$dir'",
		"LOAD\nt")
	  or die "bac.archive_directory was not reloaded";
}

# leftovers of a crashed snapshot: a temporary directory of a dead backend
# is removed, a directory without manifest is never listed
my $before = $node->safe_psql($db, 'SELECT count(*) FROM bac.snapshots()');
mkdir "$archive/.tmp-20200101T000000.000000Z.999999" or die;
mkdir "$archive/.tmp-20200101T000000.000000Z.999999/alpha" or die;
mkdir "$archive/20200101T000000.000001Z" or die;
my ($ret, $out, $err) = $node->psql($db, 'SELECT count(*) FROM bac.snapshots()');
is($out, $before, 'a directory without manifest is not listed');
like($err, qr/no valid manifest/, 'and a warning names it');
ok(!-e "$archive/.tmp-20200101T000000.000000Z.999999",
	'a stale temporary directory is cleaned up');
rmdir "$archive/20200101T000000.000001Z";

# an archive directory that cannot be written: clean error, nothing left
my $ro = Cwd::abs_path($node->basedir) . '/readonly';
mkdir $ro or die;
chmod 0500, $ro;
set_archive($ro);
($ret, $out, $err) = $node->psql($db, "SELECT * FROM bac.snapshot()");
isnt($ret, 0, 'snapshot into a read-only archive directory fails');
like($err, qr/could not create directory/, 'with a clear message');
opendir(my $dh, $ro);
is(scalar(grep { !/^\.\.?$/ } readdir $dh), 0, 'and leaves nothing behind');
closedir $dh;

# an archive "directory" that is a file
my $file = Cwd::abs_path($node->basedir) . '/a_file';
open(my $fh, '>', $file); print $fh "x"; close $fh;
set_archive($file);
($ret, $out, $err) = $node->psql($db, "SELECT * FROM bac.snapshot()");
like($err, qr/is not a directory/, 'an archive path that is a file is refused');

# a missing archive directory is created 0700, relative to the data directory
set_archive('new_archive/sub');
$node->safe_psql($db, "SELECT * FROM bac.snapshot(ARRAY['beta'])");
my $new = $node->data_dir . '/new_archive/sub';
ok(-d $new, 'a missing archive directory is created');
is((stat($new))[2] & 0777, 0700, 'with mode 0700');
is($node->safe_psql($db, "SELECT services FROM bac.snapshots()"), '{beta}',
	'and the snapshot is listed from there');

$node->stop;
done_testing();
