# test/t/010_registry_dump.pl: the registry and the links survive pg_dump of
# the database and a restore into a new database, with pg_restore (custom
# format) and with psql (plain format).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('registry_dump');
$node->init;
$node->start;

# roles are global: the restored databases see the same ones; one of them
# has a name that needs quoting, to exercise regrole's text form
$node->safe_psql('postgres', q{
	CREATE ROLE team_crm;
	CREATE ROLE "Team ""Shop""";
});
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION pg_bac;
	SELECT bac.register_service('customers', 'crm', 'team_crm', 'core');
	SELECT bac.register_service('Shop Orders', 'Shop "Schema"', '"Team ""Shop"""', 'core');
	SELECT bac.register_service('audit');
	CREATE TABLE crm.customer (id int PRIMARY KEY, region text, code text, UNIQUE (region, code));
	INSERT INTO crm.customer SELECT g, 'eu', 'c' || g FROM generate_series(1, 10) g;
	CREATE TABLE "Shop ""Schema""".orders (id int PRIMARY KEY, customer_id int, region text, code text);
	INSERT INTO "Shop ""Schema""".orders VALUES (1, 1, 'eu', 'c1'), (2, 2, 'eu', 'c2'),
		(3, 42, 'eu', 'c42'), (4, NULL, NULL, NULL);
	CREATE TABLE audit.entry (id int PRIMARY KEY, customer_id int REFERENCES crm.customer);
	INSERT INTO audit.entry VALUES (1, 3);
	SELECT bac.add_link('order customer', '"Shop ""Schema""".orders', '{customer_id}',
						'crm.customer', '{id}', true);
	SELECT bac.add_link('order_region_code', '"Shop ""Schema""".orders', '{region,code}',
						'crm.customer', '{region,code}');
});

# what must survive, read the same way in every database
my $probe = q{
	SELECT 'service', service, schema_name, owner, service_group, registered_at::text
	  FROM bac.service ORDER BY service;
	SELECT 'link', link, from_schema, from_table, from_columns, to_schema, to_table,
		   to_columns, orphans_matter, created_at::text
	  FROM bac.link ORDER BY link;
	SELECT 'services', service, schema_name, owner, service_group, tables FROM bac.services ORDER BY service;
	SELECT 'links', link, from_table, from_columns, to_table, to_columns, orphans_matter,
		   declared, from_service, to_service FROM bac.links ORDER BY link;
	SELECT 'check', * FROM bac.check_links() ORDER BY link;
	SELECT 'schema', nspname, nspowner::regrole,
		   has_schema_privilege('public', oid, 'USAGE')
	  FROM pg_namespace WHERE nspname IN ('crm', 'Shop "Schema"', 'audit') ORDER BY nspname;
};
my $before = $node->safe_psql('src', $probe);
like($before, qr/^service\|Shop Orders\|Shop "Schema"\|"Team ""Shop"""\|core\|/m,
	'source registry holds the quoted names and owner');
like($before, qr/^check\|order customer\|Shop Orders\|customers\|1\|8\|broken: 42; orphaned: 3, 4, 5, 6, 7$/m,
	'source check_links counts');
like($before, qr/^links\|entry_customer_id_fkey\|audit\.entry\|\{customer_id\}\|crm\.customer\|\{id\}\|f\|f\|audit\|customers$/m,
	'source has a discovered foreign key');
is((split /\n/, $before) + 0, 17, 'probe returns every row (3+2+3+3+3+3)');

my $tmp = PostgreSQL::Test::Utils::tempdir;

# custom format, pg_restore into a new database
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$tmp/src.dump", '-d', $node->connstr('src') ],
	'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE restored_custom');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored_custom'), "$tmp/src.dump" ],
	'pg_restore into a new database');
is($node->safe_psql('restored_custom', $probe), $before,
	'registry, links, owners, privileges and check_links intact after pg_restore');

# plain format, loaded with psql
$node->command_ok([ 'pg_dump', '-Fp', '-f', "$tmp/src.sql", '-d', $node->connstr('src') ],
	'pg_dump -Fp');
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$tmp/src.sql", '-d', $node->connstr('restored_plain') ],
	'psql loads the plain dump');
is($node->safe_psql('restored_plain', $probe), $before,
	'registry, links, owners, privileges and check_links intact after a plain dump');

# the restored registry is live: the functions work on it
$node->safe_psql('restored_custom', q{
	SELECT bac.drop_link('order customer');
	SELECT bac.unregister_service('audit');
	SELECT bac.register_service('audit2', 'audit');
});
is($node->safe_psql('restored_custom',
	"SELECT string_agg(service || ':' || schema_name, ',' ORDER BY service) FROM bac.services"),
	'Shop Orders:Shop "Schema",audit2:audit,customers:crm',
	'register and unregister work on the restored registry');

# a schema-only dump keeps the (empty) tables but not the rows
$node->command_ok([ 'pg_dump', '-Fp', '--schema-only', '-f', "$tmp/schema.sql", '-d', $node->connstr('src') ],
	'pg_dump --schema-only');
unlike(slurp_file("$tmp/schema.sql"), qr/COPY bac\.service/, 'no registry rows in a schema-only dump');
like(slurp_file("$tmp/src.sql"), qr/COPY bac\.service /, 'registry rows in a full dump');

$node->stop;
done_testing();
