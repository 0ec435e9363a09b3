#!/usr/bin/env bash
# test/bench_pitr.sh - point-in-time restore numbers (issue 12), run by
# `make bench` (test/bench.sh calls it near its end) or alone:
#
#   bash test/bench_pitr.sh
#
# On a throw-away cluster of its own (wal_level = logical, pg_bac
# preloaded, fsync on as in test/bench.sh), with the four services of
# test/fixtures/four_services.sql:
#
#   throughput: the saga workload (test/pgbench/saga.sql and catalog.sql),
#               runs of BENCH_PITR_SECONDS with the change archive off (no
#               slot) and on (bac.enable_pitr, the archiver worker
#               draining the slot) taking turns BENCH_PITR_REPEAT times;
#               the ratio on / off of the mean tps (target >= 0.85);
#   lag:        during the runs with the archive on, pg_current_wal_lsn()
#               minus bac.pitr_status.archived_lsn sampled every 0.5 s:
#               its maximum, its value at the end of the run, its mean in
#               the first and the second half of the run (bounded: the
#               second half is not above the first by more than its
#               noise), and how long the worker needs to catch up after
#               the workload stops;
#   replay:     BENCH_PITR_ROWS (default 1000000) rows inserted into a
#               service's table after its base snapshot, in transactions
#               of 10000 rows, then bac.restore(service, target_lsn =>
#               after them, into_schema) timed against pg_restore of the
#               same rows (pg_dump -Fc of the service's schema, pg_restore
#               into an empty database).
#
# Environment: BENCH_PITR_SCALE (thousands of customers, default 10),
# BENCH_PITR_CLIENTS (default 4), BENCH_PITR_SECONDS (default 20),
# BENCH_PITR_REPEAT (default 3), BENCH_PITR_ROWS, BENCH_PERF=1 (profile
# the replay's backend with perf and print its top symbols; BENCH_PERF_DIR
# gets a copy of the profile), BAC_KEEP=1.
# Exits 1 when a step fails; a missed target is reported, not a failure.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" != --inner ]; then
	# shellcheck source=test/demo-lib.sh
	source "$root/test/demo-lib.sh"
	BAC_PASS_ENV="BENCH_PITR_SCALE BENCH_PITR_CLIENTS BENCH_PITR_SECONDS BENCH_PITR_REPEAT BENCH_PITR_ROWS BENCH_PERF BENCH_PERF_DIR"
	bac_outer test/bench_pitr.sh bench_pitr time linux-perf
fi

# ---- inner part: as the owner of the throw-away cluster (test/bench.sh
# calls this part directly, with a directory of its own)
BAC_TMP=$2
BAC_TESTDIR=$root/test
# shellcheck source=test/demo-lib.sh
source "$root/test/demo-lib.sh"
cd "$BAC_TMP" || exit 1

SCALE=${BENCH_PITR_SCALE:-10}
CLIENTS=${BENCH_PITR_CLIENTS:-4}
SECONDS_RUN=${BENCH_PITR_SECONDS:-20}
REPEAT=${BENCH_PITR_REPEAT:-3}
ROWS=${BENCH_PITR_ROWS:-1000000}
DB=pitr
failed=0
LAG_PID=
trap '[ -n "$LAG_PID" ] && kill "$LAG_PID" 2>/dev/null; bac_cluster_stop "$BAC_TMP"' EXIT

fail()
{
	bac_say "FAILED: $*"
	failed=1
}

echo
echo "== point-in-time restore (issue 12): cluster in $BAC_TMP"
mapfile -t pitr_conf < <(bac_pitr_conf)
bac_cluster_start "$BAC_TMP" "${pitr_conf[@]}" "max_worker_processes = 16" ||
	bac_die "cluster start"
bac_say "server $(bac_psql postgres -c 'SHOW server_version'), $(nproc) cores; load now:" \
	"$(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes these numbers noisy)"
