#!/usr/bin/env bash
# test/bench_probe.sh - watch one backend while make bench times it.
#
#   bench_probe.sh start PID DIR   sample the backend's private memory
#                                  (RssAnon of /proc/PID/status) every
#                                  50 ms, keeping the peak in DIR/rss_peak
#                                  (kB); with BENCH_PERF=1 also record a
#                                  CPU profile of it into DIR/perf.data
#   bench_probe.sh stop DIR        stop both (waits until perf has written
#                                  its file)
#
# Called from psql's \! in test/bench.sh, so it returns at once: the
# watchers run in the background, their pids in DIR/*.pid.
set -u

case ${1:-} in
	start)
		pid=$2 dir=$3
		mkdir -p "$dir"
		echo 0 >"$dir/rss_peak"
		(
			peak=0
			while [ ! -e "$dir/stop" ] && [ -r "/proc/$pid/status" ]; do
				kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
				if [ -n "$kb" ] && [ "$kb" -gt "$peak" ]; then
					peak=$kb
					echo "$peak" >"$dir/rss_peak"
				fi
				sleep 0.05
			done
		) </dev/null >/dev/null 2>&1 &
		echo $! >"$dir/sampler.pid"
		if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
			perf record -q -F 499 -g -p "$pid" -o "$dir/perf.data" \
				</dev/null >"$dir/perf.log" 2>&1 &
			echo $! >"$dir/perf.pid"
		fi
		;;
	stop)
		dir=$2
		touch "$dir/stop"
		if [ -f "$dir/perf.pid" ]; then
			p=$(cat "$dir/perf.pid")
			kill -INT "$p" 2>/dev/null
			for _ in $(seq 1 100); do
				kill -0 "$p" 2>/dev/null || break
				sleep 0.1
			done
			rm -f "$dir/perf.pid"
		fi
		if [ -f "$dir/sampler.pid" ]; then
			p=$(cat "$dir/sampler.pid")
			for _ in $(seq 1 20); do
				kill -0 "$p" 2>/dev/null || break
				sleep 0.05
			done
			rm -f "$dir/sampler.pid"
		fi
		rm -f "$dir/stop"
		;;
	*)
		echo "usage: bench_probe.sh start PID DIR | stop DIR" >&2
		exit 2
		;;
esac
