# test/stress/fuzz_changes.pl (make stress; test/t/068 runs a few): mutated
# change segments and segment indexes give a clean error, never a crash, a
# hang or a memory error.
#
# A service with a workload of inserts, updates, deletes, TOASTed values,
# a TRUNCATE and an ALTER TABLE (a DDL barrier, before the base snapshot:
# replay refuses to cross one) is archived into several
# small segments (bac.change_segment_size = 64kB), each with its index.
# BAC_FUZZ_CHANGES_INPUTS (default 2000) inputs then mutate one file of the
# change archive (the archive is put back after each):
#
#   record   one record's payload mutated, its length and CRC-32C resealed,
#            so the mutation reaches the record decoder and replay;
#   header   a segment's header mutated and its CRC resealed;
#   index    a segment index mutated and its CRC resealed;
#   raw      bytes of a segment mutated without resealing (frames, CRCs);
#   missing  a segment or an index removed.
#
# Then bac.pitr_transactions(), bac.restore to the archive's end (under
# another name), bac.pitr_status and bac.pitr_prune() run in one session
# per input, with statement_timeout = 90 s (600 s under valgrind).  The
# window is ended first (bac.disable_pitr), so no restore waits for an
# archiver; one whose mutated progress record reopens it waits 60 s at most.  Each must succeed or fail with an ERROR; a crash or a
# statement timeout fails the test.
#
# BAC_FUZZ_CHANGES_VALGRIND_INPUTS (default 0; make stress: 100) more inputs
# go to the same cluster restarted under valgrind memcheck, as in
# test/stress/fuzz.pl: an error report with a frame in src/*.c fails.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacSnapshotTest;
use BacGuarantee;
use BacPitrTest;

