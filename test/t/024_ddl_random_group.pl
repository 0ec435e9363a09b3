# test/t/024_ddl_random_group.pl: randomized fidelity of the group DDL
# capture.  test/gen_random_group.pl makes, from each seed, 2 to 4 schemas
# whose types, tables, overloaded functions and operators, aggregates,
# views, foreign keys and triggers cross in both directions, with
# extensions installed in some of them.  A batch of seeds is loaded into one
# database and captured as one group with bac.group_ddl, replayed into an
# empty database (pre-data, the data, post-data); pg_dump --schema-only and
# --data-only of the two databases must be identical.  Each schema is also
# replayed alone beside itself under another name (schema_ddl, relocated),
# which must run.  Then every schema is registered as a service of one
# group and snapshotted; restore_group into an empty database,
# export_group loaded with psql into another, and restore_group in place
# (extensions installed in a service's schema move with it) must each give
# the same pg_dump as the source.
#
#   BAC_RANDOM_GROUP_SEEDS=1000 BAC_RANDOM_GROUP_SEED_START=1 (defaults 100 and 1)
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__) . '/../perl';
use BacDdlRoundTrip;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $nseeds = $ENV{BAC_RANDOM_GROUP_SEEDS} || 100;
my $first = $ENV{BAC_RANDOM_GROUP_SEED_START} || 1;
my $batch = 25;
# a database holds an extension once: each goes to one seed of a batch
my @extensions = qw(citext hstore ltree pgcrypto seg isn);

my $node = PostgreSQL::Test::Cluster->new('random_group');
$node->init;
$node->append_conf('postgresql.conf',
	"fsync = off\nsynchronous_commit = off\nmax_locks_per_transaction = 1024");
$node->start;

my $tmp = PostgreSQL::Test::Utils::tempdir();

# run SQL in $db (through a file, in one transaction unless told);
# returns stderr or '' if it went well
sub run_sql
{
	my ($db, $sql, @opts) = @_;
	my ($out, $err);
	open(my $fh, '>', "$tmp/script.sql") or die "cannot write: $!";
	print $fh $sql;
	close $fh;
	@opts = ('--single-transaction') unless @opts;
	my $ret = $node->psql($db, undef, stdout => \$out, stderr => \$err,
		on_error_stop => 1,
		extra_params => [ '-q', @opts, '-f', "$tmp/script.sql" ]);
	return $ret == 0 ? '' : ($err || "psql exited with $ret");
}

# pg_dump of the whole database but pg_bac's own schema
sub dump_db
{
	my ($db, $mode) = @_;
	my ($stdout, $stderr) = run_command(
		[
			'pg_dump', $mode, '--no-sync', '--exclude-schema=bac',
			'-d', $node->connstr($db)
		]);
	die "pg_dump failed: $stderr" if $stderr =~ /error/i;
	return join('', grep { !/^\\(un)?restrict / } split(/^/m, $stdout));
}

# a data-only dump with its per-table sections sorted: foreign keys that
# cross in both directions form cycles, and pg_dump breaks a cycle by
# object OIDs, which a replay in another order does not reproduce
sub sorted_sections
{
	my ($dump) = @_;
	my $trailer = $dump =~ s/(^--\n-- PostgreSQL database dump complete\n.*)\z//ms ? $1 : '';
	my ($head, @parts) = split /(?=^--\n-- Data for Name: )/m, $dump;
	return join('', $head, sort(@parts), $trailer);
}