t0=$(bac_now)
bac_fixture_load "$DB" "$SCALE" >/dev/null || bac_die "fixture load"
bac_say "four services at scale $SCALE loaded in $(bac_elapsed "$t0") s"
read -r -a COUNTS <<<"$(bac_counts "$DB")"

# run_saga NAME: the saga workload for SECONDS_RUN seconds; prints its tps
run_saga()
{
	"$BAC_BINDIR/pgbench" -n -U saga -c "$CLIENTS" -j 2 -T "$SECONDS_RUN" "${COUNTS[@]}" \
		-f "$BAC_TESTDIR/pgbench/saga.sql@10" -f "$BAC_TESTDIR/pgbench/catalog.sql@1" \
		"$DB" >"$BAC_TMP/$1.out" 2>&1 || { cat "$BAC_TMP/$1.out" >&2; return 1; }
	sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$BAC_TMP/$1.out"
}

# lag_start NAME: sample "epoch lag_bytes" every 0.5 s into NAME.lag
lag_start()
{
	echo "SELECT extract(epoch FROM clock_timestamp()), pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), archived_lsn) FROM bac.pitr_status \\watch 0.5" |
		"$BAC_BINDIR/psql" -X -At -F ' ' -d "$DB" >"$BAC_TMP/$1.lag" 2>&1 &
	LAG_PID=$!
}

lag_stop()
{
	[ -n "$LAG_PID" ] && kill "$LAG_PID" 2>/dev/null && wait "$LAG_PID" 2>/dev/null
	LAG_PID=
}

# lag_summary NAME T0 T1: "max end mean_first_half mean_second_half" in MB
# over the samples between the epochs T0 and T1
lag_summary()
{
	awk -v t0="$2" -v t1="$3" '
		NF == 2 && $1 ~ /^[0-9.]+$/ && $1 >= t0 && $1 <= t1 {
			n++; t[n] = $1; v[n] = $2 / 1048576; if (v[n] > max) max = v[n]
		}
		END {
			mid = (t0 + t1) / 2
			for (i = 1; i <= n; i++) {
				if (t[i] < mid) { a += v[i]; na++ } else { b += v[i]; nb++ }
			}
			printf "%.2f %.2f %.2f %.2f\n", max, v[n], (na ? a / na : 0), (nb ? b / nb : 0)
		}' "$BAC_TMP/$1.lag"
}

