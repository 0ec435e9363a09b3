# test/t/025_restore_extensions.pl: extensions installed inside a service's
# schema (CREATE EXTENSION run with the service's schema first in
# search_path), the foreign-data wrapper and server of a foreign table, and
# the refusals around them.
#
#   - in place: a relocatable extension (citext; file_fdw, whose wrapper is
#     a database-level object built on the extension's functions) moves
#     into the restored schema; pg_dump of the database is identical
#     afterwards, and the schema kept aside still works;
#   - into another database: the extensions, the foreign server and its
#     wrapper are created; pg_dump identical; a missing user mapping named;
#   - a non-relocatable extension (postgis) in a service's schema: the
#     in-place restore is refused, naming it and the ways out, nothing
#     changed; into_schema works;
#   - a single service whose schema other schemas depend on: refused with
#     the list.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__) . '/../perl';
use BacDdlRoundTrip;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Digest::SHA;

my $node = PostgreSQL::Test::Cluster->new('restore_extensions');
$node->init;
$node->start;

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

$node->safe_psql('postgres', 'CREATE DATABASE src; CREATE DATABASE dst');
$node->safe_psql('src', q{
CREATE EXTENSION pg_bac;
CREATE SCHEMA shop;
SET search_path = shop;
CREATE EXTENSION citext;
CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE USER MAPPING FOR CURRENT_USER SERVER files;
CREATE TABLE customer (id int PRIMARY KEY, email citext UNIQUE);
CREATE FOREIGN TABLE feed (line text) SERVER files OPTIONS (filename '/dev/null');
CREATE VIEW customer_mail AS SELECT id, lower(email) AS mail FROM customer;
INSERT INTO customer VALUES (1, 'A@Example.org'), (2, 'b@example.org');
RESET search_path;
CREATE SCHEMA billing;
CREATE TABLE billing.invoice (id int PRIMARY KEY,
	customer_id int REFERENCES shop.customer, mail shop.citext);
INSERT INTO billing.invoice VALUES (10, 1, 'X@y');
});

my ($ret, $out, $err) = $node->psql('src', q{
SELECT bac.register_service('shop', service_group => 'g');
SELECT bac.register_service('billing', service_group => 'g');});
like($err, qr/schema "shop" holds the objects of extensions: citext [0-9.]+, file_fdw [0-9.]+/,
	'register_service warns about the extension members in the schema');

my $snap = $node->safe_psql('src', 'SELECT snapshot_id FROM bac.snapshot()');
my $schema_at = dump_db('src', '--schema-only');
my $data_at = dump_db('src', '--data-only');
like($schema_at, qr/CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA shop/,
	'the source has citext in the service schema');

# a single service that billing depends on: refused with the list
($ret, $out, $err) = $node->psql('src',
	"SELECT count(*) FROM bac.restore('$snap', 'shop')");
isnt($ret, 0, 'restoring shop alone in place is refused');
like($err, qr/billing/, 'and the objects of the other schema are listed');

# into another database: extensions, wrapper and server created
$node->safe_psql('dst', 'CREATE EXTENSION pg_bac');
($ret, $out, $err) = $node->psql('dst',
	"SELECT count(*) FROM bac.restore_group('$snap')");
is($ret, 0, 'restore_group into another database') or diag($err);
like($err, qr/user mapping for \S+ on server files is missing/,
	'the missing user mapping is named');
(my $want = $schema_at) =~
  s/^--\n-- Name: USER MAPPING [^\n]*\n--\n\nCREATE USER MAPPING [^\n]*\n\n\n//m;
compare_dumps(dump_db('dst', '--schema-only'), $want,
	'another database: pg_dump --schema-only identical (but the user mapping, which is never captured)');
compare_dumps(dump_db('dst', '--data-only'), $data_at,
	'another database: pg_dump --data-only identical');

# in place: the extensions move with the schema
($ret, $out, $err) = $node->psql('src',
	"SELECT count(*) FROM bac.restore_group('$snap')");
is($ret, 0, 'restore_group in place') or diag($err);
like($err, qr/extension citext moved into the restored schema shop/,
	'citext moves into the restored schema');
like($err, qr/extension file_fdw moved into the restored schema shop/,
	'file_fdw moves into the restored schema');
my $aside = $node->safe_psql('src',
	"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'shop_before_%'");