my $inputs = $ENV{BAC_FUZZ_CHANGES_INPUTS} // 2000;
my $vg_inputs = $ENV{BAC_FUZZ_CHANGES_VALGRIND_INPUTS} // 0;
srand($ENV{BAC_SEED} // 1515);

my @special = ("\x00", "\xff", "\x7f\xff\xff\xff", "\xff\xff\xff\xff",
	"\x00\x00\x00\x00", 'n', 'u', 't', 'B', 'C', 'R', 'I', 'U', 'D', 'T', 'M', 'P', 'W', 'E');

# the CRC-32C (Castagnoli) of PostgreSQL's pg_crc32c
my @crc_table = map {
	my $c = $_;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$c
} 0 .. 255;

sub crc32c
{
	my $c = 0xFFFFFFFF;
	$c = $crc_table[ ($c ^ $_) & 0xFF ] ^ ($c >> 8) for unpack('C*', $_[0]);
	return $c ^ 0xFFFFFFFF;
}

sub mutate
{
	my ($d) = @_;
	my $len = length($d);
	my $how = int(rand(6));
	my $pos = $len ? int(rand($len)) : 0;
	if ($how == 0)
	{
		for (1 .. 1 + int(rand(4)))
		{
			substr($d, int(rand($len)), 1) = chr(int(rand(256))) if $len;
		}
	}
	elsif ($how == 1) { substr($d, $pos, 0) = $special[ int(rand(@special)) ]; }
	elsif ($how == 2) { substr($d, $pos, 1 + int(rand(16))) = ''; }
	elsif ($how == 3) { substr($d, $pos, 0) = substr($d, int(rand($len || 1)), int(rand(64))); }
	elsif ($how == 4) { $d = substr($d, 0, $pos); }
	else { substr($d, $pos, 4) = $special[ int(rand(5)) ]; }
	return $d;
}

# A segment's header length (its CRC follows) and its records' frames
# ([offset, payload length]).
sub segment_frames
{
	my ($d) = @_;
	my $off = 8 + 4 + 4 + 8 + 4;
	$off += 4 + unpack('N', substr($d, $off, 4)) + 8;
	my $header = $off;
	my @frames;
	$off += 4;
	while ($off + 8 <= length($d))
	{
		my $len = unpack('N', substr($d, $off, 4));
		last if $off + 4 + $len + 4 > length($d);
		push @frames, [ $off, $len ];
		$off += 4 + $len + 4;
	}
	return ($header, \@frames);
}

sub frame
{
	my ($payload) = @_;
	return pack('N', length($payload)) . $payload . pack('N', crc32c($payload));
}

# Mutate one file of the archive in $dir; returns what was done.
sub mutate_archive
{
	my ($dir) = @_;
	opendir(my $dh, $dir) or die "opendir $dir: $!";
	my @segs = sort grep { /\.changes$/ } readdir($dh);
	closedir $dh;
	my @idx = grep { -f "$dir/$_" } map { (my $i = $_) =~ s/\.changes$/.index/; $i } @segs;
	my $r = rand();
	my $kind = $r < 0.55 ? 'record' : $r < 0.62 ? 'header' : $r < 0.80 ? 'index'
	  : $r < 0.95 ? 'raw' : 'missing';
	$kind = 'record' if $kind eq 'index' && !@idx;
	my $f = $kind eq 'index' ? $idx[ int(rand(@idx)) ] : $segs[ int(rand(@segs)) ];
	my $d = slurp("$dir/$f");
	if ($kind eq 'record')
	{
		my (undef, $frames) = segment_frames($d);
		my ($off, $len) = @{ $frames->[ int(rand(@$frames)) ] };
		substr($d, $off, 4 + $len + 4) = frame(mutate(substr($d, $off + 4, $len)));
	}
	elsif ($kind eq 'header')
	{
		my ($header) = segment_frames($d);
		my $h = mutate(substr($d, 0, $header));
		substr($d, 0, $header + 4) = $h . pack('N', crc32c($h));
	}
	elsif ($kind eq 'index')
	{
		my $body = mutate(substr($d, 0, length($d) - 4));
		$d = $body . pack('N', crc32c($body));
	}
	elsif ($kind eq 'raw')
	{
		$d = mutate($d);
	}
	if ($kind eq 'missing')
	{
		$f = @idx && rand() < 0.5 ? $idx[ int(rand(@idx)) ] : $f;
		unlink("$dir/$f") or die "unlink $dir/$f: $!";
	}
	else
	{
		spew("$dir/$f", $d);
	}
	return ($kind, $f);
}

my $node = pitr_node('fuzz_changes', preload => 0, conf => "bac.change_segment_size = '64kB'\n");
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE SCHEMA fz;
CREATE TYPE fz.mood AS ENUM ('ok', 'sad');
CREATE TABLE fz.t (id int PRIMARY KEY, s text, n numeric, b bytea, j jsonb, m fz.mood, a int[]);
CREATE TABLE fz.big (id int PRIMARY KEY, note text, body text);
CREATE TABLE fz.log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz, what text);
});
bac_register($node, $db, 'fz');
$node->safe_psql($db, 'SELECT bac.enable_pitr()');
for my $round (1 .. 8)
{
	my $from = $round * 1000;
	$node->safe_psql($db, qq{
INSERT INTO fz.t SELECT g, E'line\\n' || g || E'\\ttab\\\\', g / 7.0, decode(md5(g::text), 'hex'),
	jsonb_build_object('g', g, 'r', $round), 'ok', ARRAY[g, g + 1]
	FROM generate_series($from, $from + 149) g;
UPDATE fz.t SET m = 'sad', n = n * 3 WHERE id % 5 = $round % 5;
DELETE FROM fz.t WHERE id % 11 = $round;
INSERT INTO fz.big SELECT g, 'n' || g, repeat(md5(g::text), 300) FROM generate_series($from, $from + 4) g;
UPDATE fz.big SET note = note || '+' WHERE id % 3 = 0;
INSERT INTO fz.log (at, what) SELECT now(), 'round $round' FROM generate_series(1, 50);
});
	# a DDL barrier, then the base (replay refuses to cross a barrier)
	$node->safe_psql($db, 'ALTER TABLE fz.t ADD COLUMN extra text') if $round == 2;
	$node->safe_psql($db, "UPDATE fz.t SET extra = 'x' || id WHERE id % 4 = 0") if $round >= 2;
	$node->safe_psql($db, q{SELECT bac.snapshot('{fz}')}) if $round == 2;
	$node->safe_psql($db, 'TRUNCATE fz.log') if $round == 6;
	$node->safe_psql($db, 'SELECT bac.pitr_pump()');
}
# the window ends here, so a restore never waits for an archiver (a
# mutated progress record could make the archive look behind its target)
$node->safe_psql($db, 'SELECT bac.disable_pitr()');
my $target = $node->safe_psql($db, 'SELECT archived_lsn FROM bac.pitr_status');
my $changes = $node->data_dir . '/pg_bac/changes/'
  . $node->safe_psql($db, q{SELECT oid FROM pg_database WHERE datname = current_database()});
