#!/usr/bin/env bash
# test/run-tests.sh - what `make test` runs: install what is missing, build
# with -Werror, install, then run every suite against throw-away clusters
# and print one line per suite.  Exits non-zero if anything failed.
#
# Suites can be chosen: BAC_SUITES="regress tap" make test
# TAP files too: BAC_TAP_TESTS="test/t/040_restore_online.pl" make test
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

PG_CONFIG=${PG_CONFIG:-pg_config}
SUITES=${BAC_SUITES:-"regress isolation pgtap tap demo"}

bash test/setup.sh || { echo "FAIL: setup"; exit 1; }
bindir=$($PG_CONFIG --bindir)
export PATH="$bindir:$PATH"

logs=$(mktemp -d /tmp/pg_bac-logs.XXXXXX)
echo "== build"
make -s clean >/dev/null 2>&1
if ! make -s PG_CONFIG="$PG_CONFIG" >"$logs/build.log" 2>&1; then
	cat "$logs/build.log"
	echo "FAIL: build"
	exit 1
fi
# a warning is an error (-Werror), but say so if anything was printed
grep -i "warning" "$logs/build.log" && { echo "FAIL: build warnings"; exit 1; }

# Several work trees on one machine share one PostgreSQL installation:
# hold a lock from install to the last suite so they take turns.  A run
# against a private copy of the installation (PG_CONFIG pointing into it)
# may name its own lock file.
exec 9>"${BAC_INSTALL_LOCK:-/tmp/pg_bac-install.lock}"
flock 9
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
if ! $SUDO make -s PG_CONFIG="$PG_CONFIG" install >"$logs/install.log" 2>&1; then
	cat "$logs/install.log"
	echo "FAIL: install"
	exit 1
fi

# PostgreSQL refuses to run as root: run the suites as postgres in a copy
# of the tree that user owns.
if [ "$(id -u)" -eq 0 ]; then
	work=$(mktemp -d /tmp/pg_bac-test.XXXXXX)
	tar --exclude=.git -cf - . | tar -xf - -C "$work"
	chown -R postgres: "$work"
	echo "suites run in $work (removed after a green run unless BAC_KEEP=1)"
	as_pg() { runuser -u postgres -- env PATH="$PATH" BAC_SHARED="$BAC_SHARED" \
		BAC_SMALLFS="$BAC_SMALLFS" "$@"; }
else
	work=$root
	as_pg() { "$@"; }
fi
# A small filesystem for the disk-full tests (064): mounting needs root,
# so it is done here, before the suites, and unmounted at the end.  Not
# root: BAC_SMALLFS stays unset and those tests say SKIP.
BAC_SMALLFS=${BAC_SMALLFS:-}
smallfs_mounted=""
if [ -z "$BAC_SMALLFS" ] && [ "$(id -u)" -eq 0 ]; then
	BAC_SMALLFS=$(mktemp -d /tmp/pg_bac-smallfs.XXXXXX)
	if mount -t tmpfs -o size=64m,mode=0700 tmpfs "$BAC_SMALLFS"; then
		chown postgres: "$BAC_SMALLFS"
		smallfs_mounted=$BAC_SMALLFS
		echo "small filesystem (64 MB tmpfs) for the disk-full tests: $BAC_SMALLFS"
	else
		echo "could not mount a tmpfs: the disk-full tests will skip"
		rmdir "$BAC_SMALLFS"
		BAC_SMALLFS=""
	fi
fi
export BAC_SMALLFS
smallfs_cleanup()
{
	if [ -n "$smallfs_mounted" ]; then
		umount "$smallfs_mounted" && rmdir "$smallfs_mounted"
		smallfs_mounted=""
	fi
}
trap smallfs_cleanup EXIT

# ../shared (the sample corpora) sits beside the project in CI
BAC_SHARED=${BAC_SHARED:-$(cd "$root/.." && pwd)/shared}
export BAC_SHARED

