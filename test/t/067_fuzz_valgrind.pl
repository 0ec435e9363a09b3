# test/t/067_fuzz_valgrind.pl: the small variant of the fuzzing under
# valgrind memcheck that make stress runs (test/stress/fuzz.pl): a few
# mutated inputs (BAC_FUZZ_VALGRIND_INPUTS, default 3) against a server
# running under valgrind, no normal-server round.  Fails on a crash, a
# hang, or a valgrind error report with a frame in our code (src/*.c).
use strict;
use warnings;
# loaded here, at compile time: their INIT blocks set up the test run
use PostgreSQL::Test::Utils;
use PostgreSQL::Test::Cluster;

$ENV{BAC_FUZZ_INPUTS} = 0;
$ENV{BAC_FUZZ_VALGRIND_INPUTS} //= 3;
my $fuzz = './test/stress/fuzz.pl';
unless (my $ok = do $fuzz)
{
	die "$fuzz: $@" if $@;
	die "$fuzz: $!" unless defined $ok;
}
