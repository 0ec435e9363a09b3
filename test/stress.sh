#!/usr/bin/env bash
# test/stress.sh - what `make stress` runs: the long variants, through
# test/run-tests.sh (same build, install lock, postgres user and small
# filesystem):
#   - every crash moment of snapshot and restore (BAC_CRASH_MOMENTS=full),
#   - many random cancels (BAC_CANCELS, default 60),
#   - the saga soak (BAC_SOAK_SECONDS, default 600),
#   - fuzzing of archive content (BAC_FUZZ_INPUTS, default 3000), then
#     more inputs against a server under valgrind memcheck
#     (BAC_FUZZ_VALGRIND_INPUTS, default 300),
#   - fuzzing of the change archive's segments and indexes
#     (BAC_FUZZ_CHANGES_INPUTS, default 2000), then under valgrind
#     (BAC_FUZZ_CHANGES_VALGRIND_INPUTS, default 100),
#   - the randomized fidelity tests with many seeds: single-schema
#     (BAC_RANDOM_SEEDS, default 5000) and multi-schema groups
#     (BAC_RANDOM_GROUP_SEEDS, default 1000),
#   - point-in-time restore to many paused instants of the saga workload
#     (BAC_PITR_INSTANTS, default 10, BAC_PITR_PHASE_SECONDS, default 4).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export BAC_CRASH_MOMENTS=full
export BAC_CANCELS=${BAC_CANCELS:-60}
export BAC_SOAK_SECONDS=${BAC_SOAK_SECONDS:-600}
export BAC_FUZZ_INPUTS=${BAC_FUZZ_INPUTS:-3000}
export BAC_FUZZ_VALGRIND_INPUTS=${BAC_FUZZ_VALGRIND_INPUTS:-300}
export BAC_FUZZ_CHANGES_INPUTS=${BAC_FUZZ_CHANGES_INPUTS:-2000}
export BAC_FUZZ_CHANGES_VALGRIND_INPUTS=${BAC_FUZZ_CHANGES_VALGRIND_INPUTS:-100}
export BAC_RANDOM_SEEDS=${BAC_RANDOM_SEEDS:-5000}
export BAC_RANDOM_GROUP_SEEDS=${BAC_RANDOM_GROUP_SEEDS:-1000}
export BAC_PITR_INSTANTS=${BAC_PITR_INSTANTS:-10}
export BAC_PITR_PHASE_SECONDS=${BAC_PITR_PHASE_SECONDS:-4}
export BAC_SUITES=tap
export BAC_TAP_TESTS=${BAC_STRESS_TESTS:-"test/t/062_snapshot_crash.pl test/t/063_restore_crash_moments.pl test/t/065_concurrency.pl test/stress/fuzz.pl test/stress/fuzz_changes.pl test/stress/soak.pl test/t/022_ddl_random.pl test/t/024_ddl_random_group.pl test/t/074_pitr_time_targets.pl"}
exec bash test/run-tests.sh
