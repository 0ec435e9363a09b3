#!/usr/bin/env bash
# test/demo.sh - `make demo`: not built yet (see issue "make demo").
echo "make demo: not yet - the demo has not been built; see README.md" >&2
exit 1
