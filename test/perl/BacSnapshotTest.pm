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
sub bac_register
{
	my ($node, $db, @services) = @_;
	$node->safe_psql($db, 'CREATE EXTENSION IF NOT EXISTS pg_bac');
	for my $s (@services)
	{
		$node->safe_psql($db, "SELECT bac.register_service('$s')");
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