# proc_cpu PID: user + system CPU seconds of a process so far
proc_cpu()
{
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# catch_up: seconds until the archive reaches the WAL flushed now
catch_up()
{
	local t flush
	t=$(bac_now)
	flush=$(bac_psql "$DB" -c "SELECT pg_catalog.pg_current_wal_flush_lsn()")
	bac_wait_until "$DB" "SELECT archived_lsn >= '$flush' FROM bac.pitr_status" 600 >/dev/null ||
		{ echo "never"; return 1; }
	bac_elapsed "$t"
}

# ---------------------------------------------------------------- throughput
echo
echo "== writer throughput, change archive off / on (saga workload, $CLIENTS clients, ${SECONDS_RUN} s runs)"
off=()
on=()
wcpus=()
lags=()
catchups=()
for i in $(seq 1 "$REPEAT"); do
	tps=$(run_saga "off-$i") || { fail "saga workload (archive off)"; break; }
	off+=("$tps")
	bac_say "run $i, archive off: $tps tps"
	bac_psql "$DB" -c "SELECT pg_catalog.count(*) FROM bac.enable_pitr()" >/dev/null ||
		{ fail "bac.enable_pitr"; break; }
	bac_wait_until "$DB" "SELECT pg_catalog.count(*) = 1 FROM pg_catalog.pg_stat_activity
		WHERE backend_type = 'pg_bac archiver'" 30 || { fail "the archiver worker did not start"; break; }
	lag_start "on-$i"
	wpid=$(bac_psql "$DB" -c "SELECT pid FROM pg_catalog.pg_stat_activity WHERE backend_type = 'pg_bac archiver'")
	wcpu0=$(proc_cpu "$wpid")
	if [ "${BENCH_PERF:-0}" = 1 ] && [ "$i" = "$REPEAT" ] && command -v perf >/dev/null; then
		perf record -F 499 -g -p "$wpid" -o "$BAC_TMP/worker.perf" >/dev/null 2>&1 &
		wperf_pid=$!
	fi
	ts=$(bac_now)
	tps=$(run_saga "on-$i") || { fail "saga workload (archive on)"; lag_stop; break; }
	te=$(bac_now)
	wcpu=$(awk -v a="$wcpu0" -v b="$(proc_cpu "$wpid")" -v t="$(bac_elapsed "$ts" "$te")" \
		'BEGIN { printf "%.1f s of CPU in %.1f s (%.0f %% of a core)", b - a, t, 100 * (b - a) / t }')
	wcpus+=("$wcpu")
	if [ -n "${wperf_pid:-}" ]; then
		kill -INT "$wperf_pid" 2>/dev/null
		wait "$wperf_pid" 2>/dev/null
	fi
	cu=$(catch_up) || fail "the archiver did not catch up"
	lag_stop
	on+=("$tps")
	read -r lmax lend la lb < <(lag_summary "on-$i" "$ts" "$te")
	lags+=("$lmax $lend $la $lb")
	catchups+=("$cu")
	bac_say "run $i, archive on:  $tps tps; lag max $lmax MB, at the end $lend MB," \
		"mean $la MB (first half) / $lb MB (second half); caught up $cu s after the load;" \
		"the archiver worker used $wcpu"
	if [ "$i" -lt "$REPEAT" ]; then
		bac_psql "$DB" -c "SELECT bac.disable_pitr()" >/dev/null || { fail "bac.disable_pitr"; break; }
	fi
done
mean() { printf '%s\n' "$@" | awk '{ s += $1; n++ } END { printf "%.1f", (n ? s / n : 0) }'; }
tps_off=$(mean "${off[@]}")
tps_on=$(mean "${on[@]}")
THROUGHPUT=$(awk -v a="$tps_on" -v b="$tps_off" 'BEGIN { if (b > 0) printf "%.3f", a / b }')
bac_say "mean tps: archive off $tps_off, on $tps_on: ratio on / off = ${THROUGHPUT:-?}"
LAG_MAX=$(printf '%s\n' "${lags[@]}" | awk '{ if ($1 > m) m = $1 } END { printf "%.2f", m }')
LAG_END=$(printf '%s\n' "${lags[@]}" | awk '{ if ($2 > m) m = $2 } END { printf "%.2f", m }')
# bounded: in every run the second half's mean lag is at most the first
# half's plus 1 MB and twice it (a worker falling behind grows the lag all
# along the run), and the worker caught up after the load
BOUNDED=yes
for l in "${lags[@]}"; do
	read -r _ _ la lb <<<"$l"
	awk -v a="$la" -v b="$lb" 'BEGIN { exit !(b <= 2 * a + 1) }' || BOUNDED=no
done
for c in "${catchups[@]}"; do
	[ "$c" != never ] || BOUNDED=no
done

if [ -s "$BAC_TMP/worker.perf" ]; then
	echo "top symbols of the archiver worker during the last run (perf, self time):"
	perf report -i "$BAC_TMP/worker.perf" --no-children --sort symbol -g none --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 25
	echo "with children:"
	perf report -i "$BAC_TMP/worker.perf" --children --sort symbol -g none --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 30
	[ -n "${BENCH_PERF_DIR:-}" ] && cp "$BAC_TMP/worker.perf" "$BENCH_PERF_DIR/" 2>/dev/null
fi

# ---------------------------------------------------------------- replay
[ "$ROWS" -gt 0 ] || { echo "bench_pitr: replay skipped (BENCH_PITR_ROWS=0)"; exit $failed; }
echo
echo "== replay of $ROWS changes against pg_restore of the same rows"
bac_psql "$DB" -c "SELECT bac.register_service('bulk')" \
	-c "CREATE TABLE bulk.t (id bigint PRIMARY KEY, grp integer NOT NULL, v text NOT NULL, at timestamptz NOT NULL DEFAULT now())" ||
	bac_die "service bulk"
base=$(bac_psql "$DB" -c "SELECT snapshot_id FROM bac.snapshot(ARRAY['bulk']::name[], label => 'bulk base')") ||
	bac_die "base snapshot"
t0=$(bac_now)
batch=10000
for ((a = 1; a <= ROWS; a += batch)); do
	b=$((a + batch - 1))
	[ "$b" -le "$ROWS" ] || b=$ROWS
	echo "INSERT INTO bulk.t (id, grp, v) SELECT g, g % 100, pg_catalog.md5(g::text) FROM pg_catalog.generate_series($a, $b) g;"
done | bac_psql "$DB" || bac_die "the $ROWS inserts"
bac_say "$ROWS rows inserted in $(bac_elapsed "$t0") s, $(((ROWS + batch - 1) / batch)) transactions"
target=$(bac_psql "$DB" -c "SELECT pg_catalog.pg_current_wal_insert_lsn()")
ARCHIVE_SECS=$(catch_up) || fail "the archiver did not catch up with the inserts"
bac_say "the archiver caught up $ARCHIVE_SECS s after the last insert;" \
	"change archive on disk: $(du -sm "$BAC_TMP/data/$(bac_psql "$DB" -c "LOAD 'pg_bac'" -c 'SHOW bac.archive_directory')/changes" 2>/dev/null | cut -f1) MB"

# the restore in a session whose backend we know: its peak memory, and its
# profile with BENCH_PERF=1
perf_pid=
coproc REPLAY { "$BAC_BINDIR/psql" -X -q -At -d "$DB" 2>&1; }
echo "SELECT pg_catalog.pg_backend_pid();" >&"${REPLAY[1]}"
read -r bpid <&"${REPLAY[0]}"
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
	perf record -F 499 -g -p "$bpid" -o "$BAC_TMP/replay.perf" >/dev/null 2>&1 &
	perf_pid=$!
	sleep 1
fi
# the backend's private memory (RssAnon), its peak sampled every 0.2 s
(
	peak=0
	while v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$bpid/status" 2>/dev/null) && [ -n "$v" ]; do
		[ "$v" -gt "$peak" ] && peak=$v && echo "$peak" >"$BAC_TMP/replay.rss"
		sleep 0.2
	done
) &
rss_pid=$!
t0=$(bac_now)
echo "SELECT 'restored ' || pg_catalog.count(*) FROM bac.restore('bulk', target_lsn => '$target', into_schema => 'bulk_r');" >&"${REPLAY[1]}"
while read -r line <&"${REPLAY[0]}"; do
	case $line in
		*replayed*) echo "   $line" ;;
		*ERROR*) echo "$line"; fail "bac.restore to the target" ;;
	esac
	case $line in restored*|*ERROR*) break ;; esac
