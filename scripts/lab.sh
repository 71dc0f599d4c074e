#!/usr/bin/env bash
# `npm run lab`: the network-namespace lab and its failure drills (test/lab, issue 7).
# Needs root and working `ip netns`; where it cannot run it says why and exits 0, as
# each lab test also does on its own (CI runs them inside `npm test`).
# Extra arguments go to tap: options (`npm run lab -- --reporter=tap`) and/or lab test
# files (`npm run lab -- test/lab/wan-cut.test.ts`); with no file, every lab test runs.
set -euo pipefail
cd "$(dirname "$0")/.."

skip () {
  echo "lab skipped: $1"
  exit 0
}

[ "$(uname -s)" = "Linux" ] || skip "network namespaces need Linux (this is $(uname -s))"
[ "$(id -u)" = "0" ] || skip "the lab needs root (ip netns, veth, bridge, tc); run: sudo npm run lab"
command -v ip >/dev/null 2>&1 || skip "iproute2 (ip) is not installed: apt-get install iproute2"
command -v tc >/dev/null 2>&1 || skip "tc is not installed: apt-get install iproute2"
probe="smlab$$-probe"
if ! out=$(ip netns add "$probe" 2>&1); then
  skip "\`ip netns add\` failed: $out"
fi
ip netns del "$probe" >/dev/null 2>&1 || true

# tap given no file runs the whole suite: name the lab's files unless a file was given
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    *) exec npx tap "$@" ;;
  esac
done
exec npx tap "$@" 'test/lab/**/*.test.ts'