my $ran = 0;
for (my $from = $first; $from < $first + $nseeds; $from += $batch)
{
	my $to = $from + $batch - 1;
	$to = $first + $nseeds - 1 if $to > $first + $nseeds - 1;
	my ($src, $dst) = ("src_$from", "dst_$from");
	$node->safe_psql('postgres', "CREATE DATABASE $src; CREATE DATABASE $dst");

	my %ext_of;
	for my $i (0 .. $#extensions)
	{
		my $seed = $from + (($i * 7 + $from) % ($to - $from + 1));
		push @{ $ext_of{$seed} }, $extensions[$i];
	}
	my $load = '';
	for my $seed ($from .. $to)
	{
		my ($sql, $err) = run_command(
			[ 'perl', 'test/gen_random_group.pl', $seed, @{ $ext_of{$seed} // [] } ]);
		die "generator failed for seed $seed: $err" if $err;
		$load .= $sql;
	}
	is(run_sql($src, $load), '', "seeds $from..$to load");
	$node->safe_psql($src, 'CREATE EXTENSION pg_bac');
	$node->safe_psql($dst, 'CREATE EXTENSION pg_bac');

	my @schemas = split /\n/, $node->safe_psql($src,
		"SELECT nspname FROM pg_namespace WHERE nspname ~ '^g[0-9]+_[0-9]+\$' ORDER BY nspname");
	my $arr = 'ARRAY[' . join(', ', map { "'$_'" } @schemas) . ']::name[]';

	# the whole batch as one group
	my ($pre, $post, $err);
	$node->psql($src, "SELECT bac.group_ddl($arr, 'pre-data')",
		stdout => \$pre, stderr => \$err, on_error_stop => 1);
	is($err, '', "seeds $from..$to are captured without warnings");
	$post = $node->safe_psql($src, "SELECT bac.group_ddl($arr, 'post-data')");
	is(run_sql($dst, join('', map { "CREATE SCHEMA $_;\n" } @schemas)), '',
		'the schemas are created');
	is(run_sql($dst, $pre), '', "pre-data of seeds $from..$to runs in one order");
	my $data = dump_db($src, '--data-only');
	is(run_sql($dst, $data), '', "data of seeds $from..$to loads");
	is(run_sql($dst, $post), '', "post-data of seeds $from..$to runs in one order");
	compare_dumps(dump_db($dst, '--schema-only'), dump_db($src, '--schema-only'),
		"pg_dump --schema-only identical for seeds $from..$to");
	compare_dumps(sorted_sections(dump_db($dst, '--data-only')), sorted_sections($data),
		"pg_dump --data-only identical for seeds $from..$to (per-table sections sorted)");

	# each schema alone, relocated beside itself
	my @bad;
	for my $s (@schemas)
	{
		my $copy = "${s}_copy";
		my $ddl = $node->safe_psql($src, "SELECT bac.schema_ddl('$s')");
		my $e = run_sql($src,
			"CREATE SCHEMA $copy;\nSET search_path = $copy;\n$ddl\nROLLBACK;\n");
		push @bad, "$s: $e" if $e;
	}
	is(join("\n", @bad), '', "each schema of seeds $from..$to replays alone under another name");

	# the same judged through a snapshot of the group
	my $schema_src = dump_db($src, '--schema-only');
	my $data_src = sorted_sections($data);
	$node->safe_psql($src, join('', map {
		"SELECT bac.register_service('$_', service_group => 'batch');\n" } @schemas));
	my $snap = $node->safe_psql($src, 'SELECT snapshot_id FROM bac.snapshot()');
	my ($emp, $exp) = ("empty_$from", "exported_$from");
	$node->safe_psql('postgres', "CREATE DATABASE $emp; CREATE DATABASE $exp");
	$node->safe_psql($emp, 'CREATE EXTENSION pg_bac');
	is(run_sql($emp, "SET client_min_messages = warning;\n"
		  . "SELECT count(*) FROM bac.restore_group('$snap');\n"), '',
		"seeds $from..$to: restore_group into an empty database");
	compare_dumps(dump_db($emp, '--schema-only'), $schema_src,
		"seeds $from..$to: restore_group into an empty database: pg_dump --schema-only identical");
	compare_dumps(sorted_sections(dump_db($emp, '--data-only')), $data_src,
		"seeds $from..$to: restore_group into an empty database: pg_dump --data-only identical");
	my ($script, $xerr);
	$node->psql($src, "SELECT bac.export_group('$snap')",
		stdout => \$script, stderr => \$xerr, on_error_stop => 1,
		extra_params => [ '-XAt' ]);
	is($xerr, '', "seeds $from..$to: export_group");
	$node->safe_psql($exp, 'CREATE EXTENSION pg_bac');
	is(run_sql($exp, "$script\n", '-q'), '', "seeds $from..$to: the exported script loads");
	compare_dumps(dump_db($exp, '--schema-only'), $schema_src,
		"seeds $from..$to: exported: pg_dump --schema-only identical");
	compare_dumps(sorted_sections(dump_db($exp, '--data-only')), $data_src,
		"seeds $from..$to: exported: pg_dump --data-only identical");
	is(run_sql($src, "SET client_min_messages = warning;\n"
		  . "SELECT count(*) FROM bac.restore_group('$snap', keep_previous => false);\n"), '',
		"seeds $from..$to: restore_group in place");
	compare_dumps(dump_db($src, '--schema-only'), $schema_src,
		"seeds $from..$to: in place: pg_dump --schema-only identical");
	compare_dumps(sorted_sections(dump_db($src, '--data-only')), $data_src,
		"seeds $from..$to: in place: pg_dump --data-only identical");

	$ran += $to - $from + 1;
	$node->safe_psql('postgres',
		"DROP DATABASE $src; DROP DATABASE $dst; DROP DATABASE $emp; DROP DATABASE $exp");
}
note("random groups round-tripped: $ran (from $first)");
is($ran, $nseeds, "$nseeds random groups round-tripped");

$node->stop;
done_testing();
