# test/perl/BacGuarantee.pm: helpers shared by the guarantee tests (06x):
# raw file access, the database state a failed operation must leave
# untouched, background sessions, crash recovery waits.
package BacGuarantee;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(slurp spew db_state start_psql wait_for_pid wait_for_recovery
  manifest_reseal watch_install watch valgrind_start valgrind_report
  free_bytes fill_until fuzz_session fuzz_tally fuzz_survived fuzz_valgrind_check);

# Whole file as bytes.
sub slurp
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "open $path: $!";
	local $/;
	my $data = <$fh>;
	close $fh;
	return $data;
}

# Replace a file's bytes.
sub spew
{
	my ($path, $data) = @_;
	open(my $fh, '>:raw', $path) or die "open $path: $!";
	print $fh $data;
	close $fh or die "close $path: $!";
}

# Rewrite the manifest's last line so its checksum matches its body again
# (a consistent, forged manifest).
sub manifest_reseal
{
	my ($m) = @_;
	require Digest::SHA;
	my $pos = rindex($m, "\n\"manifest_checksum\": \"");
	die "no manifest checksum line" if $pos < 0;
	my $body = substr($m, 0, $pos + 1);
	return $body . '"manifest_checksum": "' . Digest::SHA::sha256_hex($body) . "\"}\n";
}

# Free bytes of the filesystem holding $dir.
sub free_bytes
{
	my ($dir) = @_;
	my ($out) = run_command([ 'df', '-B1', '--output=avail', $dir ]);
	my ($n) = $out =~ /(\d+)\s*$/;
	return $n;
}

# Fill the filesystem holding $path's directory with the file $path until
# $leave bytes are free; returns $path.
sub fill_until
{
	my ($path, $leave) = @_;
	(my $dir = $path) =~ s{/[^/]*$}{};
	my $want = free_bytes($dir) - $leave;
	open(my $fh, '>:raw', $path) or die "open $path: $!";
	my $chunk = 'f' x (1024 * 1024);
	while ($want > 0)
	{
		my $n = $want < length($chunk) ? $want : length($chunk);
		print $fh substr($chunk, 0, $n) or last;
		$want -= $n;
	}
	close $fh;
	return $path;
}

