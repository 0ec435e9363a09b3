#!/usr/bin/env bash
# test/bench.sh - `make bench`: not built yet.
echo "make bench: not yet - the benchmark has not been built; see README.md" >&2
exit 1
