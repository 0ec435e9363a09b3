# test/t/061_hostile_callers.pl: a team's role cannot reach another
# team's service through any pg_bac function, hostile names never become
# paths, and links planted in the archive directory never make the server
# read or write outside it.
#
# Roles team_a and team_b own schemas sa and sb; team_a is granted EXECUTE
# on every bac function.  Every pg_bac function is called by team_a on B's
# service or on snapshots holding it (the test fails if the extension has a
# function this list does not call); every call must fail or return
# nothing of B, and no output, report sample or error message may contain
# B's data (the marker SECRETB).  The same again from a database team_a
# owns, where it created a schema named like B's.
#
# Hostile names: snapshot ids with ../, /, newlines, a NUL, 10 kB; labels,
# service and schema names with ../, /, newlines and 10 kB: nothing appears
# outside the snapshot's directory.
#
# Planted links: a symlink named like a snapshot or like a temporary
# directory pointing outside; a data file, a schema directory or a whole
# snapshot directory replaced by a symlink to a copy outside; a data file
# replaced by a hard link to a file outside, or a symlink to /etc/passwd.
# Restore, export, verify, drop, prune and the next snapshot must neither
# read through them (refuse) nor delete or change anything outside
# (canary files).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BacSnapshotTest;
use BacGuarantee;

my $node = bac_node('hostile');
my $db = 'postgres';
$node->safe_psql($db, q{
CREATE ROLE team_a LOGIN;
CREATE ROLE team_b LOGIN;
CREATE SCHEMA sa AUTHORIZATION team_a;
CREATE SCHEMA sb AUTHORIZATION team_b;
CREATE TABLE sb.secret (k text PRIMARY KEY, v text);
INSERT INTO sb.secret VALUES ('k1', 'SECRETB-data-1'), ('k2', 'SECRETB-data-2'),
	('SECRETB-orphan-1', 'SECRETB-data-3'), ('SECRETB-orphan-2', 'SECRETB-data-4');
ALTER TABLE sb.secret OWNER TO team_b;
CREATE TABLE sa.a (id int PRIMARY KEY, b_k text);
INSERT INTO sa.a VALUES (1, 'k1'), (2, 'k2'), (3, 'missing-key');
ALTER TABLE sa.a OWNER TO team_a;
CREATE EXTENSION pg_bac;
GRANT USAGE ON SCHEMA bac TO team_a;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bac TO team_a;
GRANT SELECT ON bac.services, bac.links TO team_a;
SELECT bac.register_service('sa');
SELECT bac.register_service('sb');
SELECT bac.add_link('a_to_b', 'sa.a', '{b_k}', 'sb.secret', '{k}', orphans_matter => true);
});
my $archive = $node->data_dir . '/pg_bac';

my $snapB = $node->safe_psql($db,
	"SELECT snapshot_id FROM bac.snapshot('{sb}', label => 'SECRETB-label')");
my $snapAB = $node->safe_psql($db,
	"SELECT snapshot_id FROM bac.snapshot('{sa,sb}', label => 'SECRETB-both')");

# run SQL as a role; (ret, stdout, stderr)
sub as_role
{
	my ($role, $sql, $dbname) = @_;
	my ($out, $err) = ('', '');
	my $ret = $node->psql($dbname // $db, $sql,
		stdout => \$out, stderr => \$err,
		extra_params => [ '-U', $role ]);
	return ($ret, $out, $err);
}

# positive control: team_a acts on its own service
{
	my ($ret, $out, $err) = as_role('team_a',
		"SELECT snapshot_id FROM bac.snapshot('{sa}')");
	is($ret, 0, 'team_a snapshots its own service') or diag($err);
}
my $snapA = $node->safe_psql($db,
	"SELECT snapshot_id FROM bac.snapshots() WHERE services = '{sa}' ORDER BY 1 DESC LIMIT 1");
like($snapA, qr/^\d{8}T/, "team_a's snapshot is listed");

