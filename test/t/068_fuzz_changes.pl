# test/t/068_fuzz_changes.pl: the small variant of the change archive
# fuzzing that make stress runs (test/stress/fuzz_changes.pl): mutated
# change segments and segment indexes (BAC_FUZZ_CHANGES_INPUTS, default
# 100) against a normal server.  Fails on a crash or a hang.
use strict;
use warnings;
# loaded here, at compile time: their INIT blocks set up the test run
use PostgreSQL::Test::Utils;
use PostgreSQL::Test::Cluster;

$ENV{BAC_FUZZ_CHANGES_INPUTS} //= 100;
$ENV{BAC_FUZZ_CHANGES_VALGRIND_INPUTS} = 0;
my $fuzz = './test/stress/fuzz_changes.pl';
unless (my $ok = do $fuzz)
{
	die "$fuzz: $@" if $@;
	die "$fuzz: $!" unless defined $ok;
}
