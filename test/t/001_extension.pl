# test/t/001_extension.pl: the extension in a cluster of its own
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION pg_bac');
is($node->safe_psql('postgres', 'SELECT bac.version(); SHOW bac.archive_directory'),
	"0.2\npg_bac", 'archive directory defaults to pg_bac under the data directory');

# the setting names a server path: only superusers see or change it
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
my ($ret, $out, $err) =
  $node->psql('postgres',
	"SELECT bac.version(); SET ROLE plain; SHOW bac.archive_directory");
isnt($ret, 0, 'a plain role cannot read bac.archive_directory');
like($err, qr/permission denied|must be superuser|privileges of pg_read_all_settings/,
	'and is told why');

# the setting is reloadable
$node->append_conf('postgresql.conf', "bac.archive_directory = 'elsewhere'");
$node->reload;
is($node->safe_psql('postgres', "LOAD 'pg_bac'; SHOW bac.archive_directory"),
	'elsewhere', 'reload changes bac.archive_directory');

$node->stop;
done_testing();
