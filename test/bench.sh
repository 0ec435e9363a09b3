#!/usr/bin/env bash
# test/bench.sh - `make bench`: pg_bac against pg_dump and pg_restore, same
# data, same run, on a throw-away cluster.
#
# Loads the four-service fixture at bench scale (>= 500 MB across the four
# services), then times, one run each (the sizes make single runs
# meaningful):
#
#   backup:  pg_dump -Fp, pg_dump -Fd -j2 (default compression and -Z0) of
#            the four schemas, against bac.snapshot(workers => 1) and
#            (workers => 2); peak memory of pg_dump (/usr/bin/time) and of
#            the backend that ran bac.snapshot (VmHWM, which counts the
#            shared buffers it touched too);
#   restore: the largest service, pg_restore -j1 and -j2 of a pg_dump -Fd
#            of its schema (into a dropped schema) against bac.restore in
#            place of the snapshot taken with workers => 2; pg_restore
#            also with the maintenance_work_mem bac.restore gives its
#            index builds (bac.restore_maintenance_work_mem), as extra
#            rows;
#   load:    bac.snapshot(workers => 2) while the saga workload runs, with
#            the workload's throughput during it against its baseline.
#
# Prints wall times and ratios.  Steps that need a pg_bac function that is
# not there yet print "not available yet" and make the script exit 1.
#
# Also, for the restore (issue 11): the breakdown of every bac.restore
# (verify, pre-data, load, post-data, report, from its DEBUG1 messages) and its
# backend's peak private memory (RssAnon); restores from a zstd and an lz4
# snapshot of the service; the throughput of writers of the other services
# during a restore against before it; restore locality (service customer
# restored with the other services empty, then holding BENCH_LOCALITY_MB,
# each BENCH_REPEAT times from a snapshot taken just before, best run);
# backend private memory restoring 1 M and 10 M rows of one table; and the
# issue's targets, met or missed.
#
# Environment: BENCH_SCALE (thousands of customers, default 240, about
# 545 MB), BENCH_LOCALITY_MB (default 500; 2048 for the issue's 2 GB
# variant, which takes minutes more; 0 skips), BENCH_MEM_ROWS (default
# "1000000 10000000"; empty skips), BENCH_PERF=1 (profile every
# bac.restore's backend with perf and print the top symbols),
# BENCH_PERF_DIR (a directory the cluster owner can write: the profiles
# and NOTICE logs are copied there), BENCH_REPEAT (default 3: pg_restore
# -j1, -j2 and bac.restore in place and into an empty schema take turns
# this many times, the table shows each one's best run), BAC_KEEP=1 keeps
# the cluster.  BENCH_PARTS (default "backup restore load locality
# memory") runs only the parts named (the table and targets then show what
# was measured; restore and load take a snapshot of their own when backup
# is left out).  BENCH_RESTORE_MWM (e.g. 128MB) sets
# bac.restore_maintenance_work_mem for the bench database (default: the
# server's setting, 0: the restores keep maintenance_work_mem).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" != --inner ]; then
	# shellcheck source=test/demo-lib.sh
	source "$root/test/demo-lib.sh"
	BAC_PASS_ENV="BENCH_SCALE BENCH_PERF BENCH_PERF_DIR BENCH_LOCALITY_MB BENCH_MEM_ROWS BENCH_REPEAT BENCH_PARTS BENCH_RESTORE_MWM"
	bac_outer test/bench.sh bench time
fi

# ---- inner part: as the owner of the throw-away cluster
BAC_TMP=$2
BAC_TESTDIR=$root/test
# shellcheck source=test/demo-lib.sh
source "$root/test/demo-lib.sh"
cd "$BAC_TMP" || exit 1

SCALE=${BENCH_SCALE:-240}
REPEAT=${BENCH_REPEAT:-3}
DB=bench
missing=()
failed=0
trap 'bac_load_stop; bac_watch_stop' EXIT

PARTS=" ${BENCH_PARTS:-backup restore load locality memory} "
# part NAME: is NAME among the parts to run?
part()
{
	[[ $PARTS == *" $1 "* ]]
}

fail()
{
	bac_say "FAILED: $*"
	failed=1
}

need()
{
	local f
	for f in "$@"; do
		if ! BAC_DB=$DB bac_has "$f"; then
			bac_say "bac.$f: not available yet (not in this build of pg_bac)"
			missing+=("bac.$f")
			return 1
		fi
	done
	return 0
}