my @segs = grep { /\.changes$/ } slurp_dir($changes);
cmp_ok(scalar(@segs), '>=', 4, 'the workload fills several segments (' . scalar(@segs) . ')');
is(scalar(grep { /\.index$/ } slurp_dir($changes)), scalar(@segs) - 1,
	'every closed segment has an index');
{
	my $d = slurp("$changes/$segs[0]");
	my ($header, $frames) = segment_frames($d);
	is(unpack('N', substr($d, $header, 4)), crc32c(substr($d, 0, $header)),
		'this test computes the header CRC as pg_bac writes it');
	my ($off, $len) = @{ $frames->[0] };
	is(unpack('N', substr($d, $off + 4 + $len, 4)), crc32c(substr($d, $off + 4, $len)),
		'and a record CRC');
}
my $hash = q{SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM %s.t x};
my $want = $node->safe_psql($db, sprintf($hash, 'fz'));
my @sql = ("SELECT count(*) FROM bac.pitr_transactions()",
	"SELECT count(*) FROM bac.restore('fz', target_lsn => '$target', into_schema => 'fz_copy')",
	"SELECT count(*) FROM bac.pitr_status",
	"SELECT removed FROM bac.pitr_prune()");
$node->safe_psql($db, $sql[1]);
is($node->safe_psql($db, sprintf($hash, 'fz_copy')), $want,
	'unmutated, the restore to the archive\'s end equals the service');
$node->safe_psql($db, 'DROP SCHEMA fz_copy CASCADE');
my $pristine = PostgreSQL::Test::Utils::tempdir();
system('cp', '-a', $changes, "$pristine/changes") == 0 or die;

# the files of a directory
sub slurp_dir
{
	opendir(my $dh, $_[0]) or die "opendir $_[0]: $!";
	my @f = sort grep { !/^\./ } readdir($dh);
	closedir $dh;
	return @f;
}

sub fuzz_round
{
	my ($valgrind, $n_inputs) = @_;
	my $timeout = $valgrind ? '600s' : '90s';
	my $vgdir;
	if ($valgrind)
	{
		$node->stop;
		(my $supp = __FILE__) =~ s{[^/]*$}{valgrind.supp};
		$vgdir = valgrind_start($node, $supp);
	}
	my (%by_kind, %backends);
	my %t = (errors => 0, ok => 0);
	my $start = $node->safe_psql($db, 'SELECT pg_postmaster_start_time()');
	for my $n (1 .. $n_inputs)
	{
		my ($kind, $f) = mutate_archive($changes);
		$by_kind{$kind}++;
		my ($pid, @outcomes) = fuzz_session($node, $db, $timeout,
			'DROP SCHEMA IF EXISTS fz_copy CASCADE;', @sql);
		$backends{$pid} = 1 if defined $pid;
		fuzz_tally(\%t, "input $n ($kind $f)", \@sql, @outcomes);
		system('rm', '-rf', $changes) == 0 or die;
		system('cp', '-a', "$pristine/changes", $changes) == 0 or die;
	}
	fuzz_survived($node, $db, $start, $valgrind ? 'under valgrind' : 'normal server');
	# what the errors said, to see which checks caught the mutations
	my $m = $t{messages} // {};
	diag(sprintf('%5d  %s', $m->{$_}, $_))
	  for (sort { $m->{$b} <=> $m->{$a} } keys %$m)[0 .. (keys(%$m) > 15 ? 14 : keys(%$m) - 1)];
	my $vgcount = '';
	if ($valgrind)
	{
		$node->stop;
		(my $src = __FILE__) =~ s{test/stress/[^/]*$}{src};
		$vgcount = fuzz_valgrind_check($vgdir, $src eq '' ? 'src' : $src, \%backends);
	}
	diag('counts: ' . ($valgrind ? 'change archive fuzz under valgrind' : 'change archive fuzz')
		  . ": $n_inputs mutated inputs (" . join(', ', map { "$_ $by_kind{$_}" } sort keys %by_kind)
		  . "), $t{errors} clean errors, $t{ok} calls succeeded, 0 crashes or hangs$vgcount");
}

fuzz_round(0, $inputs) if $inputs > 0;
fuzz_round(1, $vg_inputs) if $vg_inputs > 0;
$node->stop if $vg_inputs == 0;
done_testing();
1;
