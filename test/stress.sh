#!/bin/bash
# test/stress.sh: the long variants of the randomized fidelity tests, for
# "make stress" (make test runs 300 single-schema and 100 group seeds).
#
#   BAC_RANDOM_SEEDS        single-schema seeds (test/t/022), default 5000
#   BAC_RANDOM_GROUP_SEEDS  multi-schema group seeds (test/t/024), default 1000
set -euo pipefail
cd "$(dirname "$0")/.."
export BAC_RANDOM_SEEDS=${BAC_RANDOM_SEEDS:-5000}
export BAC_RANDOM_GROUP_SEEDS=${BAC_RANDOM_GROUP_SEEDS:-1000}
export BAC_SUITES=tap
export BAC_TAP_TESTS="test/t/022_ddl_random.pl test/t/024_ddl_random_group.pl"
exec bash test/run-tests.sh
