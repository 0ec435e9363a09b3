# test/t/020_ddl_zoo.pl: fidelity of the DDL capture on the object zoo
# (test/fixtures/zoo.sql).  pg_dump is the judge: the schema captured by
# bac.schema_ddl and replayed into an empty database (pre-data, data,
# post-data) must dump byte for byte like the original, data included;
# replayed under another schema name it must dump like the original with
# the schema renamed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacDdlRoundTrip;

my $node = PostgreSQL::Test::Cluster->new('zoo');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE zoo_owner;
	CREATE ROLE zoo_reader;
	CREATE ROLE "Zoo Writer";
	CREATE DATABASE src;
	CREATE DATABASE dst;
	CREATE DATABASE dst2;
});
# the foreign server the zoo's foreign table uses is not part of a schema
$node->safe_psql($_, 'CREATE FOREIGN DATA WRAPPER zoo_fdw; CREATE SERVER zoo_server FOREIGN DATA WRAPPER zoo_fdw')
  for qw(dst dst2);
my ($ret, $out, $err) = $node->psql('src', undef,
	extra_params => [ '-f', 'test/fixtures/zoo.sql' ], on_error_stop => 1);
is($ret, 0, 'the object zoo loads') or diag($err);
$node->safe_psql('src', 'CREATE EXTENSION pg_bac');

# the capture itself: no warning for the zoo, the extensions it needs
($ret, $out, $err) = $node->psql('src', "SELECT bac.schema_ddl('zoo') IS NOT NULL");
is($out, 't', 'the zoo is captured');
like($err, qr/WARNING:  1 object of schema "zoo" cannot be captured/,
	'the foreign data is reported in a warning');
is($node->safe_psql('src',
		"SELECT string_agg(name, ',' ORDER BY ord) FROM bac.schema_ddl_info('zoo') WHERE kind = 'extension'"),
	'btree_gist,citext,plpgsql', 'the extensions the zoo uses are listed');
is($node->safe_psql('src',
		"SELECT string_agg(name, ',' ORDER BY ord) FROM bac.schema_ddl_info('zoo') WHERE kind = 'uncaptured'"),
	'foreign table remote_rates (remote data; the definition is captured)',
	'only the remote data of the foreign table is left uncaptured');
my @tables = split /\n/, $node->safe_psql('src',
	"SELECT name FROM bac.schema_ddl_info('zoo') WHERE kind = 'table'");
is(scalar(@tables), 16, 'sixteen relations hold data (leaf tables only)');
ok(!(grep { /measurement"?$|hashed"?$|order_stats|happy_customer|remote_rates/ } @tables),
	'partitioned parents, views and materialized views are not data tables');

# replay under the same name
my $problem = replay_ddl($node, 'src', 'dst', 'zoo');
is($problem, '', 'the captured zoo replays into an empty database');
compare_dumps(dump_schema($node, 'dst', '--schema-only', 'zoo'),
	dump_schema($node, 'src', '--schema-only', 'zoo'),
	'pg_dump --schema-only of the copy is identical');
compare_dumps(dump_schema($node, 'dst', '--data-only', 'zoo'),
	dump_schema($node, 'src', '--data-only', 'zoo'),
	'pg_dump --data-only of the copy is identical (rows and sequence values)');

# replay under another name: the scripts are relocatable
$problem = replay_ddl($node, 'src', 'dst2', 'zoo', target => 'zoo2');
is($problem, '', 'the captured zoo replays under the name zoo2');
my $expected = dump_schema($node, 'src', '--schema-only', 'zoo');
$expected =~ s/\bzoo\./zoo2./g;
$expected =~ s/(Schema|Name): zoo;/$1: zoo2;/g;
$expected =~ s/SCHEMA zoo\b/SCHEMA zoo2/g;
compare_dumps(dump_schema($node, 'dst2', '--schema-only', 'zoo2'),
	$expected, 'pg_dump of the relocated copy equals the original, renamed');

# the scripts never name the schema itself
my $all = $node->safe_psql('src', "SELECT bac.schema_ddl('zoo')");
unlike($all, qr/\bzoo\./, 'no object is qualified with the schema name');
unlike($all, qr/CREATE SCHEMA/, 'no CREATE SCHEMA');

$node->stop;
done_testing();
