# test/t/002_settings.pl: the bac.* settings a newcomer can see
#
# With shared_preload_libraries = 'pg_bac' every session sees the settings
# and their descriptions in pg_settings from its start, in any database,
# before CREATE EXTENSION; the "bac" prefix is reserved.  Without
# preloading, a session sees them only once the library is loaded.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# ---- without preloading: unknown until the library is loaded
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
my ($ret, $out, $err) = $plain->psql('postgres', 'SHOW bac.archive_directory');
isnt($ret, 0, 'not preloaded: SHOW bac.archive_directory fails in a fresh session');
like($err, qr/unrecognized configuration parameter "bac.archive_directory"/,
	'as an unknown parameter');
is( $plain->safe_psql(
		'postgres',
		"LOAD 'pg_bac'; SELECT count(*) FROM pg_settings WHERE name = 'bac.archive_directory'"),
	'1', 'not preloaded: visible once the session loaded the library');
$plain->stop;

# ---- preloaded
my $node = PostgreSQL::Test::Cluster->new('preloaded');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_bac'");
$node->start;

is($node->safe_psql('postgres', 'SHOW bac.archive_directory'),
	'pg_bac', 'preloaded: SHOW works in a fresh session, no extension created');

my $rows = $node->safe_psql(
	'postgres', q{
	SELECT name, setting, context, vartype, source,
	       short_desc <> '' AND extra_desc <> ''
	FROM pg_settings WHERE name LIKE 'bac.%' ORDER BY name});
like($rows, qr/^bac\.archive_directory\|pg_bac\|sighup\|string\|default\|t$/m,
	'pg_settings lists bac.archive_directory with its default, context and descriptions');
my @names = map { (split /\|/)[0] } split /\n/, $rows;
my $undescribed = $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_settings WHERE name LIKE 'bac.%' AND (short_desc IS NULL OR short_desc = '')});
is($undescribed, '0', 'every bac.* setting has a description (' . join(' ', @names) . ')');

# the same in another database, where pg_bac was never created
$node->safe_psql('postgres', 'CREATE DATABASE other');
is( $node->safe_psql(
		'other', q{SELECT count(*) FROM pg_settings WHERE name = 'bac.archive_directory'}),
	'1', 'preloaded: visible in a database without the extension');

# a reload changes it for every session
$node->append_conf('postgresql.conf', "bac.archive_directory = 'elsewhere'");
$node->reload;
ok( $node->poll_query_until(
		'postgres', q{SELECT setting = 'elsewhere' FROM pg_settings WHERE name = 'bac.archive_directory'}),
	'reload changes bac.archive_directory, seen in pg_settings');

# the prefix is reserved: a typo is an error, not a silent placeholder
($ret, $out, $err) = $node->psql('postgres', 'SET bac.archive_dir = 1');
isnt($ret, 0, 'a misspelt bac.* setting is refused');
like($err, qr/reserved prefix/, 'because "bac" is a reserved prefix');

# only superusers see a setting that names a server path
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
($ret, $out, $err) =
  $node->psql('postgres', 'SHOW bac.archive_directory', extra_params => [ '-U', 'plain' ]);
isnt($ret, 0, 'preloaded: a plain role cannot read bac.archive_directory');

$node->stop;
done_testing();