# results, in order: "label|seconds|extra"
results=()
# result LABEL SECONDS [EXTRA]: record a timing; a label timed again
# (BENCH_REPEAT) keeps its best run
result()
{
	local i r
	bac_say "$1: $2 s${3:+ ($3)}"
	for i in "${!results[@]}"; do
		r=${results[$i]}
		if [ "${r%%|*}" = "$1" ]; then
			r=${r#*|}
			awk -v a="$2" -v b="${r%%|*}" 'BEGIN { exit !(a < b) }' &&
				results[$i]="$1|$2|${3:-}"
			return
		fi
	done
	results+=("$1|$2|${3:-}")
}

# timed LABEL COMMAND...: run COMMAND under /usr/bin/time, record its wall
# time and peak resident memory
timed()
{
	local label=$1
	shift
	/usr/bin/time -f '%e %M' -o "$BAC_TMP/time.out" "$@" || { fail "$label"; return 1; }
	local secs kb
	read -r secs kb <"$BAC_TMP/time.out"
	result "$label" "$secs" "peak RSS $((kb / 1024)) MB"
}

# snapshot_timed LABEL WORKERS: bac.snapshot in a psql session that also
# reads its backend's VmHWM afterwards; sets SNAP_ID
snapshot_timed()
{
	local label=$1 workers=$2 t0 out
	t0=$(bac_now)
	out=$(bac_psql "$DB" -F ' ' <<EOF
SET client_min_messages = warning;
SELECT pg_catalog.pg_backend_pid() AS pid \gset
\setenv BAC_BACKEND_PID :pid
SELECT snapshot_id, bytes FROM bac.snapshot(label => '$label', workers => $workers);
\! awk '/VmHWM/ { print \$2 }' /proc/\$BAC_BACKEND_PID/status
EOF
	) || { fail "$label"; return 1; }
	local secs
	secs=$(bac_elapsed "$t0")
	local id bytes hwm
	read -r id bytes <<<"$(sed -n 1p <<<"$out")"
	hwm=$(sed -n 2p <<<"$out")
	SNAP_ID=$id
	result "$label" "$secs" "$((bytes / 1048576)) MB written, backend VmHWM $((hwm / 1024)) MB"
}

echo "== cluster in $BAC_TMP"
bac_cluster_start "$BAC_TMP" "max_worker_processes = 16" || bac_die "cluster start"

t0=$(bac_now)
bac_say "loading the four services at scale $SCALE"
bac_fixture_load "$DB" "$SCALE"
case $? in
	0) ;;
	2) need register_service add_link; fail "services cannot be registered" ;;
	*) bac_die "fixture load" ;;
esac
bac_psql "$DB" -c CHECKPOINT
bac_say "loaded in $(bac_elapsed "$t0") s"
total=0
largest=""
while read -r nsp bytes; do
	printf '    %-10s %6d MB\n' "$nsp" $((bytes / 1048576))
	total=$((total + bytes))
	[ -n "$largest" ] || largest=$nsp
done < <(bac_service_bytes "$DB")
printf '    %-10s %6d MB\n' total $((total / 1048576))
[ "$total" -ge $((500 * 1048576)) ] ||
	bac_say "note: less than 500 MB (BENCH_SCALE=$SCALE); the issue asks for >= 500 MB"

schemas=(-n customer -n product -n '"order"' -n shipment)

SNAP_ID=""
if part backup; then
echo
echo "== backup of the four services (no other load)"
timed "pg_dump -Fp" "$BAC_BINDIR/pg_dump" -Fp "${schemas[@]}" -f "$BAC_TMP/dump.sql" "$DB"
timed "pg_dump -Fd -j2" "$BAC_BINDIR/pg_dump" -Fd -j2 "${schemas[@]}" -f "$BAC_TMP/dump.d" "$DB"
timed "pg_dump -Fd -j2 -Z0" "$BAC_BINDIR/pg_dump" -Fd -j2 -Z0 "${schemas[@]}" \
	-f "$BAC_TMP/dump0.d" "$DB"
for d in dump.sql dump.d dump0.d; do
	bac_say "$d: $(du -sm "$BAC_TMP/$d" | cut -f1) MB"
