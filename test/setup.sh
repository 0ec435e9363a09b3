#!/usr/bin/env bash
# test/setup.sh - install what building and testing pg_bac needs, from
# Debian's archive, if it is missing.  Needs root (or sudo) only when
# something is missing.
set -euo pipefail

PKGS=(
	postgresql-15
	postgresql-server-dev-15
	postgresql-15-pgtap
	postgresql-common
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	libzstd-dev
	liblz4-dev
	zstd
	lz4
	postgresql-15-cron
	postgresql-15-postgis-3
	postgresql-15-postgis-3-scripts
	make
	valgrind
	gcc
)
# callers may add more (for example the benchmark asks for hyperfine)
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		SUDO=sudo
	else
		echo "setup: missing packages (${missing[*]}) and not root; install them and retry" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
