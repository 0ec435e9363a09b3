#!/usr/bin/env bash
# test/bench_check_links.sh - benchmark of bac.check_links on 10 million
# referencing rows (not a timed test; prints the figures).
#
# Fixture, known by construction:
#   bench_customers.customer(id bigint PRIMARY KEY): ids 1 .. 1,000,000
#   bench_orders.orders(id bigint PRIMARY KEY, customer_id bigint), 10,000,000 rows:
#     rows 1 .. 9,800,000          customer_id = ((id - 1) % 800,000) + 1  (all of 1..800,000)
#     rows 9,800,001 .. 9,900,000  customer_id NULL        (100,000, not broken)
#     rows 9,900,001 .. 10,000,000 customer_id = 1,000,000 + id  (100,000 broken)
#   => broken = 100,000, orphaned = 200,000 (customers 800,001 .. 1,000,000)
#
# Runs against the server named by PGHOST/PGPORT if PGPORT is set (pg_bac
# must be installed there); otherwise in a throw-away cluster made by
# pg_virtualenv (as user postgres when run as root).
#   BENCH_ROWS=10000000 (scale the referencing rows; the shape stays)
#   BENCH_INDEX=1       (index orders.customer_id; 0 = no index)
#   BENCH_EXPLAIN=0     (1: also print the plans of check_links' queries)
set -euo pipefail

if [ -z "${PGPORT:-}" ]; then
	self=$(readlink -f "$0")
	if [ "$(id -u)" -eq 0 ]; then
		exec runuser -u postgres -- env BENCH_ROWS="${BENCH_ROWS:-}" BENCH_INDEX="${BENCH_INDEX:-}" \
			BENCH_EXPLAIN="${BENCH_EXPLAIN:-}" \
			pg_virtualenv -v 15 -o fsync=off bash "$self"
	fi
	exec pg_virtualenv -v 15 -o fsync=off bash "$self"
fi

rows=${BENCH_ROWS:-10000000}
index=${BENCH_INDEX:-1}
# the shape: 98% valid references covering 8% .. of the customers, 1% NULL, 1% broken
valid=$((rows * 98 / 100))
nulls=$((rows / 100))
broken=$((rows - valid - nulls))
customers=$((rows / 10))
covered=$((customers * 8 / 10))
[ "$covered" -le "$valid" ] || { echo "BENCH_ROWS too small"; exit 1; }
orphans=$((customers - covered))

db=bac_bench
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"

echo "fixture: $rows referencing rows, $customers customers (index on customer_id: $index)"
t0=$(date +%s.%N)
psql -d $db >/dev/null <<EOF
SET client_min_messages = warning;
CREATE EXTENSION pg_bac;
SELECT bac.register_service('customers', 'bench_customers');
SELECT bac.register_service('orders', 'bench_orders');
CREATE TABLE bench_customers.customer (id bigint PRIMARY KEY, name text);
CREATE UNLOGGED TABLE bench_orders.orders (id bigint PRIMARY KEY, customer_id bigint, amount int);
INSERT INTO bench_customers.customer SELECT g, 'customer ' || g FROM generate_series(1, $customers) g;
INSERT INTO bench_orders.orders
SELECT g,
       CASE WHEN g <= $valid THEN ((g - 1) % $covered) + 1
            WHEN g <= $valid + $nulls THEN NULL
            ELSE $customers + g END,
       g % 1000
  FROM generate_series(1, $rows) g;
$( [ "$index" = 1 ] && echo "CREATE INDEX ON bench_orders.orders (customer_id);" )
VACUUM ANALYZE bench_customers.customer;
VACUUM ANALYZE bench_orders.orders;
SELECT bac.add_link('orders_customer', 'bench_orders.orders', '{customer_id}',
                    'bench_customers.customer', '{id}', orphans_matter => true);
EOF
t1=$(date +%s.%N)
printf "fixture built in %.1f s\n" "$(echo "$t1 - $t0" | bc)"

out=$(psql -d $db -At -F ' ' <<'EOF'
\timing on
SELECT broken, orphaned, sample FROM bac.check_links();
EOF
)
echo "$out"
ms=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
read -r got_broken got_orphaned _ <<<"$(echo "$out" | head -n 1)"
printf "bac.check_links on %d rows: %.2f s wall (broken %s, orphaned %s)\n" \
	"$rows" "$(echo "$ms / 1000" | bc -l)" "$got_broken" "$got_orphaned"

# BENCH_EXPLAIN=1: show the plans (and actual row counts) of the queries
# check_links runs, through auto_explain, in a second, untimed call
if [ "${BENCH_EXPLAIN:-0}" = 1 ]; then
	psql -d $db <<'EOF'
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on;
SET auto_explain.log_level = notice;
SET client_min_messages = notice;
SELECT link, broken, orphaned FROM bac.check_links();
EOF
fi

psql -d postgres -c "DROP DATABASE $db"
if [ "$got_broken" != "$broken" ] || [ "$got_orphaned" != "$orphans" ]; then
	echo "FAIL: expected broken $broken, orphaned $orphans"
	exit 1
fi
echo "ok: counts match the construction (broken $broken, orphaned $orphans)"