done
rm -rf "$BAC_TMP/dump.sql" "$BAC_TMP/dump.d" "$BAC_TMP/dump0.d"
if need snapshot; then
	snapshot_timed "bac.snapshot(workers => 1)" 1
	snapshot_timed "bac.snapshot(workers => 2)" 2
fi
elif need snapshot; then
	SNAP_ID=$(bac_psql "$DB" -c "SET client_min_messages = warning" \
		-c "SELECT snapshot_id FROM bac.snapshot(label => 'bench', workers => 2)")
fi

q=$largest
[ "$largest" = order ] && q='"order"'
if part restore; then
echo
echo "== restore of the largest service, $largest"
"$BAC_BINDIR/pg_dump" -Fd -j2 -n "$q" -f "$BAC_TMP/largest.d" "$DB" || fail "pg_dump of $largest"
rows_before=$(bac_psql "$DB" -c "SELECT string_agg(c.relname || '=' || (xpath('/row/n/text()',
		query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text, ' ' ORDER BY c.relname)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = '$largest' AND c.relkind = 'r'")
bac_say "rows: $rows_before"
fi
# the maintenance_work_mem bac.restore raises its post-data to
# (bac.restore_maintenance_work_mem; empty when it leaves it as it is)
RESTORE_MWM=""
if [ -n "${BENCH_RESTORE_MWM:-}" ]; then
	bac_psql "$DB" -c "SELECT bac.version()" \
		-c "ALTER DATABASE $DB SET bac.restore_maintenance_work_mem = '$BENCH_RESTORE_MWM'" >/dev/null ||
		fail "bac.restore_maintenance_work_mem = $BENCH_RESTORE_MWM"
