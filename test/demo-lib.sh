# test/demo-lib.sh - shell helpers shared by test/demo.sh and test/bench.sh
#
# Sourced, not run.  Everything here works on a throw-away cluster whose
# socket directory is $BAC_TMP (set by the caller) and assumes it runs as
# the cluster's owner (postgres when the scripts were started as root).

BAC_BINDIR=${BAC_BINDIR:-$(${PG_CONFIG:-pg_config} --bindir)}
BAC_TESTDIR=${BAC_TESTDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

# the schemas of the four services, quoted for SQL and for pg_dump -n
BAC_SERVICES=(customer product order shipment)

# bac_say TEXT...: a progress line of the script
bac_say()
{
	printf '%s %s\n' "$(date +%H:%M:%S)" "$*"
}

# bac_die TEXT...: report and fail
bac_die()
{
	printf 'FAILED: %s\n' "$*" >&2
	exit 1
}

# bac_now: the time as epoch seconds with fractions
bac_now()
{
	date +%s.%N
}

# bac_elapsed T0 [T1]: seconds between two bac_now values, 2 decimals
bac_elapsed()
{
	awk -v a="$1" -v b="${2:-$(bac_now)}" 'BEGIN { printf "%.2f", b - a }'
}

# bac_psql DB ARGS...: psql on the throw-away cluster, stopping at the
# first error, unaligned output without headers
bac_psql()
{
	local db=$1
	shift
	"$BAC_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# bac_show DB SQL: print a query's result as a table, for people
bac_show()
{
	"$BAC_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$1" -c "$2"
}

# bac_cluster_start DIR [SETTING=VALUE...]: initdb a cluster in DIR/data
# and start it with its socket in DIR only (no TCP: it cannot collide with
# any other cluster).  Exports PGHOST, PGPORT, PGUSER for the tools.
bac_cluster_start()
{
	local dir=$1
	shift
	"$BAC_BINDIR/initdb" -D "$dir/data" -A trust -U postgres --no-sync \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		echo "port = 5432"
		echo "max_connections = 50"
		echo "shared_buffers = 256MB"
		echo "max_wal_size = 4GB"
		echo "checkpoint_timeout = 30min"
		for s in "$@"; do
			echo "$s"
		done
	} >>"$dir/data/postgresql.conf"
	# 9>&-: the server must not inherit the installation lock's descriptor,
	# or a cluster kept with BAC_KEEP=1 would hold the lock after we exit
	"$BAC_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start \
		>/dev/null 9>&- || { tail -n 20 "$dir/server.log"; return 1; }
	export PGHOST=$dir PGPORT=5432 PGUSER=postgres
}

# bac_pitr_conf: the settings point-in-time restore needs, one a line, for
# bac_cluster_start: logical WAL, pg_bac preloaded (its archiver workers),
# and pg_bac allowed as an output plugin on servers that restrict them
# (the setting exists from 15.19 on; older servers do not know it)
bac_pitr_conf()
{
	echo "wal_level = logical"
	echo "shared_preload_libraries = 'pg_bac'"
	# grep reads all of it: with -q, postgres could die of SIGPIPE and
	# fail the pipeline under pipefail
	if "$BAC_BINDIR/postgres" --describe-config 2>/dev/null |
		grep '^output_plugin_libraries' >/dev/null; then
		echo "output_plugin_libraries = 'pgoutput, test_decoding, pg_bac'"
	fi
}

# bac_cluster_stop DIR: stop the cluster started by bac_cluster_start
bac_cluster_stop()
{
	[ -f "$1/data/postmaster.pid" ] &&
		"$BAC_BINDIR/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1
	return 0
}

# bac_has FUNCTION: is bac.FUNCTION installed in database $BAC_DB?
bac_has()
{
	[ "$(bac_psql "${BAC_DB:-postgres}" -c "SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc
		WHERE proname = '$1' AND pronamespace = 'bac'::pg_catalog.regnamespace")" != 0 ]
}

# bac_fixture_load DB SCALE: create DB, the extension, the four services
# at SCALE (thousands of customers), and register them if the registry is
# there (returns 2 when it is not)
bac_fixture_load()
{
	local db=$1 scale=$2
	bac_psql postgres -c "CREATE DATABASE $db" || return 1
	bac_psql "$db" -c "CREATE EXTENSION pg_bac" || return 1
	bac_psql "$db" -v scale="$scale" -f "$BAC_TESTDIR/fixtures/four_services.sql" ||
		return 1
	if ! BAC_DB=$db bac_has register_service || ! BAC_DB=$db bac_has add_link; then
		return 2
	fi
	bac_psql "$db" -f "$BAC_TESTDIR/fixtures/register.sql"
}

# bac_service_bytes DB: "service bytes" per service, from the catalogs
bac_service_bytes()
{
	bac_psql "$1" -F ' ' -c "SELECT n.nspname, pg_catalog.sum(pg_catalog.pg_total_relation_size(c.oid))
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm') AND n.nspname IN ('customer', 'product', 'order', 'shipment')
		GROUP BY 1 ORDER BY 2 DESC"
}

# bac_counts DB: the initial counts the pgbench scripts need, as -D options;
# products: the ids 1..N that all exist (an aborted insert leaves a gap,
# and saga.sql's \gset of a missing product's price fails the client)
bac_counts()
{
	bac_psql "$1" -F ' ' -c "SELECT '-D customers=' || (SELECT pg_catalog.min(customer_id) + pg_catalog.count(*) - 1 FROM customer.customer),
		'-D products=' || (SELECT coalesce(pg_catalog.min(s.rn) FILTER (WHERE s.product_id <> s.rn) - 1, pg_catalog.count(*))
			FROM (SELECT p.product_id, pg_catalog.row_number() OVER (ORDER BY p.product_id) AS rn FROM product.product p) s)"
}

# bac_load_start DB NAME CLIENTS SCRIPT...: start pgbench in the
# background, progress every second with epoch timestamps into
# $BAC_TMP/NAME.progress; sets BAC_LOAD_PID
bac_load_start()
{
	local db=$1 name=$2 clients=$3
	shift 3
	local scripts=()
	for s in "$@"; do
		scripts+=(-f "$BAC_TESTDIR/pgbench/$s")
	done
	# shellcheck disable=SC2046
	"$BAC_BINDIR/pgbench" -n -U saga -c "$clients" -j 2 -T 3600 -P 1 \
		--progress-timestamp $(bac_counts "$db") "${scripts[@]}" "$db" \
		>"$BAC_TMP/$name.out" 2>"$BAC_TMP/$name.progress" &
	BAC_LOAD_PID=$!
	BAC_LOAD_START=$(bac_now)
	# wait for the first progress report: the workload runs
	local i
	for i in $(seq 1 100); do
		grep -q '^progress:' "$BAC_TMP/$name.progress" 2>/dev/null && return 0
		kill -0 "$BAC_LOAD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$BAC_TMP/$name.progress" >&2
	return 1
}

# bac_load_stop: stop the pgbench started by bac_load_start (its progress
# lines are already written: stderr is not buffered); fails if pgbench
# died before it was stopped (a client error aborts it)
bac_load_stop()
{
	local pid=${BAC_LOAD_PID:-}
	BAC_LOAD_PID=
	[ -n "$pid" ] || return 0
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		return 1
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# bac_window NAME T0 T1: from NAME.progress, the workload's mean tps
# between the epochs T0 and T1 and the longest run of seconds without a
# single committed transaction in that window: prints "tps stall_seconds"
bac_window()
{
	awk -v t0="$2" -v t1="$3" '
		/^progress: / {
			t = $2 + 0; tps = $4 + 0
			lo = (t - 1 > t0) ? t - 1 : t0
			hi = (t < t1) ? t : t1
			if (hi > lo) {
				tx += tps * (hi - lo)
				if (tps == 0) { run++; if (run > stall) stall = run }
				else run = 0
			}
		}
		END {
			d = t1 - t0
			printf "%.0f %d\n", (d > 0 ? tx / d : 0), stall
		}' "$BAC_TMP/$1.progress"
}

# bac_watch_start DB NAME: sample the newest order id 20 times a second
# into $BAC_TMP/NAME.watch ("epoch max_order_id" lines), to time how long
# the saga workload commits nothing; sets BAC_WATCH_PID.  The time is the
# statement's start, which precedes its snapshot: a sample stamped after
# an instant has seen every commit before that instant.
bac_watch_start()
{
	echo 'SELECT extract(epoch FROM statement_timestamp()), max(order_id) FROM "order"."order" \watch 0.05' |
		"$BAC_BINDIR/psql" -X -At -F ' ' -d "$1" >"$BAC_TMP/$2.watch" 2>&1 &
	BAC_WATCH_PID=$!
}

# bac_watch_stop: stop the sampler of bac_watch_start
bac_watch_stop()
{
	local pid=${BAC_WATCH_PID:-}
	BAC_WATCH_PID=
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# bac_stall NAME T0 T1: from NAME.watch, the longest time (seconds, 2
# decimals, resolution about 0.05 s) between T0 and T1 in which no new
# order was committed
bac_stall()
{
	awk -v t0="$2" -v t1="$3" '
		NF == 2 && $1 ~ /^[0-9.]+$/ {
			t = $1 + 0
			if (t < t0) { last = $2; next }
			if (t > t1) exit
			if (!started) { started = 1; since = t0 }
			if ($2 != last) {
				if (t - since > stall) stall = t - since
				since = t; last = $2
			}
		}
		END {
			if (started && t1 - since > stall) stall = t1 - since
			printf "%.2f\n", stall
		}' "$BAC_TMP/$1.watch"
}

# bac_rate NAME T0 T1: from NAME.watch, orders committed per second
# between the first sample at or after T0 and the last one before T1 (the
# saga workload's rate; 0 decimals)
bac_rate()
{
	awk -v t0="$2" -v t1="$3" '
		NF == 2 && $1 ~ /^[0-9.]+$/ {
			if ($1 >= t0 && !seen) { ta = $1; va = $2; seen = 1 }
			if ($1 <= t1) { tb = $1; vb = $2 }
		}
		END { printf "%.0f\n", (tb > ta ? (vb - va) / (tb - ta) : 0) }' "$BAC_TMP/$1.watch"
}

# bac_wait_until DB SQL [SECONDS]: poll until SQL returns t
bac_wait_until()
{
	local db=$1 sql=$2 limit=${3:-30} i
	for i in $(seq 1 $((limit * 10))); do
		[ "$(bac_psql "$db" -c "$sql")" = t ] && return 0
		sleep 0.1
	done
	bac_say "timed out waiting for: $sql" >&2
	return 1
}

# bac_dump_service DB SERVICE FILE: pg_dump of one service's schema by the
# service's own role, plain format
bac_dump_service()
{
	"$BAC_BINDIR/pg_dump" -U "$2_svc" -n "\"$2\"" -f "$3" "$1"
}

# bac_disaster DB: the four services' schemas are lost
bac_disaster()
{
	bac_psql "$1" -c 'SET client_min_messages = warning' \
		-c 'DROP SCHEMA customer, product, "order", shipment CASCADE'
}

# bac_analyze DB: ANALYZE the four services (a restore leaves no
# statistics behind, pg_restore neither)
bac_analyze()
{
	bac_psql "$1" -c 'ANALYZE customer.customer, product.product, product.stock,
		"order"."order", "order".order_line, shipment.shipment'
}

# bac_oracle DB: broken links and orphans counted by plain anti-joins
# (test/fixtures/oracle.sql): lines "link broken orphaned"
bac_oracle()
{
	bac_psql "$1" -F ' ' -f "$BAC_TESTDIR/fixtures/oracle.sql"
}

# bac_check DB: bac.check_links() as lines "link broken orphaned"
bac_check()
{
	bac_psql "$1" -F ' ' -c "SELECT link, broken, coalesce(orphaned, 0)
		FROM bac.check_links() ORDER BY link"
}

# bac_links_verdict DB: compare bac.check_links with the oracle; prints
# "broken orphans" (sums over the four links, from bac.check_links) and
# fails when a link is missing or the two disagree
bac_links_verdict()
{
	local db=$1 check oracle
	check=$(bac_check "$db") || return 1
	oracle=$(bac_oracle "$db") || return 1
	if [ "$(printf '%s\n' "$check" | awk 'NF' | wc -l)" -ne 4 ]; then
		printf 'bac.check_links returned these rows instead of one per declared link:\n%s\n' \
			"$check" >&2
		return 1
	fi
	# orphans are compared on the link whose orphans matter only
	if [ "$(printf '%s\n' "$check" | awk '{ print $1, $2, ($1 == "shipment_order" ? $3 : 0) }')" != \
		"$oracle" ]; then
		printf 'bac.check_links disagrees with the anti-join oracle:\ncheck_links:\n%s\noracle:\n%s\n' \
			"$check" "$oracle" >&2
		return 1
	fi
	printf '%s\n' "$check" | awk '{ b += $2; o += $3 } END { print b + 0, o + 0 }'
}

# bac_outer SCRIPT NAME [PACKAGE...]: the part of demo.sh and bench.sh
# that runs as the caller.  Installs what is missing (with the extra
# Debian PACKAGEs), builds, installs pg_bac while holding the installation
# lock until the end (work trees on this machine share one installation),
# makes a temporary directory and runs "SCRIPT --inner DIR" as the owner
# of the throw-away cluster (postgres when called as root).  SCRIPT is a
# path relative to the checkout: when called as root, the inner part runs
# from a copy of the checkout in DIR/tree, because postgres may not be
# able to read the checkout itself (a clone under /root, mode 0700).  The
# cluster and the directory are removed on exit, also on failure, unless
# BAC_KEEP=1.  Passes the variables named in BAC_PASS_ENV on.  Exits with
# SCRIPT's status.  BAC_LOCK_HELD=1 says the caller (test/run-tests.sh)
# already holds the installation lock: taking it again would wait forever.
bac_outer()
{
	local script=$1 name=$2 root rc t_start=$SECONDS v
	shift 2
	root=$(cd "$BAC_TESTDIR/.." && pwd)
	cd "$root" || exit 1
	local pg_config=${PG_CONFIG:-pg_config}
	echo "== pg_bac $name: setup, build, install"
	bash test/setup.sh "$@" || bac_die "setup"
	local log
	log=$(mktemp /tmp/pg_bac-$name-build.XXXXXX)
	if ! make -s PG_CONFIG="$pg_config" >"$log" 2>&1; then
		cat "$log"
		rm -f "$log"
		bac_die "build"
	fi
	rm -f "$log"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo=sudo
	local t_lock=$SECONDS
	if [ "${BAC_LOCK_HELD:-0}" != 1 ]; then
		exec 9>/tmp/pg_bac-install.lock
		flock 9
	fi
	local t_locked=$SECONDS
	[ $((SECONDS - t_lock)) -lt 2 ] ||
		echo "   (waited $((SECONDS - t_lock)) s for /tmp/pg_bac-install.lock: another work tree was testing)"
	$sudo make -s PG_CONFIG="$pg_config" install >/dev/null || bac_die "make install"

	BAC_OUTER_TMP=$(mktemp -d "/tmp/pg_bac-$name.XXXXXX")
	trap bac_outer_cleanup EXIT
	local tree=$root
	if [ "$(id -u)" -eq 0 ]; then
		tree=$BAC_OUTER_TMP/tree
		mkdir "$tree" || bac_die "mkdir $tree"
		tar --exclude=.git -cf - . | tar -xf - -C "$tree" || bac_die "copy of the checkout"
		chown -R postgres: "$BAC_OUTER_TMP"
		BAC_AS_OWNER=(runuser -u postgres --)
	else
		BAC_AS_OWNER=()
	fi
	trap 'exit 130' INT TERM
	local envs=(PATH="$BAC_BINDIR:$PATH")
	for v in ${BAC_PASS_ENV:-}; do
		[ -n "${!v+x}" ] && envs+=("$v=${!v}")
	done
	"${BAC_AS_OWNER[@]}" env "${envs[@]}" bash "$tree/$script" --inner "$BAC_OUTER_TMP"
	rc=$?
	echo "== $name finished in $((SECONDS - t_start)) s ($((SECONDS - t_locked)) s after" \
		"the installation lock was free), exit status $rc"
	exit $rc
}

# bac_outer_cleanup: stop the throw-away cluster, remove its directory
bac_outer_cleanup()
{
	local tmp=$BAC_OUTER_TMP
	if [ "${BAC_KEEP:-0}" = 1 ] && [ -f "$tmp/data/postmaster.pid" ]; then
		echo "cluster kept: psql -h $tmp -p 5432 -U postgres DBNAME"
		echo "remove it:    pg_ctl -D $tmp/data stop && rm -rf $tmp"
		return
	fi
	[ -f "$tmp/data/postmaster.pid" ] &&
		"${BAC_AS_OWNER[@]}" "$BAC_BINDIR/pg_ctl" -D "$tmp/data" -m immediate -w stop \
			>/dev/null 2>&1
	rm -rf "$tmp"
}