# What a failed or crashed operation must leave as it was: the schemas,
# pg_dump --schema-only of the whole database, and an md5 of every user
# table's rows (sorted), one line per table.
sub db_state
{
	my ($node, $db) = @_;
	my ($out, $err) = ('', '');
	# a dump that failed (a server still resetting) must not pass for a
	# different state
	IPC::Run::run([ 'pg_dump', '--schema-only', '-d', $node->connstr($db) ], '>', \$out, '2>', \$err)
	  or die "pg_dump failed: $err";
	$out =~ s/^\\(un)?restrict .*$//mg;
	my $data = $node->safe_psql($db, q{
SELECT string_agg(n.nspname || '.' || c.relname || ' ' || (xpath('/row/h/text()',
	query_to_xml(format('SELECT md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) AS h FROM %I.%I t',
		n.nspname, c.relname), false, true, '')))[1]::text, E'\n' ORDER BY 1)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'});
	my $seqs = $node->safe_psql($db, q{
SELECT string_agg(schemaname || '.' || sequencename || ' ' || coalesce(last_value::text, 'null'), E'\n' ORDER BY 1)
  FROM pg_sequences});
	my $schemas = $node->safe_psql($db, q{
SELECT string_agg(nspname, ' ' ORDER BY nspname) FROM pg_namespace
 WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'});
	return "$schemas\n$data\n$seqs\n$out";
}

# Run SQL in a background psql with application_name $app; returns the
# harness and refs to stdout and stderr.
sub start_psql
{
	my ($node, $db, $app, @sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db),
		  '-c', "SET application_name = '$app'", map { ('-c', $_) } @sql ],
		'>', \$out, '2>', \$err);
	return ($h, \$out, \$err);
}

# First pid for which $sql (a query returning pids) returns a row, polled
# every $ms ms for at most $secs seconds; undef if none.
sub wait_for_pid
{
	my ($node, $db, $sql, $secs, $ms) = @_;
	$secs //= 60;
	$ms //= 5;
	my $tries = int($secs * 1000 / $ms);
	for (1 .. $tries)
	{
		my ($ret, $pid) = $node->psql($db, $sql);
		($pid) = split /\n/, $pid // '';
		return $pid if $ret == 0 && defined $pid && $pid =~ /^\d+$/;
		usleep($ms * 1000);
	}
	return undef;
}

# A watcher polling inside the server every millisecond, in its own
# database "bac_watch" (so the database under test is not changed): the
# progress views are cluster-wide.
sub watch_install
{
	my ($node) = @_;
	$node->safe_psql('postgres', 'CREATE DATABASE bac_watch');
	$node->safe_psql('bac_watch', q{
CREATE FUNCTION watch(q text, k int, secs float8) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	seen text[] := '{}';
	r record;
	t0 timestamptz := clock_timestamp();
BEGIN
	LOOP
		-- statistics views are cached per transaction: refresh them
		PERFORM pg_stat_clear_snapshot();
		FOR r IN EXECUTE q LOOP
			IF r.late THEN
				RETURN 'missed ' || r.pid;
			END IF;
			IF r.key IS NOT NULL AND NOT r.key = ANY (seen) THEN
				seen := seen || r.key;
			END IF;
			IF cardinality(seen) >= k THEN
				RETURN r.pid::text;
			END IF;
		END LOOP;
		IF clock_timestamp() - t0 > secs * interval '1 s' THEN
			RETURN NULL;
		END IF;
		PERFORM pg_sleep(0.001);
	END LOOP;
END $$;});
}

# Run the watcher: $q returns rows (pid int, key text, late bool); returns
# the pid of the row that made $k distinct keys, "missed <pid>" for a row
# with late true, or undef after $secs seconds.
sub watch
{
	my ($node, $q, $k, $secs) = @_;
	(my $lit = $q) =~ s/'/''/g;
	my $r = $node->safe_psql('bac_watch', "SELECT watch('$lit', $k, " . ($secs // 120) . ')');
	return $r eq '' ? undef : $r;
}

# After a crash the postmaster resets every backend: wait until the
# server log (from byte $offset, its size before the kill) says it is
# ready again, then until a query runs.
sub wait_for_recovery
{
	my ($node, $db, $offset) = @_;
	for (1 .. 1200)
	{
		last unless defined $offset;
		my $log = slurp($node->logfile);
		last if substr($log, $offset) =~ /terminated; reinitializing.*ready to accept connections/s;
		usleep(50_000);
	}
	for (1 .. 1200)
	{
		my $ok = eval {
			my ($ret, $out) = $node->psql($db, 'SELECT 1');
			$ret == 0 && $out eq '1';
		};
		return 1 if $ok;
		usleep(50_000);
	}
	die 'server did not recover';
}

# Start $node's server (initialised, not running) under valgrind memcheck:
# pg_ctl -p runs a wrapper script that execs the installed postgres under
# valgrind, so the postmaster and every process it forks (each backend,
# parallel worker, autovacuum, ...) run on valgrind's synthetic CPU and
# each writes its own log, $dir/<pid>.log.  Returns $dir.
sub valgrind_start
{
	my ($node, $supp) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir('valgrind');
	my ($bindir) = run_command([ 'pg_config', '--bindir' ]);
	chomp $bindir;
	my $wrapper = "$dir/postgres-under-valgrind";
	spew($wrapper, join(' ', '#!/bin/sh', "\n", 'exec valgrind',
		'--tool=memcheck', '--trace-children=yes', '--error-limit=no',
		'--num-callers=40', '--leak-check=no', '--gen-suppressions=all',
		'--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END',
		($supp ? "--suppressions=$supp" : ()),
		"--log-file=$dir/%p.log", "$bindir/postgres", '"$@"', "\n"));
	chmod 0700, $wrapper;
	local %ENV = $node->_get_env(PGAPPNAME => undef);
	PostgreSQL::Test::Utils::system_or_bail('pg_ctl', '-w', '-t', '600', '-D',
		$node->data_dir, '-l', $node->logfile, '-o', '--cluster-name=' . $node->name,
		'-p', $wrapper, 'start');
	$node->_update_pid(1);
	return $dir;
}

# Read every valgrind log of $dir: returns a hash with processes (logs
# that valgrind started, i.e. processes it ran), pids (hash of those
# pids), errors (all error reports), ours (the reports with a frame in
# pg_bac.so, as text).  pg_bac.so has debug information, so valgrind
# names its frames by source file and line, "(manifest.c:218)", not by
# object: a frame is ours when it names one of the C files in $srcdir
# (or pg_bac.so, for a frame without line information).
sub valgrind_report
{
	my ($dir, $srcdir) = @_;
	my %r = (processes => 0, pids => {}, errors => 0, ours => []);
	opendir(my $sh, $srcdir) or die "opendir $srcdir: $!";
	my @ours = grep { /\.c$/ } readdir $sh;
	closedir $sh;
	die "no C file in $srcdir" unless @ours;
	my $ours_re = join('|', map { quotemeta } @ours);
	my $frame_re = qr/^==\d+==\s+(?:at|by) 0x[0-9A-Fa-f]+: .*(?:\((?:$ours_re):\d+\)|pg_bac\.so)/m;
	opendir(my $dh, $dir) or die "opendir $dir: $!";
	for my $f (sort grep { /^\d+\.log$/ } readdir $dh)
	{
		my $log = slurp("$dir/$f");
		next unless $log =~ /Memcheck, a memory error detector/;
		$r{processes}++;
		$r{pids}{ ($f =~ /^(\d+)/)[0] } = 1;
		while ($log =~ /VALGRINDERROR-BEGIN\n(.*?)VALGRINDERROR-END/sg)
		{
			my $e = $1;
			$r{errors}++;
			push @{ $r{ours} }, "$f:\n$e" if $e =~ $frame_re;
		}
	}
	closedir $dh;
	return \%r;
}

# One fuzz input: run @sql in one session of $node (statement_timeout
# $timeout), each statement after a marker on stderr so that each one's
# messages can be told apart, then $cleanup.  Returns the backend's pid and,
# per statement, its outcome: 'ok', 'error' (a clean ERROR, its message
# second), 'bad' (a crash, a timeout or a message that is no ERROR) or
# 'missing' (it did not run), with its stderr.
sub fuzz_session
{
	my ($node, $db, $timeout, $cleanup, @sql) = @_;
	my $script = "SET statement_timeout = '$timeout';\nSET client_min_messages = error;\n"
	  . "SELECT pg_backend_pid() AS pid \\gset\n\\warn MARK pid :pid\n"
	  . join('', map { "\\warn MARK $_\n$sql[$_];\n" } 0 .. $#sql)
	  . "\\warn MARK end\n$cleanup\n";
	my ($ret, $out, $err) = $node->psql($db, $script, on_error_stop => 0);
	my ($pid) = $err =~ /^MARK pid (\d+)$/m;
	my @outcomes;
	for my $i (0 .. $#sql)
	{
		my ($part) = $err =~ /^MARK $i\n(.*?)^MARK (?:\d+|end)$/ms;
		if (!defined $part) { push @outcomes, [ 'missing', $err ]; }
		elsif ($part =~ /statement timeout|server closed the connection|terminated by signal|terminating connection|connection to server was lost/
			|| ($part ne '' && $part !~ /ERROR:/))
		{
			push @outcomes, [ 'bad', $part ];
		}
		elsif ($part =~ /ERROR:\s+(.*)/) { push @outcomes, [ 'error', $1 ]; }
		else { push @outcomes, [ 'ok', '' ]; }
	}
	return ($pid, @outcomes);
}

# Count one input's outcomes (fuzz_session) into %$t: errors, ok, and
# messages (each ERROR message with paths, quoted names and numbers
# blurred); a crash, a timeout or a statement that did not run fails.
sub fuzz_tally
{
	my ($t, $label, $sql, @outcomes) = @_;
	for my $i (0 .. $#outcomes)
	{
		my ($how, $text) = @{ $outcomes[$i] };
		if ($how eq 'error')
		{
			$t->{errors}++;
			(my $msg = $text) =~ s{/\S+|"[^"]*"|\d+}{_}g;
			$t->{messages}{$msg}++;
		}
		elsif ($how eq 'ok') { $t->{ok}++; }
		else
		{
			fail("$label: $sql->[$i] " . ($how eq 'missing' ? 'did not run' : 'ended badly'));
			diag($text);
		}
	}
}

# After a fuzz round: the server never restarted (no backend crashed) and
# its log shows no crash.
sub fuzz_survived
{
	my ($node, $db, $start, $round) = @_;
	is($node->safe_psql($db, 'SELECT pg_postmaster_start_time()'), $start,
		"$round: the server never restarted (no backend crashed)");
	unlike(slurp($node->logfile), qr/terminated by signal|was terminated|PANIC/,
		"$round: the server log shows no crash");
}

# After a fuzz round under valgrind (valgrind_start): every backend that
# served an input (%$backends, pid => 1) must have run under valgrind, and
# no error report may have a frame in our sources ($srcdir).  Returns the
# counts as text for the round's summary line.
sub fuzz_valgrind_check
{
	my ($vgdir, $srcdir, $backends) = @_;
	my $vg = valgrind_report($vgdir, $srcdir);
	my @missed = grep { !$vg->{pids}{$_} } sort keys %$backends;
	is(scalar(@missed), 0, 'every backend that served an input ran under valgrind')
	  or diag("backends without a valgrind log: @missed");
	is(scalar(@{ $vg->{ours} }), 0, 'valgrind reports no error with a frame in our code (src/*.c)')
	  or diag(join("\n", @{ $vg->{ours} }[0 .. ($#{ $vg->{ours} } < 9 ? $#{ $vg->{ours} } : 9)]));
	return sprintf(', under valgrind memcheck: %d processes, %d error reports in all, %d in our code',
		$vg->{processes}, $vg->{errors}, scalar(@{ $vg->{ours} }));
}

1;
