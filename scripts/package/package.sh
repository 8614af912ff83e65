#!/usr/bin/env bash
# `deno task package`: builds, from this machine and without Deno's download site,
#   dist/eventops-<version>-linux-x86_64 and dist/eventops-<version>-linux-aarch64 (one
#   self-extracting executable each: scripts/package/build.ts) and
#   dist/eventops_<version>_amd64.deb and dist/eventops_<version>_arm64.deb (scripts/package/deb.sh).
# Arguments: the architectures to build (default both). The compressed archives are cached under
# .cache/package/payload/ by their contents, so a rebuild with unchanged inputs takes seconds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
deno="$(bash scripts/setup.sh)"
"$deno" task -q ui:build --check
arches=("$@")
[ "${#arches[@]}" -gt 0 ] || arches=(x86_64 aarch64)
for arch in "${arches[@]}"; do
  "$deno" run -A scripts/package/build.ts "$arch"
  bash scripts/package/deb.sh "$arch"
done
ls -l dist/ >&2
