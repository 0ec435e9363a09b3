# test/t/022_ddl_random.pl: randomized fidelity of the DDL capture.
# test/gen_random_schema.pl makes a random schema from each seed; all of a
# batch are loaded into one database, captured with bac.schema_ddl and
# replayed into an empty one (every pre-data, then the data, then every
# post-data); pg_dump of the two must be identical, schema and data.
#
#   BAC_RANDOM_SEEDS=5000 BAC_RANDOM_SEED_START=1 (defaults 300 and 1)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacDdlRoundTrip;

my $nseeds = $ENV{BAC_RANDOM_SEEDS} || 300;
my $first = $ENV{BAC_RANDOM_SEED_START} || 1;
my $batch = 250;

my $node = PostgreSQL::Test::Cluster->new('random');
$node->init;
$node->append_conf('postgresql.conf', "fsync = off\nsynchronous_commit = off");
$node->start;
$node->safe_psql('postgres', 'CREATE ROLE rnd_owner; CREATE ROLE rnd_reader');

# run SQL in $db in one transaction; returns stderr or '' if it went well
sub run_sql
{
	my ($db, $sql) = @_;
	my ($out, $err);
	my $ret = $node->psql($db, $sql, stdout => \$out, stderr => \$err,
		on_error_stop => 1, extra_params => [ '--single-transaction', '-q' ]);
	return $ret == 0 ? '' : ($err || "psql exited with $ret");
}

my $ran = 0;
for (my $from = $first; $from < $first + $nseeds; $from += $batch)
{
	my $to = $from + $batch - 1;
	$to = $first + $nseeds - 1 if $to > $first + $nseeds - 1;
	my ($src, $dst) = ("src_$from", "dst_$from");
	$node->safe_psql('postgres', "CREATE DATABASE $src; CREATE DATABASE $dst");

	my $load = '';
	for my $seed ($from .. $to)
	{
		my ($sql, $err) = run_command([ 'perl', 'test/gen_random_schema.pl', $seed ]);
		die "generator failed for seed $seed: $err" if $err;
		$load .= $sql;
	}
	is(run_sql($src, $load), '', "seeds $from..$to load");
	$node->safe_psql($src, 'CREATE EXTENSION pg_bac');

	# capture every schema in one session: schema, owner, pre, post
	my ($out, $err);
	$node->psql($src,
		"SELECT nspname, nspowner::regrole, bac.schema_ddl(nspname, 'pre-data'),"
		  . " bac.schema_ddl(nspname, 'post-data') FROM pg_namespace"
		  . " WHERE nspname LIKE 'rnd\\_%' ORDER BY nspname",
		stdout => \$out, stderr => \$err, on_error_stop => 1,
		extra_params => [ '-z', '-0' ]);
	is($err, '', "seeds $from..$to are captured without warnings");
	my @f = split /\0/, $out, -1;
	my (@pre, @post);
	while (@f >= 4)
	{
		my ($nsp, $owner, $pre, $post) = splice(@f, 0, 4);
		$nsp =~ s/^\n//;
		my $q = quote_ident($nsp);
		push @pre, "CREATE SCHEMA $q AUTHORIZATION $owner;\nSET search_path = $q;\n$pre\n";
		push @post, "SET search_path = $q;\n$post\n";
	}
	is(scalar(@pre), $to - $from + 1, "one capture per seed");

	is(run_sql($dst, join('', @pre)), '', "pre-data of seeds $from..$to runs");
	my $data = dump_schema($node, $src, '--data-only', 'rnd_*');
	is(run_sql($dst, $data), '', "data of seeds $from..$to loads");
	is(run_sql($dst, join('', @post)), '', "post-data of seeds $from..$to runs");

	my $a = dump_schema($node, $src, '--schema-only', 'rnd_*');
	my $b = dump_schema($node, $dst, '--schema-only', 'rnd_*');
	if ($a eq $b)
	{
		pass("pg_dump --schema-only identical for seeds $from..$to");
	}
	else
	{
		# name the seeds that differ, and show the first differences
		my @bad;
		for my $seed ($from .. $to)
		{
			my $sa = dump_schema($node, $src, '--schema-only', "rnd_$seed");
			my $sb = dump_schema($node, $dst, '--schema-only', "rnd_$seed");
			if ($sa ne $sb)
			{
				push @bad, $seed;
				compare_dumps($sb, $sa, "seed $seed") if @bad <= 3;
			}
		}
		fail("pg_dump --schema-only identical for seeds $from..$to; differing seeds: @bad");
	}
	compare_dumps(dump_schema($node, $dst, '--data-only', 'rnd_*'), $data,
		"pg_dump --data-only identical for seeds $from..$to");
	$ran += $to - $from + 1;
	$node->safe_psql('postgres', "DROP DATABASE $src; DROP DATABASE $dst");
}
note("random seeds round-tripped: $ran (from $first)");
is($ran, $nseeds, "$nseeds random schemas round-tripped");

$node->stop;
done_testing();
