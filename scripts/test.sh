#!/usr/bin/env bash
# The README's test command after `npm ci`: installs the Debian tools the tests and
# benchmarks compare against, type-checks, then runs the suites.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v b3sum >/dev/null 2>&1 || need_pkgs+=(b3sum)
command -v rsync >/dev/null 2>&1 || need_pkgs+=(rsync)
command -v grub-editenv >/dev/null 2>&1 || need_pkgs+=(grub-common)
command -v fw_setenv >/dev/null 2>&1 || need_pkgs+=(u-boot-tools)
command -v rauc >/dev/null 2>&1 || need_pkgs+=(rauc)
command -v dbus-daemon >/dev/null 2>&1 || need_pkgs+=(dbus-daemon)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need_pkgs[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "not root or no apt-get: tests that need ${need_pkgs[*]} will skip with a reason"
  fi
fi

npm run --silent typecheck
npm run --silent build
# the suites spawn the compiled CLI (test/helpers/cli.ts)
export STOREMESH_TEST_CLI=dist
npx tap 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/lab/**/*.test.ts'