# Every call team_a may try against B.  'refuse': must fail;
# 'nothing of B': may succeed but must not show B's snapshots or data.
my @hostile = (
	[ 'snapshot', 'refuse', "SELECT * FROM bac.snapshot('{sb}')" ],
	[ 'snapshot', 'refuse', "SELECT * FROM bac.snapshot('{sa,sb}')" ],
	[ 'snapshot', 'nothing of B', "SELECT services FROM bac.snapshot(NULL)" ],
	[ 'snapshots', 'nothing of B', "SELECT * FROM bac.snapshots()" ],
	[ 'verify_snapshot', 'refuse', "SELECT * FROM bac.verify_snapshot('$snapB')" ],
	[ 'verify_snapshot', 'refuse', "SELECT * FROM bac.verify_snapshot('$snapAB')" ],
	[ 'restore', 'refuse', "SELECT * FROM bac.restore('$snapB', 'sb')" ],
	[ 'restore', 'refuse', "SELECT * FROM bac.restore('$snapB', 'sb', into_schema => 'sa_copy')" ],
	[ 'restore', 'refuse', "SELECT * FROM bac.restore('$snapB', 'sb', dry_run => true)" ],
	[ 'restore', 'refuse', "SELECT * FROM bac.restore('$snapAB', 'sb', into_schema => 'sb_copy')" ],
	# A's service from a snapshot that also holds B: only A's files are read
	[ 'restore', 'nothing of B', "SELECT * FROM bac.restore('$snapAB', 'sa', dry_run => true)" ],
	[ 'restore_group', 'refuse', "SELECT * FROM bac.restore_group('$snapB')" ],
	[ 'restore_group', 'nothing of B', "SELECT * FROM bac.restore_group('$snapAB', '{sa}', dry_run => true)" ],
	[ 'restore_group', 'refuse', "SELECT * FROM bac.restore_group('$snapAB', dry_run => true)" ],
	[ 'export', 'refuse', "SELECT * FROM bac.export('$snapB', 'sb')" ],
	[ 'export', 'refuse', "SELECT * FROM bac.export('$snapAB', 'sb', as_schema => 'sa')" ],
	[ 'drop_snapshot', 'refuse', "SELECT bac.drop_snapshot('$snapB')" ],
	[ 'drop_snapshot', 'refuse', "SELECT bac.drop_snapshot('$snapAB')" ],
	[ 'check_links', 'refuse', "SELECT * FROM bac.check_links('{sb}')" ],
	[ 'check_links', 'nothing of B', "SELECT * FROM bac.check_links('{sa}')" ],
	[ 'check_links', 'nothing of B', "SELECT * FROM bac.check_links()" ],
	[ 'schema_ddl', 'refuse', "SELECT bac.schema_ddl('sb')" ],
	[ 'group_ddl', 'refuse', "SELECT bac.group_ddl('{sb}')" ],
	[ 'group_ddl', 'refuse', "SELECT bac.group_ddl('{sa,sb}')" ],
	[ 'group_ddl', 'nothing of B', "SELECT bac.group_ddl('{sa}')" ],
	[ 'export_group', 'refuse', "SELECT * FROM bac.export_group('$snapB')" ],
	[ 'export_group', 'refuse', "SELECT * FROM bac.export_group('$snapAB')" ],
	[ 'export_group', 'refuse', "SELECT * FROM bac.export_group('$snapAB', '{sa,sb}')" ],
	[ 'export_group', 'nothing of B', "SELECT * FROM bac.export_group('$snapAB', '{sa}')" ],
	[ 'schema_ddl_info', 'refuse', "SELECT * FROM bac.schema_ddl_info('sb')" ],
	[ 'register_service', 'refuse', "SELECT bac.register_service('b_again', schema_name => 'sb')" ],
	[ 'register_service', 'refuse', "SELECT bac.register_service('b_owned', schema_name => 'sa', owner => 'team_b')" ],
	[ 'unregister_service', 'refuse', "SELECT bac.unregister_service('sb')" ],
	[ 'add_link', 'refuse', "SELECT bac.add_link('b_self', 'sb.secret', '{v}', 'sb.secret', '{k}')" ],
	[ 'drop_link', 'refuse', "SELECT bac.drop_link('a_to_b')" ],
	[ 'version', 'nothing of B', "SELECT bac.version()" ],
	[ 'services view', 'nothing of B', "SELECT * FROM bac.services" ],
	[ 'links view', 'nothing of B', "SELECT * FROM bac.links" ],
	# progress, the change archive (superuser only)
	[ 'progress view', 'nothing of B', "SELECT * FROM bac.progress" ],
	[ 'ddl_barrier', 'nothing of B', "SELECT bac.ddl_barrier()" ],
	[ 'enable_pitr', 'refuse', "SELECT * FROM bac.enable_pitr()" ],
	[ 'disable_pitr', 'refuse', "SELECT bac.disable_pitr()" ],
	[ 'pitr_pump', 'refuse', "SELECT bac.pitr_pump()" ],
	[ 'pitr_state', 'refuse', "SELECT * FROM bac.pitr_state()" ],
	[ 'pitr_status view', 'refuse', "SELECT * FROM bac.pitr_status" ],
	[ 'pitr_transactions', 'refuse', "SELECT * FROM bac.pitr_transactions()" ],
	[ 'pitr_prune', 'refuse', "SELECT * FROM bac.pitr_prune()" ],
	[ 'pitr_replay', 'refuse', "SELECT * FROM bac.pitr_replay('$snapB', 'sb', into_schema => 'sb_copy', target_lsn => '0/0')" ],
	[ 'restore', 'refuse', "SELECT * FROM bac.restore('sb', target_time => now())" ],
	[ 'restore_group_at', 'refuse', "SELECT * FROM bac.restore_group_at('{sb}', target_time => now())" ],
	# team_a's own restore: its report covers the link to B
	[ 'restore', 'nothing of B', "SELECT * FROM bac.restore('$snapA', 'sa', dry_run => true)" ],
	[ 'restore', 'nothing of B', "SELECT * FROM bac.restore('$snapA', 'sa', into_schema => 'sa_copy')" ],
	[ 'restore_group', 'nothing of B', "SELECT * FROM bac.restore_group('$snapA', dry_run => true)" ],
	[ 'export', 'nothing of B', "SELECT * FROM bac.export('$snapA', 'sa')" ],
	# schedules: only superusers manage them; progress shows own operations
	[ 'schedule', 'refuse', "SELECT bac.schedule('b_nightly', '0 3 * * *', '{sb}')" ],
	[ 'unschedule', 'refuse', "SELECT bac.unschedule('b_nightly')" ],
	[ 'run_schedule', 'refuse', "SELECT bac.run_schedule('b_nightly')" ],
	[ 'prune_schedule', 'refuse', "SELECT bac.prune_schedule('b_nightly')" ],
	[ 'cron_check', 'nothing of B', "SELECT bac.cron_check()" ],
	[ 'schedule_job', 'nothing of B', "SELECT * FROM bac.schedule_job(1)" ],
	[ 'schedules view', 'nothing of B', "SELECT * FROM bac.schedules" ],
	[ 'progress_rows', 'nothing of B', "SELECT * FROM bac.progress_rows()" ],
	# last: these drop team_a's own snapshots
	[ 'prune_snapshots', 'nothing of B', "SELECT bac.prune_snapshots(keep_last => 1)" ],
	[ 'prune_snapshots', 'nothing of B', "SELECT bac.prune_snapshots(older_than => '0 s')" ]);

