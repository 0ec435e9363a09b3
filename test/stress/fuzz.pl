# test/stress/fuzz.pl (make stress): mutated archive content gives a clean
# error, never a crash, a hang or a memory error.
#
# BAC_FUZZ_INPUTS (default 3000) inputs: a file of a snapshot (manifest,
# pre-data, post-data, a plain, zstd or lz4 data file) is mutated (bytes
# flipped, random or special bytes inserted, a range deleted or
# duplicated, truncated) and the manifest is resealed so the mutation gets
# past the checksums and reaches the parsers: for a data file or script
# its size and sha256 are rewritten, for the manifest its checksum line.
# Then bac.restore (under another name), bac.verify_snapshot and
# bac.export run, in one session per input, with statement_timeout = 30 s
# (300 s under valgrind).  Each must succeed or fail with an ERROR; a
# server crash (a backend killed by a signal) or a statement timeout (a
# hang) fails the test.
#
# Then BAC_FUZZ_VALGRIND_INPUTS (default 0; make stress: 300) more inputs
# go to a second cluster whose server runs under valgrind memcheck (see
# valgrind_start in BacGuarantee.pm): any valgrind error report with a
# frame in one of our source files (src/*.c) fails the test, and every
# backend that served an input must have run under valgrind.  What memcheck sees without a server
# built with USE_VALGRIND: reads and writes outside malloc'd blocks
# (palloc chunks of more than 8 kB get a block of their own; smaller
# ones share a block, so an overrun into a neighbouring chunk is not
# seen), reads outside the stack and of freed malloc blocks, decisions
# on uninitialised bytes of fresh malloc'd memory (a reused palloc chunk
# counts as initialised), invalid frees and overlapping memcpy.
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacSnapshotTest;
use BacGuarantee;

