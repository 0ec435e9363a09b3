# test/t/023_ddl_corpora.pl: real multi-schema databases nobody on the team
# wrote (../shared/corpora, found through BAC_SHARED) as the judges of
# services that depend on each other both ways.  For musicbrainz,
# adventureworks and graphile-starter: load the corpus, register every
# application schema (and public, which holds their domains, extensions and
# functions) as services of one group, then
#
#   1. capture the group with bac.group_ddl (one dependency order over all
#      schemas) and replay it into an empty database: pre-data, the data
#      (pg_dump --data-only of the source), post-data; pg_dump
#      --schema-only and --data-only of the whole database must equal the
#      source's;
#   2. snapshot the group, then
#      (a) bac.restore_group in place,
#      (b) bac.restore_group into an empty database,
#      (c) each service with into_schema, and exported with as_schema and
#          loaded beside itself with psql (must load without error),
#      (d) bac.export_group, the group as one script, loaded with psql into
#          an empty database;
#      pg_dump --schema-only and --data-only of the whole database after
#      (a), (b) and (d) must equal the source's.
#   3. bad input: restore_group into a database where one of the group's
#      schemas holds objects, and into a database where an extension the
#      group needs cannot be installed: a clear error, nothing changed.
#
# PostgreSQL's own pg_dump | psql round trip changes three object texts of
# musicbrainz (two "= ANY (ARRAY[...])" checks and a view column gaining
# "AS int4"); there the copy is compared with the database that round trip
# produces, and the test says so.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__) . '/../perl';
use BacDdlRoundTrip;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $corpora = ($ENV{BAC_SHARED} // '') . '/corpora';
if (!$ENV{BAC_SHARED} || !-d $corpora)
{
	plan skip_all =>
	  "SKIPPED: corpora not found (BAC_SHARED=" . ($ENV{BAC_SHARED} // 'unset')
	  . "); the real-database fidelity test did not run";
}

my @corpora = (
	{
		name => 'musicbrainz',
		dbopts => "ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
		schemas => [
			qw(public musicbrainz cover_art_archive event_art_archive
			  documentation sitemaps statistics json_dump report wikidocs
			  dbmirror2)
		],
		# pg_dump | psql itself changes three object texts (README)
		roundtrip_reference => 1,
	},
	{
		name => 'adventureworks',
		dbopts => "ENCODING 'UTF8'",
		schemas => [
			qw(public person humanresources production purchasing sales
			  pe hr pr pu sa)
		],
	},
	{
		name => 'graphile-starter',
		dbopts => "ENCODING 'UTF8' OWNER graphile_starter",
		schemas => [qw(public app_public app_private app_hidden)],
		# database-wide default privileges belong to no schema, so to no
		# service: the operator's, set up by hand in the target
		database_level =>
		  'ALTER DEFAULT PRIVILEGES FOR ROLE graphile_starter REVOKE ALL ON FUNCTIONS FROM PUBLIC',
	},);

my $node = PostgreSQL::Test::Cluster->new('corpora');
$node->init;
# an in-place restore of musicbrainz holds locks on the old and the new
# objects of ten schemas at once, as pg_restore --single-transaction would
$node->append_conf('postgresql.conf', "max_locks_per_transaction = 1024");
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

# run a script in $db with psql -f, stopping at the first error
my $scratch = PostgreSQL::Test::Utils::tempdir();
sub run_sql
{
	my ($db, $sql, @opts) = @_;
	my ($stdout, $stderr);
	open(my $fh, '>', "$scratch/script.sql") or die "cannot write: $!";
	print $fh $sql;
	close $fh;
	my $ret = $node->psql(
		$db, undef,
		stdout => \$stdout,
		stderr => \$stderr,
		on_error_stop => 1,
		extra_params => [ '-q', @opts, '-f', "$scratch/script.sql" ]);
	return ($ret == 0, $stderr);
}

for my $c (@corpora)
{
	my $name = $c->{name};
	my $dir = "$corpora/$name";
	SKIP:
	{
		skip "SKIPPED: $dir/load.sh not found", 1 unless -x "$dir/load.sh";
		(my $src = $name) =~ s/-/_/g;
		my $dst = "${src}_copy";
		my @schemas = @{ $c->{schemas} };

		# load
		{
			local $ENV{PGHOST} = $node->host;
			local $ENV{PGPORT} = $node->port;
			local $ENV{PGDATABASE} = 'postgres';
			my ($stdout, $stderr) = run_command([ "$dir/load.sh", $src ]);
			is($node->safe_psql($src,
					"SELECT count(*) FROM pg_namespace WHERE nspname IN ("
					  . join(', ', map { quote_literal($_) } @schemas) . ")"),
				scalar(@schemas), "$name loads") or diag($stderr);
		}

		# every schema a service of one group
		$node->safe_psql($src, 'CREATE EXTENSION pg_bac');
		for my $s (@schemas)
		{
			$node->psql($src,
				"SELECT bac.register_service(" . quote_literal($s)
				  . ", service_group => 'corpus')");
		}
		is($node->safe_psql($src, 'SELECT count(*) FROM bac.services'),
			scalar(@schemas), "$name: its schemas are registered");

		my $schema_at_start = dump_db($src, '--schema-only');
		my $data_at_start = dump_db($src, '--data-only');

		# the reference: the source as pg_dump | psql reproduces it
		my ($schema_ref, $ref_note) = ($schema_at_start, 'the source');
		if ($c->{roundtrip_reference})
		{
			$node->safe_psql('postgres',
				"CREATE DATABASE ${src}_ref TEMPLATE template0 $c->{dbopts}");
			$node->safe_psql("${src}_ref", 'CREATE EXTENSION pg_bac');
			my ($ok, $err) = run_sql("${src}_ref",
				dump_db($src, '--schema-only'));
			ok($ok, "$name: pg_dump | psql round trip for the reference")
			  or diag($err);
			$schema_ref = dump_db("${src}_ref", '--schema-only');
			$ref_note = 'the source after its own pg_dump | psql round trip';
			isnt($schema_ref, $schema_at_start,
				"$name: pg_dump | psql itself changes some object texts, so the copy is compared with the round-tripped database"
			);
		}

		# 1. the group's DDL in one order, replayed into an empty database
		my $arr = 'ARRAY[' . join(', ', map { quote_literal($_) } @schemas)
		  . ']::name[]';
		my $pre = $node->safe_psql($src,
			"SELECT bac.group_ddl($arr, 'pre-data')");
		my $post = $node->safe_psql($src,
			"SELECT bac.group_ddl($arr, 'post-data')");
		$node->safe_psql('postgres',
			"CREATE DATABASE $dst TEMPLATE template0 $c->{dbopts}");
		$node->safe_psql($dst, 'CREATE EXTENSION pg_bac');
		$node->safe_psql($dst, $c->{database_level}) if $c->{database_level};
		for my $s (grep { $_ ne 'public' } @schemas)
		{
			my $owner = $node->safe_psql($src,
				"SELECT nspowner::regrole FROM pg_namespace WHERE nspname = "
				  . quote_literal($s));
			$node->safe_psql($dst,
				"CREATE SCHEMA " . quote_ident($s) . " AUTHORIZATION $owner");
		}
		my ($ok, $err) = run_sql($dst, $pre, '--single-transaction');
		ok($ok, "$name: the group's pre-data runs in one order")
		  or diag($err);
		($ok, $err) = run_sql($dst, $data_at_start);
		ok($ok, "$name: the data loads between pre-data and post-data")
		  or diag($err);
		($ok, $err) = run_sql($dst, $post, '--single-transaction');
		ok($ok, "$name: the group's post-data runs in one order")
		  or diag($err);
		compare_dumps(dump_db($dst, '--schema-only'), $schema_ref,
			"$name: group DDL replayed: pg_dump --schema-only equals $ref_note"
		);
		compare_dumps(dump_db($dst, '--data-only'), $data_at_start,
			"$name: group DDL replayed: pg_dump --data-only equals the source"
		);

		# 2. a snapshot, then the same judged after each way back
		my $snap = $node->safe_psql($src,
			'SELECT snapshot_id FROM bac.snapshot()');
		like($snap, qr/^\d{8}T/, "$name: snapshot of the group");

		# (b) into an empty database (before (a) changes the source's OIDs)
		my $empty = "${src}_empty";
		$node->safe_psql('postgres',
			"CREATE DATABASE $empty TEMPLATE template0 $c->{dbopts}");
		$node->safe_psql($empty, 'CREATE EXTENSION pg_bac');
		$node->safe_psql($empty, $c->{database_level}) if $c->{database_level};
		($ok, $err) = run_sql($empty,
			"SET client_min_messages = warning;\n"
			  . "SELECT count(*) FROM bac.restore_group('$snap');");
		ok($ok, "$name: (b) restore_group into an empty database") or diag($err);
		compare_dumps(dump_db($empty, '--schema-only'), $schema_ref,
			"$name: (b) into an empty database: pg_dump --schema-only equals $ref_note");
		compare_dumps(dump_db($empty, '--data-only'), $data_at_start,
			"$name: (b) into an empty database: pg_dump --data-only equals the source");

		# bad input: the group's schemas exist there now, holding objects
		($ok, $err) = run_sql($empty,
			"SELECT count(*) FROM bac.restore_group('$snap');");
		ok(!$ok, "$name: restore_group into a database that holds the group's schemas is refused");
		like($err, qr/schemas of snapshot "\Q$snap\E" already exist in database "$empty" and hold objects/,
			"$name: and the error names them");
		compare_dumps(dump_db($empty, '--schema-only'), $schema_ref,
			"$name: nothing changed");

		# (d) the group exported as one script, loaded with psql
		my $exported = "${src}_exported";
		$node->safe_psql('postgres',
			"CREATE DATABASE $exported TEMPLATE template0 $c->{dbopts}");
		$node->safe_psql($exported, 'CREATE EXTENSION pg_bac');
		$node->safe_psql($exported, $c->{database_level}) if $c->{database_level};
		my ($script, $xerr);
		$node->psql($src, "SELECT bac.export_group('$snap')",
			stdout => \$script, stderr => \$xerr, on_error_stop => 1,
			extra_params => [ '-XAt' ]);
		is($xerr, '', "$name: (d) export_group");
		($ok, $err) = run_sql($exported, "$script\n");
		ok($ok, "$name: (d) the exported script loads with psql") or diag($err);
		compare_dumps(dump_db($exported, '--schema-only'), $schema_ref,
			"$name: (d) exported: pg_dump --schema-only equals $ref_note");
		compare_dumps(dump_db($exported, '--data-only'), $data_at_start,
			"$name: (d) exported: pg_dump --data-only equals the source");

		# (a) in place
		($ok, $err) = run_sql($src,
			"SET client_min_messages = warning;\n"
			  . "SELECT count(*) FROM bac.restore_group('$snap', keep_previous => false);");
		ok($ok, "$name: (a) restore_group in place") or diag($err);
		compare_dumps(dump_db($src, '--schema-only'), $schema_ref,
			"$name: (a) in place: pg_dump --schema-only equals $ref_note");
		compare_dumps(dump_db($src, '--data-only'), $data_at_start,
			"$name: (a) in place: pg_dump --data-only equals the source");

		# (c) each service beside itself
		for my $s (@schemas)
		{
			($ok, $err) = run_sql($src,
				"SET client_min_messages = warning;\n"
				  . "BEGIN;\nSELECT count(*) FROM bac.restore('$snap', "
				  . quote_literal($s) . ", into_schema => "
				  . quote_literal("bac_copy_$s") . ");\nROLLBACK;");
			ok($ok, "$name: service $s restores with into_schema")
			  or diag($err);
		}
		# (c') each service exported under another name and loaded beside
		# itself with psql (as_schema relocates like into_schema)
		for my $s (@schemas)
		{
			my ($xs, $xe);
			$node->psql($src,
				"SELECT bac.export('$snap', " . quote_literal($s)
				  . ", as_schema => " . quote_literal("bac_as_$s") . ")",
				stdout => \$xs, stderr => \$xe, on_error_stop => 1,
				extra_params => [ '-XAt' ]);
			($ok, $err) = run_sql($src, "BEGIN;\n$xs\nROLLBACK;\n");
			ok($ok && $xe eq '', "$name: service $s exported with as_schema loads beside itself")
			  or diag($xe . $err);
		}
		compare_dumps(dump_db($src, '--schema-only'), $schema_ref,
			"$name: (c) rolled back, the source is unchanged");
	}
}

$node->stop;
done_testing();
