#!/usr/bin/env bash
# The README's test command after `npm ci`: installs the Debian tools the tests and
# benchmarks compare against, type-checks, then runs the suites.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v b3sum >/dev/null 2>&1 || need_pkgs+=(b3sum)
command -v rsync >/dev/null 2>&1 || need_pkgs+=(rsync)
command -v grub-editenv >/dev/null 2>&1 || need_pkgs+=(grub-common)
# Debian 12 ships fw_printenv/fw_setenv (libubootenv) in libubootenv-tool, not u-boot-tools
command -v fw_setenv >/dev/null 2>&1 || need_pkgs+=(libubootenv-tool)
command -v rauc >/dev/null 2>&1 || need_pkgs+=(rauc)
command -v dbus-daemon >/dev/null 2>&1 || need_pkgs+=(dbus-daemon)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
# systemd-analyze verify/security check the units in systemd/ (test/unit/deploy)
command -v systemd-analyze >/dev/null 2>&1 || need_pkgs+=(systemd)
# the fleet ledger's tests start a throw-away PostgreSQL server (initdb + pg_ctl in a temp dir)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
# the origin tests serve a published origin from a real nginx on a loopback port
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_pkgs+=(nginx)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need_pkgs[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "not root or no apt-get: tests that need ${need_pkgs[*]} will skip with a reason"
  fi
fi

# Type-checks src, test and bench and compiles them into .test-build/ in one pass:
# tap runs the suites as JavaScript (.taprc-compiled), so none of the ~120 test
# processes and the helpers they spawn loads tsx's loader (0.4 s and 0.7 CPU-s less
# each). One file still runs from source: `npx tap test/unit/x.test.ts`.
rm -rf .test-build
npx tsc -p tsconfig.json --outDir .test-build
mkdir -p .test-build/src/api
cp src/api/dashboard.html .test-build/src/api/dashboard.html
npm run --silent build
# the suites spawn the compiled CLI (test/support/cli.ts)
export STOREMESH_TEST_CLI=dist
# tap's output also goes to a file, for the summary below; through the pipe tap sees no
# terminal, so keep its colours (and with them its human reporter) when we have one
tap_out=$(mktemp)
trap 'rm -f "$tap_out"' EXIT
tap_color=()
[ -t 1 ] && tap_color=(--color)
set +e
TAP_RCFILE="$PWD/.taprc-compiled" npx tap "${tap_color[@]}" \
  '.test-build/test/unit/**/*.test.js' '.test-build/test/integration/**/*.test.js' '.test-build/test/lab/**/*.test.js' \
  | tee "$tap_out"
tap_status=${PIPESTATUS[0]}
set -e

# The summary CI reads, alone on the last line: `N passed, N failed, N skipped`, counted
# over test points (asserts) as tap counts them. Every reporter ends with tap's own
# `# { total: T, pass: P, fail: F, todo: D, skip: S }`; a skipped subtest or file is
# one skip, a todo counts as skipped (it is not asserted). Skips are listed first, by
# file, with their reasons (the TAP reporter's `# SKIP reason` lines).
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$tap_out")
summary=$(printf '%s\n' "$plain" | grep -E '^# \{ total: [0-9]+' | tail -n 1 || true)
count () { printf '%s' "$summary" | grep -oE "(^|[ {])$1: [0-9]+" | grep -oE '[0-9]+$' || echo 0; }
skips=$(printf '%s\n' "$plain" | awk '
  /^# Subtest: / { file = substr($0, 12) }
  /^ *(not )?ok [0-9]+ .*# SKIP/ {
    line = $0; sub(/^ *(not )?ok [0-9]+ - /, "", line)
    print (/^ / ? file ": " : "") line
  }')
if [ -n "$skips" ]; then
  echo
  echo "skipped, with the reason:"
  printf '%s\n' "$skips" | sed 's/^/  /'
fi
# Failed asserts, by file, so a red run names what failed even where CI keeps only
# the tail of the log (tap prints each `not ok` deep inside its file's subtests).
fails=$(printf '%s\n' "$plain" | awk '
  /^# Subtest: \.test-build\// { file = substr($0, 12) }
  /^ *not ok [0-9]+ / && !/# (SKIP|TODO)/ {
    line = $0; sub(/^ *not ok [0-9]+ - /, "", line)
    print file ": " line
  }' | cut -c 1-400 | head -n 40)
if [ -n "$fails" ]; then
  echo
  echo "failed:"
  printf '%s\n' "$fails" | sed 's/^/  /'
fi
if [ -z "$summary" ]; then
  echo "tap printed no summary (exit status $tap_status)"
  [ "$tap_status" -eq 0 ] && tap_status=1
  echo "0 passed, 1 failed, 0 skipped"
  exit "$tap_status"
fi
passed=$(count pass)
failed=$(count fail)
skipped=$(( $(count skip) + $(count todo) ))
# a failed assert fails the run even if tap's exit status said otherwise
[ "$failed" -gt 0 ] && [ "$tap_status" -eq 0 ] && tap_status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit "$tap_status"