my %called;
my $calls = 0;
for my $c (@hostile)
{
	my ($fn, $want, $sql) = @$c;
	$called{$fn} = 1;
	$calls++;
	my ($ret, $out, $err) = as_role('team_a', $sql);
	if ($want eq 'refuse')
	{
		isnt($ret, 0, "team_a refused: $sql");
		like($err, qr/permission denied|must be owner|already/, "the error is about privileges: $sql");
	}
	# B's snapshot ids may be echoed only where team_a named them
	my @ids = grep { index($sql, $_) < 0 } ($snapB, $snapAB);
	my $forbidden = join('|', 'SECRETB', map { quotemeta } @ids);
	unlike("$out\n$err", qr/$forbidden/,
		"no data, label or snapshot of B in what team_a sees: $sql");
}
# every function of the extension was called
{
	my @all = split /\n/, $node->safe_psql($db, q{
SELECT DISTINCT p.proname FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_bac' ORDER BY 1});
	my @missed = grep { !$called{$_} } @all;
	is_deeply(\@missed, [], 'every bac function was called by the hostile role');
}
is($node->safe_psql($db, "SELECT count(*) FROM bac.snapshots() WHERE snapshot_id IN ('$snapB', '$snapAB')"),
	'2', "B's snapshots are still there");
is($node->safe_psql($db, "SELECT count(*) FROM bac.verify_snapshot('$snapB') WHERE NOT ok"),
	'0', "B's snapshot is intact");
is($node->safe_psql($db, "SELECT string_agg(v, ',' ORDER BY k) FROM sb.secret"),
	'SECRETB-data-3,SECRETB-data-4,SECRETB-data-1,SECRETB-data-2', "B's table is unchanged");
is($node->safe_psql($db, q{SELECT count(*) FROM pg_namespace WHERE nspname IN ('sb_copy')}),
	'0', 'no copy of B was made');
is($node->safe_psql($db, "SELECT count(*) FROM bac.links WHERE link = 'a_to_b'"), '1',
	'the link between A and B is still declared');

# From a database team_a owns, with a schema it named like B's: the
# snapshot of B (taken in another database) must stay out of reach.
$node->safe_psql($db, 'CREATE DATABASE team_a_db OWNER team_a');
$node->safe_psql('team_a_db', q{
CREATE EXTENSION pg_bac;
GRANT USAGE ON SCHEMA bac TO team_a;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bac TO team_a;
});
{
	my ($ret, $out, $err) = as_role('team_a', 'CREATE SCHEMA sb', 'team_a_db');
	is($ret, 0, 'team_a creates a schema named sb in its own database') or diag($err);
	for my $sql ("SELECT * FROM bac.export('$snapB', 'sb')",
		"SELECT * FROM bac.restore('$snapB', 'sb', into_schema => 'stolen')",
		"SELECT * FROM bac.restore('$snapB', 'sb')",
		"SELECT * FROM bac.restore_group('$snapB')",
		"SELECT * FROM bac.verify_snapshot('$snapB')",
		"SELECT bac.drop_snapshot('$snapB')")
	{
		$calls++;
		($ret, $out, $err) = as_role('team_a', $sql, 'team_a_db');
		isnt($ret, 0, "from its own database, team_a is refused: $sql");
		unlike("$out\n$err", qr/SECRETB/, "and sees nothing of B: $sql");
	}
	is($node->safe_psql('team_a_db', q{SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('sb', 'stolen')}), '0', "no table of B appeared in team_a's database");
}
ok(-d "$archive/$snapB", "B's snapshot directory is still there");
# (if team_a managed to drop it, take another for the checks below)
$snapB = $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot('{sb}')")
  unless -d "$archive/$snapB";

# --- hostile names ---
my $outside_before = join("\n", sort(glob($node->basedir . '/*')));
my $long = 'x' x 10240;
my @bad_ids = ('../../../etc/passwd', '..', '/etc', "$snapB/../$snapB", "$snapB\n",
	"20261121T061500.123456Z/..", "../$snapB", $long, "a\nb", ".tmp-$snapB.1");
for my $id (@bad_ids)
{
	(my $lit = $id) =~ s/'/''/g;
	for my $sql ("SELECT * FROM bac.verify_snapshot('$lit')",
		"SELECT * FROM bac.restore('$lit', 'sb', dry_run => true)",
		"SELECT * FROM bac.restore_group('$lit', dry_run => true)",
		"SELECT * FROM bac.export('$lit', 'sb')",
		"SELECT bac.drop_snapshot('$lit')")
	{
		$calls++;
		my ($ret, $out, $err) = $node->psql($db, $sql);
		isnt($ret, 0, 'superuser refused for snapshot id ' . substr($id =~ s/\n/\\n/gr, 0, 40));
		like($err, qr/invalid snapshot id|does not exist/,
			'with a clear error for ' . substr($id =~ s/\n/\\n/gr, 0, 40));
	}
}
{
	my ($ret, $out, $err) = $node->psql($db, "SELECT * FROM bac.verify_snapshot(chr(0))");
	isnt($ret, 0, 'a NUL cannot reach a snapshot id');
	like($err, qr/null character not permitted/, 'PostgreSQL refuses it before pg_bac sees it');
	($ret, $out, $err) = $node->psql($db, "SELECT * FROM bac.snapshot(label => E'a\\\\000b' || chr(0))");
	isnt($ret, 0, 'nor a label');
}
ok(-d "$archive/$snapB", "B's snapshot survived the hostile ids");

# hostile labels and schema names
sub check_evil_snapshot
{
	my ($id) = @_;
	my @files = bac_files_of("$archive/$id");
	my @bad = grep { m{(^|/)\.\.(/|$)} || !m{^(manifest\.json|[a-z0-9_]+/|schema-\d+/)} } @files;
	is_deeply(\@bad, [], 'every file of the snapshot is a plain path in its directory');
	is($node->safe_psql($db, "SELECT count(*) FROM bac.verify_snapshot('$id') WHERE NOT ok"), '0',
		'and it verifies');
	my $n = 0;
	for my $i (1 .. 5)
	{
		$node->safe_psql($db, "SELECT count(*) FROM bac.restore('$id', 'evil$i', into_schema => 'evil_copy_$i')");
		$n += $node->safe_psql($db, "SELECT count(*) FROM evil_copy_$i.t WHERE id = $i");
		$node->safe_psql($db, "DROP SCHEMA evil_copy_$i CASCADE");
	}
	is($n, 5, 'every hostile-named schema restores under another name');
}
my @evil_schemas = ('../evil', 'ev/il', "ev\nil", '..', ('e' x 63));
{
	my $i = 0;
	for my $s (@evil_schemas)
	{
		$i++;
		(my $lit = $s) =~ s/'/''/g;
		$node->safe_psql($db, qq{
CREATE SCHEMA "$s";
CREATE TABLE "$s".t (id int, v text);
INSERT INTO "$s".t VALUES ($i, 'evil');
SELECT bac.register_service('evil$i', schema_name => '$lit');});
	}
	my $svc10k = 'S' x 10240;
	my ($ret, $out, $err) = $node->psql($db, "SELECT bac.register_service('$svc10k')");
	$node->safe_psql($db, "CREATE SCHEMA evlong") if $ret != 0;
	my @labels = ('../../evil-label', "/tmp/evil\nlabel", $long);
	for my $l (@labels)
	{
		(my $lit = $l) =~ s/'/''/g;
		my $show = substr($l =~ s/\n/\\n/gr, 0, 30);
		my ($ret, $id, $err) = $node->psql($db, qq{
SELECT snapshot_id FROM bac.snapshot(ARRAY['evil1','evil2','evil3','evil4','evil5']::name[], label => '$lit', compression => 'zstd')});
		$calls++;
		if ($ret != 0)
		{
			# refusing is fine, with a clear error and nothing written
			like($err, qr/ERROR:  label /, "a hostile label is refused clearly: $show");
			next;
		}
		like($id, qr/^\d{8}T\d{6}\.\d{6}Z$/, "snapshot with a hostile label $show");
		is($node->safe_psql($db, "SELECT label = '$lit' FROM bac.snapshots() WHERE snapshot_id = '$id'"),
			't', 'the label comes back unchanged');
		check_evil_snapshot($id);
	}
	my $id = $node->safe_psql($db, q{
SELECT snapshot_id FROM bac.snapshot(ARRAY['evil1','evil2','evil3','evil4','evil5']::name[], workers => 2)});
	check_evil_snapshot($id);
	my $outside_after = join("\n", sort(glob($node->basedir . '/*')));
	is($outside_after, $outside_before, 'nothing appeared beside the data directory');
	my @stray = grep { !/^(\d{8}T\d{6}\.\d{6}Z)$/ } map { s{.*/}{}r } glob("$archive/* $archive/.*");
	@stray = grep { $_ ne '.' && $_ ne '..' } @stray;
	is_deeply(\@stray, [], 'the archive directory holds snapshot directories only');
	ok(!-e '/tmp/evil' && !-e $node->data_dir . '/evil' && !-e $node->data_dir . '/../evil',
		'no file named after a hostile name outside the archive');
}

# --- planted links ---
my $outside = PostgreSQL::Test::Utils::tempdir();
my $canary = "$outside/canary";
spew($canary, "canary\n");
my $links = 0;

# check that the outside files survived; $what names the plant
sub canaries_alive
{
	my ($what) = @_;
	ok(-f $canary && slurp($canary) eq "canary\n", "$what: the canary outside survived");
}

# a snapshot directory to play with: copy of snapAB
sub fresh_snapshot
{
	return $node->safe_psql($db, "SELECT snapshot_id FROM bac.snapshot('{sa,sb}')");
}

# restore, export and verify must refuse the snapshot
sub refuses_to_read
{
	my ($id, $what, $bad) = @_;
	my ($ret, $out, $err) = $node->psql($db,
		"SELECT count(*) FROM bac.restore('$id', 'sb', into_schema => 'through_link')");
	isnt($ret, 0, "$what: restore refuses");
	($ret, $out, $err) = $node->psql($db, "SELECT * FROM bac.export('$id', 'sb')");
	isnt($ret, 0, "$what: export refuses");
	unlike($out, qr/root:|SECRETB/, "$what: export returned nothing read through the link");
	($ret, $out, $err) = $node->psql($db,
		"SELECT file FROM bac.verify_snapshot('$id') WHERE NOT ok");
	ok($ret != 0 || $out =~ /\Q$bad\E/, "$what: verify reports $bad");
	unlike($err, qr/root:/, "$what: no error shows the target's content");
}

{
	# 1. a symlink named like a snapshot, to a directory outside
	mkdir "$outside/fake" or die;
	spew("$outside/fake/canary", "canary\n");
	my $fake = '20200101T000000.000000Z';
	symlink("$outside/fake", "$archive/$fake") or die "symlink: $!";
	$links++;
	my ($ret, $out, $err) = $node->psql($db, "SELECT count(*) FROM bac.snapshots() WHERE snapshot_id = '$fake'");
	is($out, '0', 'a symlink named like a snapshot is not listed');
	($ret, $out, $err) = $node->psql($db, "SELECT bac.drop_snapshot('$fake')");
	($ret, $out, $err) = $node->psql($db, "SELECT bac.prune_snapshots(keep_last => 100)");
	ok(-f "$outside/fake/canary", 'drop_snapshot and prune never delete through a snapshot-named symlink');
	unlink "$archive/$fake";

	# 2. a symlink named like a stale temporary directory, to a directory outside
	mkdir "$outside/tmpdir" or die;
	spew("$outside/tmpdir/canary", "canary\n");
	symlink("$outside/tmpdir", "$archive/.tmp-20200101T000000.000000Z.99999") or die "symlink: $!";
	$links++;
	fresh_snapshot();
	$node->safe_psql($db, 'SELECT count(*) FROM bac.snapshots()');
	ok(-f "$outside/tmpdir/canary", 'cleaning stale temporary directories never deletes through a symlink');
	unlink "$archive/.tmp-20200101T000000.000000Z.99999";

	# 3. a data file replaced by a symlink to a copy outside (same bytes)
	my $id = fresh_snapshot();
	my ($file) = grep { m{/data/} && m{^sb/} } bac_files_of("$archive/$id");
	system('cp', "$archive/$id/$file", "$outside/datafile") == 0 or die;
	unlink "$archive/$id/$file";
	symlink("$outside/datafile", "$archive/$id/$file") or die;
	$links++;
	refuses_to_read($id, 'data file symlinked to an identical copy outside', $file);

	# 4. the same file as a symlink to /etc/passwd
	unlink "$archive/$id/$file";
	symlink('/etc/passwd', "$archive/$id/$file") or die;
	$links++;
	refuses_to_read($id, 'data file symlinked to /etc/passwd', $file);
	$node->psql($db, "SELECT bac.drop_snapshot('$id')");
	ok(-f '/etc/passwd', 'drop_snapshot removed the link, not /etc/passwd');
	ok(-f "$outside/datafile", 'nor the copy outside');

	# 5. a data file replaced by a hard link to a file outside (same
	# bytes): the bytes are the snapshot's own (checksummed), so reading is
	# allowed; changing or deleting the outside file is not
	$id = fresh_snapshot();
	system('cp', "$archive/$id/$file", "$outside/hardlinked") == 0 or die;
	unlink "$archive/$id/$file";
	link("$outside/hardlinked", "$archive/$id/$file") or die "link: $!";
	$links++;
	my $hl = slurp("$outside/hardlinked");
	$node->psql($db, "SELECT count(*) FROM bac.restore('$id', 'sb', into_schema => 'through_link')");
	$node->psql($db, "DROP SCHEMA IF EXISTS through_link CASCADE");
	$node->psql($db, "SELECT bac.drop_snapshot('$id')");
	ok(-f "$outside/hardlinked" && slurp("$outside/hardlinked") eq $hl,
		'restoring and dropping the snapshot left the hard-linked file outside as it was');
	# a hard link into another snapshot: dropping one leaves the other whole
	$id = fresh_snapshot();
	my $id2 = fresh_snapshot();
	unlink "$archive/$id2/$file";
	link("$archive/$id/$file", "$archive/$id2/$file") or die "link: $!";
	$links++;
	$node->psql($db, "SELECT bac.drop_snapshot('$id2')");
	is($node->safe_psql($db, "SELECT count(*) FROM bac.verify_snapshot('$id') WHERE NOT ok"), '0',
		'dropping a snapshot hard-linked to another leaves the other intact');

	# 6. a schema directory replaced by a symlink to a copy outside
	$id = fresh_snapshot();
	system('cp', '-a', "$archive/$id/sb", "$outside/sbdir") == 0 or die;
	system('rm', '-rf', "$archive/$id/sb") == 0 or die;
	symlink("$outside/sbdir", "$archive/$id/sb") or die;
	spew("$outside/sbdir/canary", "canary\n");
	$links++;
	refuses_to_read($id, 'schema directory symlinked to a copy outside', 'sb/');
	$node->psql($db, "SELECT bac.drop_snapshot('$id')");
	ok(-f "$outside/sbdir/canary" && -f "$outside/sbdir/pre-data.sql",
		'dropping the snapshot deleted nothing inside the linked directory');

	# 7. a whole snapshot directory moved outside, a symlink left in its place
	$id = fresh_snapshot();
	system('mv', "$archive/$id", "$outside/snapdir") == 0 or die;
	symlink("$outside/snapdir", "$archive/$id") or die;
	spew("$outside/snapdir/canary", "canary\n");
	$links++;
	refuses_to_read($id, 'snapshot directory symlinked to outside', 'manifest');
	$node->psql($db, "SELECT bac.drop_snapshot('$id')");
	$node->psql($db, "SELECT bac.prune_snapshots(keep_last => 100)");
	fresh_snapshot();
	ok(-f "$outside/snapdir/canary" && -f "$outside/snapdir/manifest.json",
		'drop, prune and the next snapshot deleted nothing in the linked directory');
	canaries_alive('all plants');
}

cmp_ok($calls, '>=', 80, "hostile callers: $calls hostile calls, $links planted links");
diag("counts: hostile callers: $calls hostile calls, $links planted links");

$node->stop;
done_testing();
