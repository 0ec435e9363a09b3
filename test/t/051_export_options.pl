# test/t/051_export_options.pl: bac.export's schema_only, data_only,
# no_owner and no_privileges mean pg_dump's -s, -a, -O and -x.
#
# The object zoo (test/fixtures/zoo.sql) is snapshotted; each option's
# export is loaded with psql into an empty database (data_only into one
# that the schema_only export made first), and pg_dump of that database
# run with the same option equals pg_dump of the source at snapshot time
# run with that option.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__) . '/../perl';
use BacDdlRoundTrip;
use BacSnapshotTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $zoo = 'test/fixtures/zoo.sql';
plan skip_all => "$zoo (the object zoo of the DDL capture) is not in this tree"
  unless -f $zoo;

my $node = bac_node('export_options');
$node->safe_psql('postgres', q{
CREATE ROLE zoo_owner;
CREATE ROLE zoo_reader;
CREATE ROLE "Zoo Writer";
});
$node->safe_psql('postgres', 'CREATE DATABASE src');
my ($ret, $out, $err) = $node->psql('src', undef,
	extra_params => [ '-f', $zoo ], on_error_stop => 1);
is($ret, 0, 'the object zoo loads') or diag($err);
$node->safe_psql('src', q{
CREATE EXTENSION pg_bac;
SELECT bac.register_service('zoo');
});
my $snap = $node->safe_psql('src',
	q{SET client_min_messages = warning; SELECT snapshot_id FROM bac.snapshot('{zoo}')});
like($snap, qr/^\d{8}T/, 'snapshot of the zoo');

# dump DB OPTIONS...: pg_dump of schema zoo, the random \restrict lines out
sub dump_zoo
{
	my ($db, @opts) = @_;
	my ($stdout, $stderr) = run_command(
		[ 'pg_dump', '--no-sync', @opts, '--schema=zoo', '-d', $node->connstr($db) ]);
	die "pg_dump failed: $stderr" if $stderr =~ /error/i;
	return join('', grep { !/^\\(un)?restrict / } split(/^/m, $stdout));
}

# the source at snapshot time, with each option
my %want;
for my $o ([], ['-O'], ['-x'], ['-O', '-x'])
{
	for my $section ('--schema-only', '--data-only')
	{
		$want{ join(' ', $section, @$o) } = dump_zoo('src', $section, @$o);
	}
}

# the source changes after the snapshot: no export may see it
$node->safe_psql('src', q{
DELETE FROM zoo.customer;
ALTER TABLE zoo.customer ADD COLUMN later int;
ALTER TABLE zoo.customer OWNER TO "Zoo Writer";
GRANT SELECT ON zoo.customer TO PUBLIC;
});

my $dir = PostgreSQL::Test::Utils::tempdir();
my $prereq = 'CREATE FOREIGN DATA WRAPPER zoo_fdw; CREATE SERVER zoo_server FOREIGN DATA WRAPPER zoo_fdw;';

# export NAME ARGS: bac.export(snap, 'zoo', ARGS) into a file
sub export
{
	my ($name, $args) = @_;
	my $file = "$dir/$name.sql";
	my ($o, $e) = run_command([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr('src'), '-c',
		"SELECT * FROM bac.export('$snap', 'zoo'$args)", '-o', $file ]);
	is($e, '', "export$args: no error");
	return $file;
}

# fresh DB: an empty database with the zoo's prerequisites
sub fresh
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, $prereq);
}

# load DB FILE: psql -f, stopping at the first error
sub load
{
	my ($db, $file) = @_;
	my ($o, $e) = run_command([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr($db), '-f', $file ]);
	unlike($e, qr/ERROR/, "$file loads into $db") or diag($e);
}

# ---- schema_only (-s)
my $s_file = export('schema', ', schema_only => true');
fresh('dst_s');
load('dst_s', $s_file);
compare_dumps(dump_zoo('dst_s', '--schema-only'), $want{'--schema-only'},
	'schema_only: pg_dump -s equals pg_dump -s of the source at snapshot time');
is($node->safe_psql('dst_s', 'SELECT count(*) FROM zoo.customer'), '0',
	'schema_only: no rows');
unlike(slurp_file($s_file), qr/^COPY |setval\(/m, 'schema_only: no COPY, no setval');

# ---- data_only (-a), into the schema the schema_only export made
my $a_file = export('data', ', data_only => true');
unlike(slurp_file($a_file), qr/^CREATE |^ALTER /m, 'data_only: no CREATE, no ALTER');
fresh('dst_a');
load('dst_a', $s_file);
load('dst_a', $a_file);
compare_dumps(dump_zoo('dst_a', '--data-only'), $want{'--data-only'},
	'data_only: pg_dump -a equals pg_dump -a of the source at snapshot time');
compare_dumps(dump_zoo('dst_a', '--schema-only'), $want{'--schema-only'},
	'schema_only then data_only: the schema is still the source\'s');

# ---- no_owner (-O): loaded by another role than the owners
# An owner's own privileges go to the role that loads the script (the new
# owner).  Where the owner had revoked some of its own, pg_dump -O of the
# source names the old owner ("REVOKE ALL ON TABLE t FROM zoo_owner"),
# which no restore by another role can reproduce (a pg_dump -O restore
# would not either): there the loading role stands for the old owner.
for my $k ('--schema-only -O', '--schema-only -O -x')
{
	$want{$k} =~ s/^(REVOKE ALL ON .* FROM )zoo_owner;$/$1postgres;/mg;
}
my $o_file = export('no_owner', ', no_owner => true');
unlike(slurp_file($o_file), qr/OWNER TO/, 'no_owner: no OWNER TO');
fresh('dst_o');
load('dst_o', $o_file);
compare_dumps(dump_zoo('dst_o', '--schema-only', '-O'), $want{'--schema-only -O'},
	'no_owner: pg_dump -O -s equals the source\'s');
compare_dumps(dump_zoo('dst_o', '--data-only', '-O'), $want{'--data-only -O'},
	'no_owner: pg_dump -O -a equals the source\'s');
is($node->safe_psql('dst_o',
		q{SELECT count(*) FROM pg_class WHERE relnamespace = 'zoo'::regnamespace AND relowner <> 'postgres'::regrole}),
	'0', 'no_owner: every relation belongs to the role that loaded the script');

# ---- no_privileges (-x)
my $x_file = export('no_privileges', ', no_privileges => true');
unlike(slurp_file($x_file), qr/^\s*(GRANT|REVOKE) |DEFAULT PRIVILEGES/m,
	'no_privileges: no GRANT, REVOKE, default privileges');
fresh('dst_x');
load('dst_x', $x_file);
compare_dumps(dump_zoo('dst_x', '--schema-only', '-x'), $want{'--schema-only -x'},
	'no_privileges: pg_dump -x -s equals the source\'s');
compare_dumps(dump_zoo('dst_x', '--data-only', '-x'), $want{'--data-only -x'},
	'no_privileges: pg_dump -x -a equals the source\'s');
is($node->safe_psql('dst_x',
		q{SELECT count(*) FROM pg_class WHERE relnamespace = 'zoo'::regnamespace AND relacl IS NOT NULL}),
	'0', 'no_privileges: no relation has privileges set');

# ---- no_owner and no_privileges together
my $ox_file = export('no_owner_no_privileges', ', no_owner => true, no_privileges => true');
fresh('dst_ox');
load('dst_ox', $ox_file);
compare_dumps(dump_zoo('dst_ox', '--schema-only', '-O', '-x'), $want{'--schema-only -O -x'},
	'no_owner and no_privileges: pg_dump -O -x -s equals the source\'s');

$node->stop;
done_testing();