passed=0
failed=0
failures=""

run_suite()
{
	local name=$1
	shift
	local log="$work/suite-$name.log"
	local t0=$SECONDS
	echo "== $name"
	# the demo suite starts as root: it shows what `make demo` does for root
	local as=as_pg
	[ "$name" = demo ] && as=
	if (cd "$work" && $as "$@") >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "ok: $name ($((SECONDS - t0)) s)"
		grep -E "^(ok|not ok|# All|All [0-9]+ tests|Result:|Files=|demo: |checkout copied)|skipped|# counts:" "$log" | tail -n 40
		# the TAP files that took longest (make test's budget is ~20 minutes)
		grep -E '^\[[0-9:]+\] test/t/[^ ]+ \.+ ok +[0-9]+ ms' "$log" |
			awk '{ printf "%d %s\n", $5 / 1000, $2 }' |
			sort -rn | head -n 8 |
			awk 'NR == 1 { printf "# slowest:" } { printf " %s %d s,", $2, $1 } END { if (NR) print "" }' || true
	else
		failed=$((failed + 1))
		failures="$failures $name"
		tail -n 60 "$log"
		for d in "$work/regression.diffs" "$work/output_iso/regression.diffs"; do
			[ -s "$d" ] && head -n 200 "$d"
		done
		echo "FAIL: $name ($((SECONDS - t0)) s, log $log)"
	fi
}

pgver=$($PG_CONFIG --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')
venv="pg_virtualenv -v $pgver -o fsync=off"

# a suite with no test in it is a failure, not a pass
has_tests()
{
	compgen -G "$1" >/dev/null || { echo "no tests match $1"; return 1; }
}

# demo_anywhere: `make demo` at test scale from a copy of the checkout in
# a directory postgres cannot read (mode 0700, like a clone under /root):
# the demo must not run anything as postgres from the checkout itself.
# Runs as root; the installation lock is ours already (BAC_LOCK_HELD).
demo_anywhere()
{
	local dir rc
	dir=$(mktemp -d "${HOME:-/root}/pg_bac-checkout.XXXXXX") || return 1
	chmod 0700 "$dir"
	tar --exclude=.git -cf - . | tar -xf - -C "$dir"
	if runuser -u postgres -- test -r "$dir/test/demo.sh"; then
		echo "postgres can read $dir/test/demo.sh: this would check nothing"
		rm -rf "$dir"
		return 1
	fi
	echo "checkout copied to $dir (mode 0700, unreadable by postgres)"
	(cd "$dir" && BAC_LOCK_HELD=1 DEMO_SCALE=1 DEMO_CLIENTS=2 make -s demo)
	rc=$?
	rm -rf "$dir"
	return $rc
}

for s in $SUITES; do
	case $s in
		regress) has_tests "sql/*.sql" &&
			run_suite regress $venv make -s installcheck-regress ;;
		isolation) has_tests "test/isolation/specs/*.spec" &&
			run_suite isolation $venv make -s installcheck-isolation ;;
		pgtap) has_tests "test/pgtap/*.sql" &&
			run_suite pgtap $venv make -s installcheck-pgtap ;;
		tap) has_tests "test/t/*.pl" &&
			run_suite tap make -s installcheck-tap PROVE_FLAGS="-I ./test/perl --timer" \
				${BAC_TAP_TESTS:+PROVE_TESTS="$BAC_TAP_TESTS"} ;;
		demo) if [ "$(id -u)" -eq 0 ]; then
				run_suite demo demo_anywhere
			else
				echo "== demo: skipped, not counted (needs root to show a checkout postgres cannot read)"
			fi ;;
		*) echo "unknown suite $s"; false ;;
	esac || { failed=$((failed + 1)); failures="$failures $s"; }
done

echo
[ -n "$failures" ] && echo "failed suites:$failures"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
[ "$work" != "$root" ] && [ -z "${BAC_KEEP:-}" ] && rm -rf "$work"
exit 0
