# test/perl/BacSnapshotTest.pm: helpers shared by the snapshot TAP tests
package BacSnapshotTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(bac_node bac_register bac_files_of);

# A started node that can run parallel workers.
sub bac_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%opts);
	$node->append_conf('postgresql.conf', qq{
max_worker_processes = 16
max_parallel_workers = 8
});
	$node->start;
	return $node;
}

# CREATE EXTENSION and register services (one schema each, same name).
# Until the registry lands in main, bac.service is created here when the
# extension does not have it (a test fixture, never part of the extension).
sub bac_register
{
	my ($node, $db, @services) = @_;
	$node->safe_psql($db, q{
CREATE EXTENSION IF NOT EXISTS pg_bac;
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS bac.service (service name PRIMARY KEY,
  schema_name name NOT NULL UNIQUE, owner regrole, service_group name,
  registered_at timestamptz DEFAULT now());
});
	for my $s (@services)
	{
		$node->safe_psql($db,
			"INSERT INTO bac.service (service, schema_name) VALUES ('$s', '$s')");
	}
}

# Every file of a snapshot directory, relative to it, sorted.
sub bac_files_of
{
	my ($dir) = @_;
	my @files;
	my @todo = ('');
	while (@todo)
	{
		my $rel = shift @todo;
		my $abs = $rel eq '' ? $dir : "$dir/$rel";
		opendir(my $dh, $abs) or die "opendir $abs: $!";
		for my $e (sort grep { $_ ne '.' && $_ ne '..' } readdir $dh)
		{
			my $r = $rel eq '' ? $e : "$rel/$e";
			if (-d "$dir/$r") { push @todo, $r; }
			else { push @files, $r; }
		}
		closedir $dh;
	}
	return sort @files;
}

1;
