# test/t/021_ddl_pagila.pl: fidelity of the DDL capture on Pagila, a sample
# database nobody on the team wrote (../shared/corpora/pagila, found through
# BAC_SHARED).  Pagila lives in schema public; we capture public as it is
# (the schema a service would be in) and replay it into the public schema of
# an empty database, then compare pg_dump of both, schema and data.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacDdlRoundTrip;

my $corpus = ($ENV{BAC_SHARED} // '') . '/corpora/pagila';
if (!$ENV{BAC_SHARED} || !-f "$corpus/pagila-schema.sql")
{
	plan skip_all =>
	  "SKIPPED: Pagila not found (BAC_SHARED=" . ($ENV{BAC_SHARED} // 'unset')
	  . "); the sample-database fidelity test did not run";
}

my $node = PostgreSQL::Test::Cluster->new('pagila');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE pagila; CREATE DATABASE copy');
for my $f ('pagila-schema.sql', 'pagila-data.sql')
{
	my ($ret, $out, $err) = $node->psql('pagila', undef,
		extra_params => [ '-q', '-f', "$corpus/$f" ], on_error_stop => 1);
	is($ret, 0, "$f loads") or diag($err);
}
$node->safe_psql('pagila', 'CREATE EXTENSION pg_bac');

my ($ret, $out, $err) = $node->psql('pagila', "SELECT length(bac.schema_ddl('public')) > 0");
is($out, 't', 'Pagila is captured');
unlike($err, qr/WARNING/, 'without warnings');

my $problem = replay_ddl($node, 'pagila', 'copy', 'public', schema_exists => 1);
is($problem, '', 'the captured Pagila replays into an empty database');
compare_dumps(dump_schema($node, 'copy', '--schema-only', 'public'),
	dump_schema($node, 'pagila', '--schema-only', 'public'),
	'pg_dump --schema-only of the copy is identical');
compare_dumps(dump_schema($node, 'copy', '--data-only', 'public'),
	dump_schema($node, 'pagila', '--data-only', 'public'),
	'pg_dump --data-only of the copy is identical');

$node->stop;
done_testing();