fi
if part restore && BAC_DB=$DB bac_has restore; then
	RESTORE_MWM=$(bac_psql "$DB" -c "SELECT bac.version()" -c "SELECT CASE WHEN s.v > 0 AND s.v > m.v
			THEN pg_catalog.current_setting('bac.restore_maintenance_work_mem') END
		FROM (SELECT setting::pg_catalog.int8 AS v FROM pg_catalog.pg_settings
				WHERE name = 'bac.restore_maintenance_work_mem') s,
			(SELECT setting::pg_catalog.int8 AS v FROM pg_catalog.pg_settings
				WHERE name = 'maintenance_work_mem') m" 2>/dev/null | tail -n 1)
	[ -z "$RESTORE_MWM" ] || bac_say "bac.restore builds its indexes with maintenance_work_mem" \
		"$RESTORE_MWM; pg_restore runs with the server's default and with that too"
fi
# pg_restores: pg_restore -j1 and -j2 of the dump, each into a dropped
# schema; then, when bac.restore raises maintenance_work_mem for its
# index builds, both again with the same maintenance_work_mem (extra rows:
# the targets stay against pg_restore with the server's default)
pg_restores()
{
	local j m
	for m in "" ${RESTORE_MWM:+"$RESTORE_MWM"}; do
		for j in 1 2; do
			bac_psql "$DB" -c "SET client_min_messages = warning" -c "DROP SCHEMA $q CASCADE" ||
				fail "drop $largest"
			bac_psql "$DB" -c CHECKPOINT
			if [ -z "$m" ]; then
				timed "pg_restore -j$j" "$BAC_BINDIR/pg_restore" -j"$j" -d "$DB" "$BAC_TMP/largest.d"
			else
				PGOPTIONS="-c maintenance_work_mem=$m" timed "pg_restore -j$j, maintenance_work_mem $m" \
					"$BAC_BINDIR/pg_restore" -j"$j" -d "$DB" "$BAC_TMP/largest.d"
			fi
		done
	done
}
# breakdown LOG TOTAL: the phases of a restore from its NOTICEs in LOG:
# "verify V, pre-data P, load L, post-data S, report R (x % of the
# total), other O" (O: the rest of TOTAL, e.g. locking, moving aside,
# dropping the old schema; verify is part of other when the restore does
# not report it)
breakdown()
{
	awk -v total="$2" '
		function num(s) { return match(s, / in [0-9.]+ s/) ? substr(s, RSTART + 4, RLENGTH - 6) + 0 : 0 }
		/verified .* in [0-9.]+ s/ { v += num($0) }
		/ran the pre-data script/ { p += num($0) }
		/restored table .* in [0-9.]+ s/ { l += num($0) }
		/ran the post-data script/ { s += num($0) }
		/computed the consequences report in/ { r += num($0) }
		END {
			o = total - v - p - l - s - r
			printf "verify %.2f, pre-data %.2f, load %.2f, post-data %.2f, report %.2f (%.0f %%), other %.2f",
				v, p, l, s, r, (total > 0 ? 100 * r / total : 0), o
		}' "$1"
}

# report_secs LOG: the report's seconds from a restore's NOTICEs
report_secs()
{
	awk '/computed the consequences report in/ && match($0, / in [0-9.]+ s/) { r += substr($0, RSTART + 4, RLENGTH - 6) } END { printf "%.2f", r }' "$1"
}

# drop_kept SCHEMA: drop the schemas earlier restores of SCHEMA kept
# aside (<schema>_before_<snapshot>), untimed, so runs do not pile up
drop_kept()
{
	local names
	names=$(bac_psql "$DB" -c "SELECT pg_catalog.string_agg(pg_catalog.quote_ident(nspname), ', ')
		FROM pg_catalog.pg_namespace WHERE nspname LIKE '$1\_before\_%'")
	[ -z "$names" ] ||
		bac_psql "$DB" -c "SET client_min_messages = warning" -c "DROP SCHEMA $names CASCADE"
}

# rows_of SCHEMA: "table=rows ..." of the tables of SCHEMA
rows_of()
{
	bac_psql "$DB" -c "SELECT string_agg(c.relname || '=' || (xpath('/row/n/text()',
			query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text, ' ' ORDER BY c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = '$1' AND c.relkind = 'r'"
}

# restore_timed LABEL SNAPSHOT SERVICE ARGS: bac.restore of SERVICE from
# SNAPSHOT in one psql session whose backend bench_probe.sh watches
# (peak RssAnon, perf with BENCH_PERF=1), timed; the NOTICEs give the
# breakdown.  Sets LAST_SECS, LAST_RSS_MB (peak private memory),
# LAST_REPORT (report seconds), LAST_LOG.
PROBE=$BAC_TMP/probe
restore_timed()
{
	local label=$1 snap=$2 svc=$3 args=$4 secs tag
	tag=$(tr -c 'a-zA-Z0-9\n' _ <<<"$label" | tr -s _)
	LAST_LOG=$BAC_TMP/restore-$tag.log
	drop_kept "$svc"
	bac_psql "$DB" -c CHECKPOINT
	rm -rf "$PROBE"
	bac_psql "$DB" >"$LAST_LOG" 2>&1 <<EOF
SELECT pg_catalog.pg_backend_pid() AS pid \gset
\setenv BAC_BACKEND_PID :pid
\! bash $root/test/bench_probe.sh start \$BAC_BACKEND_PID $PROBE
SET client_min_messages = debug1;
SELECT 'start ' || extract(epoch FROM pg_catalog.clock_timestamp());
SELECT 'report ' || direction || ': ' || detail FROM bac.restore('$snap', '$svc'$args) ORDER BY direction, link;
SELECT 'end ' || extract(epoch FROM pg_catalog.clock_timestamp());
\! bash $root/test/bench_probe.sh stop $PROBE
EOF
	local rc=$?
	# the restore's own time, without the session and the probe around it
	secs=$(awk '$1 == "start" { a = $2 } $1 == "end" { b = $2 } END { printf "%.2f", b - a }' "$LAST_LOG")
	if [ $rc -ne 0 ]; then
		bash "$root/test/bench_probe.sh" stop "$PROBE"
		cat "$LAST_LOG"
		fail "$label"
		return 1
	fi
	LAST_SECS=$secs
	LAST_RSS_MB=$(awk '{ printf "%.0f", $1 / 1024 }' "$PROBE/rss_peak")
	# the phases' timings are DEBUG1 messages: without them the breakdown
	# and the report's share would read 0
	grep -q "computed the consequences report in" "$LAST_LOG" ||
		fail "$label: no phase timings among the restore's messages"
	LAST_REPORT=$(report_secs "$LAST_LOG")
	result "$label" "$secs" "$(breakdown "$LAST_LOG" "$secs"); backend RssAnon peak $LAST_RSS_MB MB"
	if [ -f "$PROBE/perf.data" ]; then
		mv "$PROBE/perf.data" "$BAC_TMP/perf-$tag.data"
		perf report -i "$BAC_TMP/perf-$tag.data" --no-children -g none --sort dso,symbol \
			--stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | grep '%' | head -n 25 \
			>"$BAC_TMP/perf-$tag.txt"
		bac_say "profile of the backend ($label), top symbols:"
		sed 's/^/      /' "$BAC_TMP/perf-$tag.txt"
		[ -z "${BENCH_PERF_DIR:-}" ] ||
			cp "$BAC_TMP/perf-$tag.data" "$BAC_TMP/perf-$tag.txt" "$LAST_LOG" "$BENCH_PERF_DIR/" 2>/dev/null
	fi
}

# restore_checked LABEL SNAPSHOT ARGS: restore_timed of the largest
# service, then its rows counted against the ones before
restore_checked()
{
	local rows_after
	restore_timed "$1" "$2" "$largest" "$3" || return 1
	rows_after=$(rows_of "$largest")
	[ "$rows_after" = "$rows_before" ] ||
		fail "rows after $1: $rows_after, expected $rows_before"
}

# snap_of LABEL [COMPRESSION]: a snapshot of the largest service alone,
# taken now (workers => 2); prints its id
snap_of()
{
	bac_psql "$DB" -c "SET client_min_messages = warning" \
		-c "SELECT snapshot_id FROM bac.snapshot(services => ARRAY['$largest']::pg_catalog.name[],
			label => '$1', workers => 2, compression => '${2:-none}')"
}

# changes_after: what happens to the service after its snapshot, before
# it is restored: some orders cancelled, some lines deleted, new orders
# (0.1 to 0.5 % of the rows; only for the fixture's order service)
changes_after()
{
	[ "$largest" = order ] || return 0
	bac_psql "$DB" -c "SET client_min_messages = warning" \
		-c "UPDATE \"order\".\"order\" SET status = 'cancelled' WHERE order_id % 1000 = 0" \
		-c "DELETE FROM \"order\".order_line WHERE order_id % 997 = 0 AND line_no = 3" \
		-c "INSERT INTO \"order\".\"order\" (customer_id, total) SELECT 1 + g % 1000, 1 FROM pg_catalog.generate_series(1, 2000) AS g"
}

if ! part restore; then
	:
elif [ -n "$SNAP_ID" ] && need restore; then
	# pg_restore and bac.restore take turns, REPEAT times; each keeps its
	# best time (other work on the machine only ever slows a run down).
	for rep in $(seq 1 "$REPEAT"); do
		bac_say "round $rep of $REPEAT"
		pg_restores
		# The service as it lives on: its rows predate the snapshot (taken
		# now, after pg_restore loaded them), a few rows change after it.
		rsnap=$(snap_of "bench restore") || fail "snapshot of $largest"
		changes_after || fail "changes after the snapshot"
		# in place over the live schema, the previous one kept aside (default)
		restore_checked "bac.restore (in place, keep_previous)" "$rsnap" ""
		report_fast=$(grep '^report rows' "$LAST_LOG")
		printf '%s\n' "$report_fast" | sed 's/^/      /'
		# like pg_restore: the schema is gone, nothing to keep or compare
		bac_psql "$DB" -c "SET client_min_messages = warning" -c "DROP SCHEMA $q CASCADE" ||
			fail "drop $largest"
		restore_checked "bac.restore (into an empty schema)" "$rsnap" ""
	done
	# again in place, over the rows the restore above loaded: they are all
	# newer than the snapshot (the report compares every row)
	changes_after || fail "changes after the snapshot"
	restore_checked "bac.restore (in place, keep_previous => false, all rows newer)" "$rsnap" \
		", keep_previous => false"
	# the same changes over the same snapshot's rows: the same counts,
	# whether the report could use the rows' xmin (first) or not (here)
	report_all=$(grep '^report rows' "$LAST_LOG")
	[ "$report_all" = "$report_fast" ] ||
		fail "the report's row counts differ: $report_fast <> $report_all"

	# the same service from compressed snapshots of it
	for c in zstd lz4; do
		id=$(snap_of "bench $c" "$c") || { fail "snapshot with $c"; continue; }
		changes_after || fail "changes after the snapshot"
		restore_checked "bac.restore (in place, keep_previous, $c)" "$id" ""
	done

	# the other services keep writing while the largest one is restored
	wsnap=$(snap_of "bench writers") || fail "snapshot of $largest"
	changes_after || fail "changes after the snapshot"
	if bac_load_start "$DB" others 2 others_write.sql; then
		sleep 5
		tw0=$(bac_now)
		restore_checked "bac.restore (in place, keep_previous, writers)" "$wsnap" ""
		tw1=$(bac_now)
		sleep 1
		bac_load_stop || fail "the writers of the other services died during the restore"
		read -r w_base _ < <(bac_window others \
			"$(awk -v t="$BAC_LOAD_START" 'BEGIN { printf "%.3f", t + 1 }')" "$tw0")
		read -r w_during w_stall < <(bac_window others "$tw0" "$tw1")
		bac_say "writers of customer, product, shipment: $w_during tps during the restore," \
			"$w_base tps before; longest second without a commit: $w_stall"
		WRITERS="$w_during tps during, $w_base tps idle"
	else
		fail "writers of the other services"
	fi
	drop_kept "$largest"
else
	pg_restores
fi

echo
echo "== bac.snapshot(workers => 2) while the saga workload runs"
if ! part load; then
	bac_say "skipped (not in BENCH_PARTS)"
elif [ -n "$SNAP_ID" ]; then
	bac_load_start "$DB" load 4 saga.sql@10 catalog.sql@1 || bac_die "workload"
	bac_watch_start "$DB" load
	sleep 3
	ts0=$(bac_now)
	snapshot_timed "bac.snapshot(workers => 2) under load" 2
	ts1=$(bac_now)
	sleep 1
	bac_load_stop || fail "the workload died during the snapshot"
	bac_watch_stop
	base=$(bac_rate load "$(awk -v t="$BAC_LOAD_START" 'BEGIN { printf "%.3f", t + 1 }')" "$ts0")
	during=$(bac_rate load "$ts0" "$ts1")
	stall=$(bac_stall load "$ts0" "$ts1")
	bac_say "workload: $during orders/s during the snapshot, $base before;" \
		"longest time without a commit $stall s"
else
	bac_say "skipped: bac.snapshot not available yet"
fi


# others_mb: MB held by the services other than customer
others_mb()
{
	bac_psql "$DB" -c "SELECT (COALESCE(pg_catalog.sum(pg_catalog.pg_total_relation_size(c.oid)), 0) / 1048576)::pg_catalog.int8
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname IN ('product', 'order', 'shipment')"
}

# grow_others MB: add orders, their lines and shipments (referring to the
# existing customers and products) until the other services hold MB
grow_others()
{
	local target=$1 have
	have=$(others_mb) || return 1
	while [ "$have" -lt "$target" ]; do
		bac_psql "$DB" <<EOF || return 1
SET client_min_messages = warning;
SELECT COALESCE(pg_catalog.max(order_id), 0) AS o0,
       (SELECT GREATEST(pg_catalog.count(*), 1) FROM customer.customer) AS nc,
       (SELECT GREATEST(pg_catalog.count(*), 1) FROM product.product) AS np
  FROM "order"."order" \gset
INSERT INTO "order"."order" (order_id, customer_id, status, total, details, placed_at)
SELECT :o0 + g, 1 + g % :nc, 'delivered', 10 + g % 500,
       pg_catalog.jsonb_build_object('channel', 'web', 'batch', :o0),
       timestamptz '2024-02-01' + g * interval '3 seconds'
  FROM pg_catalog.generate_series(1, 500000) AS g;
INSERT INTO "order".order_line (order_id, line_no, product_id, quantity, unit_price)
SELECT :o0 + o, l, 1 + (o * 7 + l * 13) % :np, 1 + (o + l) % 4, 5 + o % 400
  FROM pg_catalog.generate_series(1, 500000) AS o, pg_catalog.generate_series(1, 3) AS l;
INSERT INTO shipment.shipment (order_id, customer_id, carrier, status, address, tracking_code)
SELECT :o0 + g, 1 + g % :nc, 'DHL', 'shipped', '{"city": "Porto"}', 'TRK' || (:o0 + g)
  FROM pg_catalog.generate_series(1, 500000) AS g;
EOF
		have=$(others_mb) || return 1
		bac_say "the other services hold $have MB"
	done
}

LOC_MB=${BENCH_LOCALITY_MB:-500}
echo
echo "== restore locality: service customer with the other services empty, then holding >= $LOC_MB MB"
if part locality && [ -n "$SNAP_ID" ] && BAC_DB=$DB bac_has restore && [ "$LOC_MB" -gt 0 ]; then
	# loc_snap: a snapshot of customer taken now (untimed): every restore
	# below starts from the same state, its rows older than its snapshot
	loc_snap()
	{
		bac_psql "$DB" -c "SET client_min_messages = warning" \
			-c "SELECT snapshot_id FROM bac.snapshot(services => ARRAY['customer']::pg_catalog.name[],
				label => 'bench locality', workers => 2)"
	}
	bac_say "customer: $(bac_psql "$DB" -c "SELECT pg_catalog.sum(pg_catalog.pg_total_relation_size(c.oid)) / 1048576
		FROM pg_catalog.pg_class c WHERE c.relnamespace = 'customer'::pg_catalog.regnamespace AND c.relkind = 'r'") MB"
	bac_psql "$DB" -c 'TRUNCATE "order".order_line, "order"."order", shipment.shipment, product.stock, product.product'
	bac_say "the other services hold $(others_mb) MB"
	# each side REPEAT times, its best run (as the restores above)
	loc0=""
	for rep in $(seq 1 "$REPEAT"); do
		id=$(loc_snap) || { fail "snapshot of customer"; break; }
		restore_timed "locality: customer, others empty" "$id" customer ", keep_previous => false"
		loc0=$(awk -v a="$LAST_SECS" -v b="$loc0" 'BEGIN { print (b == "" || a < b ? a : b) }')
	done
	grow_others "$LOC_MB" || fail "growing the other services"
	loc_mb=$(others_mb)
	bac_psql "$DB" -c "VACUUM ANALYZE" -c CHECKPOINT
	loc1=""
	for rep in $(seq 1 "$REPEAT"); do
		id=$(loc_snap) || { fail "snapshot of customer"; break; }
		restore_timed "locality: customer, others $loc_mb MB" "$id" customer ", keep_previous => false"
		loc1=$(awk -v a="$LAST_SECS" -v b="$loc1" 'BEGIN { print (b == "" || a < b ? a : b) }')
	done
	LOCALITY=$(awk -v a="$loc1" -v b="$loc0" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	bac_say "locality ratio (others full / others empty): $LOCALITY"
else
	bac_say "skipped (BENCH_LOCALITY_MB=0, not in BENCH_PARTS or no bac.restore)"
fi

MEM_ROWS=${BENCH_MEM_ROWS:-1000000 10000000}
echo
echo "== backend private memory restoring one table of $MEM_ROWS rows"
if part memory && [ -n "$SNAP_ID" ] && BAC_DB=$DB bac_has restore && [ -n "$MEM_ROWS" ]; then
	bac_psql "$DB" -c "SET client_min_messages = warning" \
		-c "SELECT bac.register_service('mem')" \
		-c "CREATE TABLE mem.t (id bigint PRIMARY KEY, n integer NOT NULL, label text NOT NULL)" ||
		fail "service mem"
	mem_peaks=()
	for n in $MEM_ROWS; do
		bac_psql "$DB" -c "TRUNCATE mem.t" \
			-c "INSERT INTO mem.t SELECT g, g % 1000, 'row ' || g FROM pg_catalog.generate_series(1, $n) AS g" ||
			fail "filling mem.t"
		mem_snap=$(bac_psql "$DB" -c "SET client_min_messages = warning" \
			-c "SELECT snapshot_id FROM bac.snapshot(services => ARRAY['mem']::pg_catalog.name[],
				label => 'bench memory', workers => 2)") || fail "snapshot of mem"
		restore_timed "memory: mem.t, $n rows, in place" "$mem_snap" mem ""
		mem_peaks+=("$LAST_RSS_MB")
		drop_kept mem
	done
	if [ ${#mem_peaks[@]} -ge 2 ]; then
		MEMDIFF=$((mem_peaks[${#mem_peaks[@]} - 1] - mem_peaks[0]))
		bac_say "backend RssAnon peaks: ${mem_peaks[*]} MB; difference $MEMDIFF MB"
	fi
	bac_psql "$DB" -c "SET client_min_messages = warning" \
		-c "SELECT bac.unregister_service('mem')" -c "DROP SCHEMA mem CASCADE" >/dev/null
else
	bac_say "skipped (BENCH_MEM_ROWS empty, not in BENCH_PARTS or no bac.restore)"
fi

# ---------------------------------------------------------------- table
secs_of()
{
	local r
	for r in "${results[@]}"; do
		[ "${r%%|*}" = "$1" ] && { r=${r#*|}; echo "${r%%|*}"; return; }
	done
}
ratio()
{
	local a b
	a=$(secs_of "$1")
	b=$(secs_of "$2")
	[ -n "$a" ] && [ -n "$b" ] || { echo "-"; return; }
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}
echo
echo "== results (wall seconds; the restores of the largest service: best of $REPEAT rounds; ratio = time / reference time, < 1 is faster)"
printf '%-40s | %8s | %-12s | %-16s | %s\n' operation seconds "vs pg_dump -Fp" "vs pg_dump -Fd -j2" notes
for r in "${results[@]}"; do
	IFS='|' read -r label secs extra <<<"$r"
	case $label in
		pg_restore*|bac.restore*) continue ;;
	esac
	printf '%-40s | %8s | %-14s | %-18s | %s\n' "$label" "$secs" \
		"$(ratio "$label" "pg_dump -Fp")" "$(ratio "$label" "pg_dump -Fd -j2")" "$extra"
done
echo
printf '%-40s | %8s | %-16s | %-16s | %s\n' operation seconds "vs pg_restore -j1" "vs pg_restore -j2" notes
for r in "${results[@]}"; do
	IFS='|' read -r label secs extra <<<"$r"
	case $label in
		pg_restore*|bac.restore*) ;;
		*) continue ;;
	esac
	printf '%-40s | %8s | %-17s | %-17s | %s\n' "$label" "$secs" \
		"$(ratio "$label" "pg_restore -j1")" "$(ratio "$label" "pg_restore -j2")" "$extra"
done

# target LABEL VALUE LIMIT OP: one line of the targets table
target()
{
	local verdict
	if [ -z "$2" ] || [ "$2" = - ]; then
		verdict="not measured"
	else
		verdict=$(awk -v v="$2" -v l="$3" -v op="$4" 'BEGIN {
			ok = (op == "<=" ? v <= l : v < l); print (ok ? "met" : "MISSED") }')
	fi
	printf '%-58s | %8s | %-8s | %s\n' "$1" "${2:--}" "$4 $3" "$verdict"
}
echo
echo "== targets (issue 11)"
printf '%-58s | %8s | %-8s | %s\n' target measured limit verdict
target "in place, keep_previous / pg_restore -j1" \
	"$(ratio "bac.restore (in place, keep_previous)" "pg_restore -j1")" 0.9 "<="
target "in place, keep_previous / pg_restore -j2" \
	"$(ratio "bac.restore (in place, keep_previous)" "pg_restore -j2")" 1.0 "<="
target "into an empty schema / pg_restore -j1" \
	"$(ratio "bac.restore (into an empty schema)" "pg_restore -j1")" 0.8 "<="
rep=""
for r in "${results[@]}"; do
	IFS='|' read -r label secs extra <<<"$r"
	if [ "$label" = "bac.restore (in place, keep_previous)" ]; then
		rep=$(sed -n 's/.*report [0-9.]* (\([0-9]*\) %).*/\1/p' <<<"$extra")
	fi
done
target "report share of the in-place restore (%)" "$rep" 10 "<="
target "locality: others full / others empty" "${LOCALITY:-}" 1.15 "<="
target "backend RssAnon, most rows - fewest rows (MB)" "${MEMDIFF:-}" 64 "<"
[ -z "${WRITERS:-}" ] || echo "writers of the other services during the in-place restore: $WRITERS"
mkdir -p "$BAC_TMP/pitr" && bash "$root/test/bench_pitr.sh" --inner "$BAC_TMP/pitr" || fail "point-in-time restore (test/bench_pitr.sh)"

echo
if [ ${#missing[@]} -gt 0 ]; then
	echo "not available yet: ${missing[*]}"
	failed=1
fi
[ "$failed" -eq 0 ] || { echo "bench: FAILED or incomplete (see above)"; exit 1; }
echo "bench: ok"
