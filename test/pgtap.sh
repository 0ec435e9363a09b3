#!/usr/bin/env bash
# test/pgtap.sh - run the pgTAP suites (test/pgtap/*.sql) with pg_prove
# against the server named by PGHOST/PGPORT, each in a fresh database.
set -euo pipefail
cd "$(dirname "$0")/.."

db=pgtap_regression
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
psql -X -q -d "$db" -c "CREATE EXTENSION pgtap" >/dev/null
pg_prove -d "$db" --ext .sql test/pgtap/