done
REPLAY_SECS=$(bac_elapsed "$t0")
kill "$rss_pid" 2>/dev/null
wait "$rss_pid" 2>/dev/null
MEM="peak RssAnon $(awk '{ printf "%.0f MB", $1 / 1024 }' "$BAC_TMP/replay.rss" 2>/dev/null)"
echo '\q' >&"${REPLAY[1]}"
if [ -n "$perf_pid" ]; then
	kill -INT "$perf_pid" 2>/dev/null
	wait "$perf_pid" 2>/dev/null
fi
same=$(bac_psql "$DB" -c "SELECT (SELECT pg_catalog.count(*) FROM bulk_r.t) || ' ' ||
	(SELECT pg_catalog.count(*) FROM (SELECT * FROM bulk.t EXCEPT ALL SELECT * FROM bulk_r.t) x) || ' ' ||
	(SELECT pg_catalog.count(*) FROM (SELECT * FROM bulk_r.t EXCEPT ALL SELECT * FROM bulk.t) x)")
[ "$same" = "$ROWS 0 0" ] || fail "the replayed table differs from the live one: $same"
bac_say "bac.restore('bulk', target_lsn): $REPLAY_SECS s (base snapshot of the empty table + $ROWS" \
	"inserts replayed); rows, missing, extra: $same; its backend: $MEM"

"$BAC_BINDIR/pg_dump" -Fc -n bulk -f "$BAC_TMP/bulk.dump" "$DB" || bac_die "pg_dump"
bac_psql postgres -c "CREATE DATABASE pitr_restore" || bac_die "createdb"
t0=$(bac_now)
"$BAC_BINDIR/pg_restore" -d pitr_restore "$BAC_TMP/bulk.dump" || fail "pg_restore"
PGRESTORE_SECS=$(bac_elapsed "$t0")
bac_say "pg_restore of the same $ROWS rows (pg_dump -Fc -n bulk, into an empty database): $PGRESTORE_SECS s"
REPLAY_RATIO=$(awk -v a="$REPLAY_SECS" -v b="$PGRESTORE_SECS" 'BEGIN { if (b > 0) printf "%.2f", a / b }')
RATE=$(awk -v a="$REPLAY_SECS" -v n="$ROWS" 'BEGIN { if (a > 0) printf "%.0f", n / a }')
if [ -n "$perf_pid" ] && [ -s "$BAC_TMP/replay.perf" ]; then
	echo "top symbols of the replaying backend (perf, self time):"
	perf report -i "$BAC_TMP/replay.perf" --no-children --sort symbol -g none --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 25
	echo "callers of the top symbols (perf, with children):"
	perf report -i "$BAC_TMP/replay.perf" --children --sort symbol -g none --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 25
	[ -n "${BENCH_PERF_DIR:-}" ] && cp "$BAC_TMP/replay.perf" "$BENCH_PERF_DIR/" 2>/dev/null
fi

# ---------------------------------------------------------------- summary
echo
echo "== point-in-time restore: results (BENCH_PITR_SCALE=$SCALE, $CLIENTS clients, $REPEAT x ${SECONDS_RUN} s)"
printf '%-52s | %s\n' "writer tps, archive off (each run)" "${off[*]} (mean $tps_off)"
printf '%-52s | %s\n' "writer tps, archive on (each run)" "${on[*]} (mean $tps_on)"
printf '%-52s | %s\n' "throughput on / off (target >= 0.85)" \
	"${THROUGHPUT:-?} $(awk -v r="${THROUGHPUT:-0}" 'BEGIN { print (r >= 0.85 ? "met" : "MISSED") }')"
printf '%-52s | %s\n' "the archiver worker during each run" "$(printf '%s; ' "${wcpus[@]}")"
printf '%-52s | %s\n' "archiver lag during the load: max / at the end (MB)" "$LAG_MAX / $LAG_END"
printf '%-52s | %s\n' "lag bounded (2nd half <= 2 x 1st half + 1 MB)" "$BOUNDED"
printf '%-52s | %s\n' "worker caught up after the load (s, each run)" "${catchups[*]}"
printf '%-52s | %s\n' "replay of $ROWS changes: bac.restore (s)" "$REPLAY_SECS ($RATE changes/s)"
printf '%-52s | %s\n' "  its backend's private memory" "$MEM"
printf '%-52s | %s\n' "pg_restore of the same rows (s)" "$PGRESTORE_SECS"
printf '%-52s | %s\n' "replay / pg_restore" "$REPLAY_RATIO"
[ "$failed" -eq 0 ] || { echo "bench_pitr: FAILED (see above)"; exit 1; }
echo "bench_pitr: ok"
