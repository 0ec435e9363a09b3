# test/perl/BacPitrTest.pm: helpers shared by the point-in-time restore TAP
# tests and the short demo: a node set up for the change archive, a psql
# script run with variables, and table-by-table comparison of two schemas.
package BacPitrTest;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use Test::More;

our @EXPORT = qw(pitr_node schema_tables compare_schemas schema_hashes psql_file);

# A started node with pg_bac preloaded (the archiver workers run),
# wal_level = logical and pg_bac allowed as an output plugin.  Options:
# preload => 0 (no archiver worker: bac.pitr_pump() drains the slot), init
# (extra initdb arguments), conf (more postgresql.conf lines).
sub pitr_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 'logical', %{ $opts{init} // {} });
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_bac'\n")
	  if $opts{preload} // 1;
	$node->append_conf('postgresql.conf', qq{
wal_level = logical
max_wal_senders = 4
max_replication_slots = 4
max_prepared_transactions = 5
max_worker_processes = 16
max_parallel_workers = 8
});
	# servers that restrict output plugins must allow pg_bac's
	my $has = has_plugin_allowlist($node);
	$node->append_conf('postgresql.conf',
		"output_plugin_libraries = 'pgoutput, test_decoding, pg_bac'\n")
	  if $has;
	$node->append_conf('postgresql.conf', $opts{conf}) if $opts{conf};
	$node->start;
	return $node;
}

# Does this server know output_plugin_libraries?  (Asked of postgres -C.)
sub has_plugin_allowlist
{
	my ($node) = @_;
	my $postgres = $node->installed_command('postgres');
	my $out = `$postgres -D @{[ $node->data_dir ]} -C output_plugin_libraries 2>/dev/null`;
	return $? == 0 && $out ne '';
}

# The ordinary tables (and partitions) of a schema, sorted.
sub schema_tables
{
	my ($node, $db, $schema) = @_;
	return split /\n/, $node->safe_psql($db, qq{
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = '$schema' AND c.relkind = 'r' ORDER BY 1});
}

# Compare two schemas table by table: the same tables with the same rows
# (as text, all columns, as a multiset).  One test per table; returns the
# number of tables that differ.
sub compare_schemas
{
	my ($node, $db, $a, $b, $what) = @_;
	my @ta = schema_tables($node, $db, $a);
	my @tb = schema_tables($node, $db, $b);
	is(join(' ', @ta), join(' ', @tb), "$what: same tables in $a and $b");
	my $bad = 0;
	for my $t (@ta)
	{
		my $qa = qq{"$a"."$t"};
		my $qb = qq{"$b"."$t"};
		my $r = $node->safe_psql($db, qq{
			SELECT (SELECT count(*) FROM $qa) || ' ' ||
			       (SELECT count(*) FROM (SELECT a::text FROM $qa a EXCEPT ALL SELECT b::text FROM $qb b) x) || ' ' ||
			       (SELECT count(*) FROM (SELECT b::text FROM $qb b EXCEPT ALL SELECT a::text FROM $qa a) x)});
		my ($n, $d1, $d2) = split / /, $r;
		$bad++ if $d1 != 0 || $d2 != 0;
		is("$d1 $d2", '0 0', "$what: table $t equal ($n rows)");
	}
	return $bad;
}

# "table:md5 table:md5 ..." over the rows (as text, sorted) of every
# table of a schema: to compare a schema with itself at another time.
sub schema_hashes
{
	my ($node, $db, $schema) = @_;
	my @h;
	for my $t (schema_tables($node, $db, $schema))
	{
		push @h, "$t:" . $node->safe_psql($db, qq{
			SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))
			FROM "$schema"."$t" x});
	}
	return join(' ', @h);
}

# Run a psql script file in $db of $node with -v name=value variables,
# stopping at the first error (printed as a diagnostic).  In list context
# (ok, output), in scalar context ok.
sub psql_file
{
	my ($node, $db, $file, @vars) = @_;
	my @cmd = ('psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
		(map { ('-v', $_) } @vars), '-f', $file, '-d', $node->connstr($db));
	my ($out, $err);
	my $ok = IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	diag($err) if !$ok;
	return wantarray ? ($ok, $out) : $ok;
}

1;