like($aside, qr/^shop_before_/, 'the old schema is kept aside');
is($node->safe_psql('src',
		qq{SELECT count(*) FROM "$aside".customer WHERE email OPERATOR(shop.=) 'a\@example.org'::shop.citext}),
	'1', 'the schema kept aside still works with the moved extension');
$node->safe_psql('src', qq{DROP SCHEMA "$aside" CASCADE;
	DROP SCHEMA "} . $node->safe_psql('src',
		"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'billing_before_%'") . '" CASCADE');
compare_dumps(dump_db('src', '--schema-only'), $schema_at,
	'in place: pg_dump --schema-only identical');
compare_dumps(dump_db('src', '--data-only'), $data_at,
	'in place: pg_dump --data-only identical');

# a non-relocatable extension in a service's schema
$node->safe_psql('src', q{
CREATE SCHEMA geo;
SET search_path = geo;
CREATE EXTENSION postgis;
CREATE TABLE place (id int PRIMARY KEY, at geometry(Point));
INSERT INTO place VALUES (1, 'POINT(1 2)');
RESET search_path;
});
$node->psql('src', "SELECT bac.register_service('geo')");
my $geo = $node->safe_psql('src', "SELECT snapshot_id FROM bac.snapshot('{geo}')");
my $before = dump_db('src', '--schema-only');
($ret, $out, $err) = $node->psql('src',
	"SELECT count(*) FROM bac.restore('$geo', 'geo')");
isnt($ret, 0, 'in place with a non-relocatable extension in the schema: refused');
like($err, qr/cannot restore service "geo" in place: schema "geo" holds extensions that cannot move: postgis/,
	'the error names the extension');
like($err, qr/HINT:  Restore with into_schema, or reinstall the extensions in a schema of their own/,
	'and the ways out');
compare_dumps(dump_db('src', '--schema-only'), $before, 'nothing changed');
($ret, $out, $err) = $node->psql('src',
	"BEGIN; SELECT count(*) FROM bac.restore('$geo', 'geo', into_schema => 'geo_copy');"
	  . " SELECT geo.ST_X(at) FROM geo_copy.place; ROLLBACK;");
is($ret, 0, 'into_schema works with it') or diag($err);

# a database-level object on a service's type: named in a refusal, never
# left dangling
$node->safe_psql('src', 'CREATE CAST (shop.customer AS text) WITH INOUT');
$before = dump_db('src', '--schema-only');
($ret, $out, $err) = $node->psql('src',
	"SELECT count(*) FROM bac.restore_group('$snap')");
isnt($ret, 0, 'in place with a cast on a service\'s type: refused');
like($err, qr/cast from shop\.customer to text/, 'the cast is named');
compare_dumps(dump_db('src', '--schema-only'), $before, 'nothing changed');

# an extension this server cannot install: the manifest says the service
# needs one that does not exist here (checksum recomputed, as a snapshot
# from another server would have it)
{
	my $mfile = $node->data_dir . "/pg_bac/$snap/manifest.json";
	open(my $fh, '<', $mfile) or die "cannot read $mfile: $!";
	my $text = do { local $/; <$fh> };
	close $fh;
	$text =~ s/"extensions": \["citext", "file_fdw"\]/"extensions": ["citext", "bac_no_such_extension"]/
	  or die "no extensions list to change in $mfile";
	$text =~ s/"manifest_checksum": "[0-9a-f]{64}"\}\n\z//s or die "no checksum line";
	$text .= '"manifest_checksum": "' . Digest::SHA::sha256_hex($text) . "\"}\n";
	open($fh, '>', $mfile) or die "cannot write $mfile: $!";
	print $fh $text;
	close $fh;
	$node->safe_psql('postgres', 'CREATE DATABASE dst2');
	$node->safe_psql('dst2', 'CREATE EXTENSION pg_bac');
	my $dst2_before = dump_db('dst2', '--schema-only');
	($ret, $out, $err) = $node->psql('dst2',
		"SELECT count(*) FROM bac.restore_group('$snap')");
	isnt($ret, 0, 'an extension this server cannot install: refused');
	like($err, qr/extension "bac_no_such_extension" that service "shop" needs is not available on this server/,
		'the error names the extension and the service');
	compare_dumps(dump_db('dst2', '--schema-only'), $dst2_before, 'nothing changed');
}

$node->stop;
done_testing();
