# test/perl/BacDdlRoundTrip.pm - helpers for the DDL fidelity tests: capture
# a schema with bac.schema_ddl, replay it into another database (pre-data,
# data, post-data, as pg_restore would), and compare pg_dump's view of both.
package BacDdlRoundTrip;

use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(capture_ddl replay_ddl dump_schema compare_dumps quote_ident quote_literal);

# quote an identifier the way PostgreSQL would need it
sub quote_ident
{
	my ($name) = @_;
	return $name if $name =~ /^[a-z_][a-z0-9_]*$/;
	(my $q = $name) =~ s/"/""/g;
	return "\"$q\"";
}

# single-quoted SQL literal
sub quote_literal
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

# (pre-data, post-data) of $schema in database $db
sub capture_ddl
{
	my ($node, $db, $schema) = @_;
	my $lit = quote_literal($schema);
	my $pre = $node->safe_psql($db,
		"SELECT bac.schema_ddl($lit, 'pre-data')");
	my $post = $node->safe_psql($db,
		"SELECT bac.schema_ddl($lit, 'post-data')");
	return ($pre, $post);
}

# run one captured script in $db with search_path set to $schema, in one
# transaction; returns (ok, stderr)
sub run_script
{
	my ($node, $db, $schema, $script) = @_;
	my ($stdout, $stderr);
	my $ret = $node->psql(
		$db, "SET search_path = " . quote_ident($schema) . ";\n" . $script,
		stdout => \$stdout,
		stderr => \$stderr,
		on_error_stop => 1,
		extra_params => [ '--single-transaction', '-q' ]);
	return ($ret == 0, $stderr);
}

# pg_dump of schemas in $db, the per-run \restrict key lines left out (they
# are random); $mode is '--schema-only' or '--data-only'
sub dump_schema
{
	my ($node, $db, $mode, @schemas) = @_;
	my @cmd = ('pg_dump', $mode, '--no-sync', '-d', $node->connstr($db));
	push @cmd, '--schema=' . $_ for @schemas;
	my ($stdout, $stderr) = run_command(\@cmd);
	die "pg_dump failed: $stderr" if $stderr =~ /error/i;
	return join('', grep { !/^\\(un)?restrict / } split(/^/m, $stdout));
}

# Replay a captured schema from $src into $dst under the name $target
# (default: the same name).  The data is copied table by table with COPY in
# the load order the capture gives.  Returns '' or an error description.
sub replay_ddl
{
	my ($node, $src, $dst, $schema, %opt) = @_;
	my $target = $opt{target} // $schema;
	my ($pre, $post) = capture_ddl($node, $src, $schema);
	my $owner = $node->safe_psql($src,
		"SELECT nspowner::regrole FROM pg_namespace WHERE nspname = "
		  . quote_literal($schema));
	unless ($opt{schema_exists})
	{
		$node->safe_psql($dst,
			"CREATE SCHEMA " . quote_ident($target) . " AUTHORIZATION $owner");
	}
	my ($ok, $err) = run_script($node, $dst, $target, $pre);
	return "pre-data of $schema failed: $err" unless $ok;

	# the data, in the capture's load order
	my @tables = split /\n/, $node->safe_psql($src,
		"SELECT name FROM bac.schema_ddl_info(" . quote_literal($schema)
		  . ") WHERE kind = 'table' ORDER BY ord");
	for my $t (@tables)
	{
		(my $rel = $t) =~ s/^\Q${\quote_ident($schema)}\E\.//;
		# generated columns cannot be loaded: name the others
		my $cols = $node->safe_psql($src,
			"SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)"
			  . " FROM pg_attribute WHERE attrelid = " . quote_literal($t)
			  . "::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''");
		my $copy = $node->safe_psql($src,
			"COPY (SELECT $cols FROM ONLY $t) TO STDOUT");
		next if $copy eq '';
		my ($stdout, $stderr);
		my $ret = $node->psql($dst,
			"SET search_path = " . quote_ident($target) . ";\n"
			  . "COPY $rel ($cols) FROM STDIN;\n$copy\n\\.\n",
			stdout => \$stdout, stderr => \$stderr, on_error_stop => 1);
		return "data of $t failed: $stderr" if $ret != 0;
	}

	($ok, $err) = run_script($node, $dst, $target, $post);
	return "post-data of $schema failed: $err" unless $ok;
	return '';
}

# is(...) for two dumps, with a unified diff as diagnostics on failure
sub compare_dumps
{
	my ($got, $expected, $name) = @_;
	if ($got eq $expected)
	{
		pass($name);
		return 1;
	}
	my $dir = tempdir(CLEANUP => 1);
	open(my $fh, '>', "$dir/expected") or die;
	print $fh $expected;
	close $fh;
	open($fh, '>', "$dir/got") or die;
	print $fh $got;
	close $fh;
	my ($diff) = run_command([ 'diff', '-u', "$dir/expected", "$dir/got" ]);
	fail($name);
	diag(length($diff) > 20000 ? substr($diff, 0, 20000) . "\n[diff cut]" : $diff);
	return 0;
}

1;
