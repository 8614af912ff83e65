#!/usr/bin/env bash
# `deno task compile`: the `deno compile` route, for machines that reach Deno's download site (or
# have DENORT_BIN, or $DENO_DIR/dl/release/v<version>/denort-<target>.zip): builds
# dist/eventops-<version>-linux-<arch>-compiled for x86_64 and aarch64. The machines this project is
# built on have neither, so there this stops at the denort download; `deno task package` is the
# route that works everywhere (README, "Deploy on a Pi").
#
# It compiles the same staging as `deno task package` (scripts/package/stage.ts: the modules of the
# graph and the runtime npm packages for the target only, no playwright, esbuild, uplot or musl
# bindings), with the same permission set, V8 flags and --node-modules-dir=manual. DuckDB's addon
# needs real files, so the binary is self-extracting (types are checked by `deno check`, not here): Deno unpacks it into .eventops/<hash> beside
# the binary, or, where that is read-only, into $XDG_DATA_HOME/eventops/<hash> (the systemd unit
# sets XDG_DATA_HOME=/var/cache, so /var/cache/eventops, its CacheDirectory=). The app's paths of the
# permission set are granted there: EVENTOPS_COMPILE_APP_DIR (default /var/cache/eventops).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
deno="$(bash scripts/setup.sh)"
"$deno" task -q ui:build --check
app_dir="${EVENTOPS_COMPILE_APP_DIR:-/var/cache/eventops}"
mkdir -p dist

build() {
  local arch="$1" target="$2" stage="$root/.cache/package/stage/$1"
  echo "compile: $arch" >&2
  "$deno" run -A scripts/package/stage.ts --arch "$arch" --out "$stage"
  local flags version entry
  mapfile -t flags < <("$deno" eval --quiet '
    import { resolveWord } from "./scripts/package/permissions.ts";
    const launch = JSON.parse(Deno.readTextFileSync(Deno.args[0]));
    for (const flag of launch.permissions) console.log(resolveWord(flag, Deno.args[1]));
    for (const flag of launch.flags) console.log(flag);' "$stage/launch.json" "$app_dir")
  version="$("$deno" eval --quiet 'console.log(JSON.parse(Deno.readTextFileSync(Deno.args[0])).version)' "$stage/launch.json")"
  entry="$("$deno" eval --quiet 'console.log(JSON.parse(Deno.readTextFileSync(Deno.args[0])).entry)' "$stage/launch.json")"
  # Worker modules are not in the static graph: include every staged module.
  local includes=()
  while IFS= read -r file; do includes+=(--include "$file"); done < <(cd "$stage/app" && find . -name '*.ts' -not -path './node_modules/*' | sort)
  (cd "$stage/app" && "$deno" compile --no-check --node-modules-dir=manual --no-remote --no-prompt --self-extracting \
    "${flags[@]}" "${includes[@]}" --target "$target" \
    --output "$root/dist/eventops-$version-linux-$arch-compiled" "$entry")
}

build x86_64 x86_64-unknown-linux-gnu
build aarch64 aarch64-unknown-linux-gnu
ls -la dist/ >&2