my $inputs = $ENV{BAC_FUZZ_INPUTS} // 3000;
my $vg_inputs = $ENV{BAC_FUZZ_VALGRIND_INPUTS} // 0;
srand($ENV{BAC_SEED} // 1414);

my @special = ("\\", "\t", "\n", '"', '{', '}', '[', ']', ',', ':', "\x00", "\xff", '\\.',
	'99999999999999999999', '-1', 'null', "'", ';', '$$', "\\N");

sub mutate
{
	my ($d) = @_;
	my $len = length($d);
	my $how = int(rand(6));
	my $pos = $len ? int(rand($len)) : 0;
	if ($how == 0)
	{
		for (1 .. 1 + int(rand(8)))
		{
			my $p = int(rand($len || 1));
			substr($d, $p, 1) = chr(int(rand(256))) if $len;
		}
	}
	elsif ($how == 1) { substr($d, $pos, 0) = $special[ int(rand(@special)) ]; }
	elsif ($how == 2) { substr($d, $pos, int(rand(64))) = ''; }
	elsif ($how == 3) { substr($d, $pos, 0) = substr($d, int(rand($len || 1)), int(rand(256))); }
	elsif ($how == 4) { $d = substr($d, 0, $pos); }
	else { substr($d, $pos, 0) = join('', map { chr(int(rand(256))) } 1 .. 1 + int(rand(32))); }
	return $d;
}

# One round: a cluster, the service, three snapshots, then (the server
# restarted under valgrind when $valgrind) $inputs mutated inputs.
sub fuzz_round
{
	my ($valgrind, $inputs) = @_;
	my $timeout = $valgrind ? '300s' : '30s';
	my $node = bac_node($valgrind ? 'fuzz_valgrind' : 'fuzz');
	my $vgdir;
	my $db = 'postgres';
	$node->safe_psql($db, q{
	CREATE SCHEMA fz;
	CREATE TYPE fz.mood AS ENUM ('ok', 'sad');
	CREATE TABLE fz.t (id int PRIMARY KEY, s text, n numeric, b bytea, j jsonb, m fz.mood, a int[]);
	INSERT INTO fz.t SELECT g, E'line\\n' || g || E'\\ttab\\\\', g / 7.0, decode(md5(g::text), 'hex'),
		jsonb_build_object('g', g), 'ok', ARRAY[g, g + 1] FROM generate_series(1, 300) g;
	CREATE TABLE fz.u (id int REFERENCES fz.t, note text);
	INSERT INTO fz.u SELECT g, 'n' || g FROM generate_series(1, 300) g;
	CREATE INDEX u_note ON fz.u (note);
	CREATE VIEW fz.v AS SELECT id, s FROM fz.t WHERE id > 10;
	});
	bac_register($node, $db, 'fz');
	my $archive = $node->data_dir . '/pg_bac';
	my @snaps = map {
		$node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot('{fz}', compression => '$_')")
	} ('none', 'zstd', 'lz4');
	my $pristine = PostgreSQL::Test::Utils::tempdir();
	system('cp', '-a', "$archive/$_", "$pristine/$_") == 0 or die for @snaps;
	# the snapshots are written by the normal server; the parsers read
	# them under valgrind
	if ($valgrind)
	{
		$node->stop;
		(my $supp = __FILE__) =~ s{[^/]*$}{valgrind.supp};
		$vgdir = valgrind_start($node, $supp);
	}

	my (%by_kind, %backends);
	my %t = (errors => 0, ok => 0);
	my $pid0 = $node->safe_psql($db, 'SELECT pg_postmaster_start_time()');
	for my $n (1 .. $inputs)
	{
		my $id = $snaps[ $n % 3 ];
		my $dir = "$archive/$id";
		my @files = bac_files_of($dir);
		my $f = $files[ int(rand(@files)) ];
		my $kind = $f eq 'manifest.json' ? 'manifest'
		  : $f =~ m{/data/} ? 'data ' . ($f =~ /\.(zst|lz4)$/ ? $1 : 'plain') : 'script';
		$by_kind{$kind}++;
		my $m = slurp("$dir/manifest.json");
		if ($f eq 'manifest.json')
		{
			my $pos = rindex($m, "\n\"manifest_checksum\": \"");
			my $body = mutate(substr($m, 0, $pos + 1));
			$body .= "\n" unless $body =~ /\n$/;
			spew("$dir/manifest.json", manifest_reseal($body . "\"manifest_checksum\": \"0\"}\n"));
		}
		else
		{
			my $d = mutate(slurp("$dir/$f"));
			spew("$dir/$f", $d);
			my ($len, $sha) = (length($d), sha256_hex($d));
			$m =~ s/("file":\s*"\Q$f\E",\s*"bytes":\s*)\d+(,\s*"sha256":\s*")[0-9a-f]{64}/$1$len$2$sha/;
			spew("$dir/manifest.json", manifest_reseal($m));
		}
		my @sql = ("SELECT count(*) FROM bac.restore('$id', 'fz', into_schema => 'fz_copy')",
			"SELECT count(*) FROM bac.verify_snapshot('$id')",
			"SELECT count(*) FROM bac.export('$id', 'fz')");
		my ($pid, @outcomes) = fuzz_session($node, $db, $timeout,
			'DROP SCHEMA IF EXISTS fz_copy CASCADE;', @sql);
		$backends{$pid} = 1 if defined $pid;
		fuzz_tally(\%t, "input $n ($f)", \@sql, @outcomes);
		system('rm', '-rf', $dir) == 0 or die;
		system('cp', '-a', "$pristine/$id", $dir) == 0 or die;
	}
	fuzz_survived($node, $db, $pid0, $valgrind ? 'under valgrind' : 'normal server');
	$node->stop;
	my $vgcount = '';
	if ($valgrind)
	{
		(my $src = __FILE__) =~ s{test/stress/[^/]*$}{src};
		is(scalar(keys %backends), $inputs, 'each input was served by a backend of its own');
		$vgcount = fuzz_valgrind_check($vgdir, $src eq '' ? 'src' : $src, \%backends);
	}
	diag('counts: ' . ($valgrind ? 'fuzz under valgrind' : 'fuzz') . ": $inputs mutated inputs (" . join(', ', map { "$_ $by_kind{$_}" } sort keys %by_kind)
		  . "), $t{errors} clean errors, $t{ok} calls succeeded, 0 crashes or hangs$vgcount");
}

fuzz_round(0, $inputs) if $inputs > 0;
fuzz_round(1, $vg_inputs) if $vg_inputs > 0;
done_testing();
1;
