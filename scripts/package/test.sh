#!/usr/bin/env bash
# `deno task test:package` (scripts/test.sh runs it after the main suite): installs the tools
# (scripts/package/install-tools.sh), builds the artifacts (`deno task package`: cached by content,
# seconds when nothing changed), builds the libseccomp loader (cached by its source), then runs
# tests/package/ against the real artifacts and the test broker ($EVENTOPS_TEST_BROKERS). Needs root:
# it installs and purges the .deb and makes a network namespace.
set -euo pipefail
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
[ "$(id -u)" -eq 0 ] || { echo "test:package: needs root (dpkg -i, unshare --net)" >&2; exit 1; }
deno="$(bash scripts/setup.sh)"
bash scripts/package/install-tools.sh
t0=$SECONDS
bash scripts/package/package.sh
echo "test:package: artifacts ready in $((SECONDS - t0)) s" >&2

source_sum="$(sha256sum tests/package/seccomp_exec.c | cut -c1-16)"
loader=".cache/package/seccomp_exec-$source_sum"
if [ ! -x "$loader" ]; then
  mkdir -p .cache/package
  cc -O2 -Wall -o "$loader.tmp" tests/package/seccomp_exec.c -lseccomp
  mv "$loader.tmp" "$loader"
fi
export EVENTOPS_SECCOMP_EXEC="$root/$loader"
rm -rf .tmp/package # what failed runs left for inspection
[ "$#" -gt 0 ] || set -- tests/package/
exec "$deno" test -P=test "$@"
