#!/usr/bin/env bash
# Builds the single-file agent: dist/eventops-x86_64-linux and dist/eventops-aarch64-linux.
# The binaries carry the same permission set as `deno task eventops` (deno.json "permissions.agent",
# plus --ignore-env for variables outside its allow-list). `deno compile` downloads the `denort`
# base binary for each target from Deno's release site: this works on a machine with internet
# access (a release pipeline); on machines that only reach package registries it fails at that step.
#
# DuckDB's Node-API addon needs its libduckdb.so next to it, so the binary is self-extracting: on
# first run it unpacks its embedded files beside itself (the install dir must be writable once,
# or run it once as root after installing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
deno="$(bash scripts/setup.sh)"
"$deno" task -q ui:build --check
mkdir -p dist
# The flags of the `eventops` task in deno.json (sandbox permission set, V8 heap sizing): one source.
# Leading NAME=value words (the agent's environment) are not flags: deploy/eventops.service sets them.
agent_flags="$("$deno" eval 'const words = JSON.parse(Deno.readTextFileSync("deno.json")).tasks.eventops.split(/\s+/);
while (/^[A-Z_][A-Z0-9_]*=/.test(words[0])) words.shift();
console.log(words.slice(2, -1).join(" "))')"
echo "compile: flags $agent_flags" >&2

build() {
  local target="$1" os_arch="$2" name="$3"
  echo "compile: $target" >&2
  # Bindings for the target platform (the arm64 .node file for the Raspberry Pi).
  "$deno" install --quiet --os linux --arch "$os_arch" >&2
  # shellcheck disable=SC2086 # the flags are words
  "$deno" compile $agent_flags --self-extracting \
    --target "$target" \
    --exclude "node_modules/.deno/@duckdb+node-bindings-linux-x64-musl@1.5.6-r.1" \
    --include pipeline/stateless_worker.ts \
    --output "dist/$name" main.ts
}

build x86_64-unknown-linux-gnu x64 eventops-x86_64-linux
build aarch64-unknown-linux-gnu arm64 eventops-aarch64-linux
"$deno" install --quiet >&2 # back to this machine's bindings
ls -la dist/ >&2
