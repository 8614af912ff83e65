#!/usr/bin/env bash
# Ensures the pinned Deno is available at .tools/bin/deno (installed from the npm package `deno`,
# no other download) and that every npm dependency in deno.lock is installed into node_modules.
set -euo pipefail
DENO_VERSION="2.9.6"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="$root/.tools/bin/deno"
if ! { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "deno $DENO_VERSION "; }; then
  echo "setup: installing deno $DENO_VERSION from npm into .tools/" >&2
  mkdir -p .tools/bin
  npm install --no-save --no-audit --no-fund --prefix .tools "deno@$DENO_VERSION" >&2
  # The npm package ships the binary in a platform package; link it directly (no postinstall needed).
  real="$(find "$root/.tools/node_modules/@deno" -maxdepth 3 -type f -name deno | head -n 1)"
  [ -n "$real" ] || { echo "setup: deno binary not found in the npm package" >&2; exit 1; }
  chmod +x "$real"
  ln -sf "$real" "$bin"
fi
"$bin" install --frozen >&2
echo "$bin"
