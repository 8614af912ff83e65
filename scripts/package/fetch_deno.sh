#!/usr/bin/env bash
# Fetches the pinned Deno runtime for a Linux target from npm (the package @deno/linux-<cpu>-glibc,
# which `npm pack` checks against the registry's integrity hash) into .cache/package/deno/<arch>/,
# once. Prints the binary's path.
#   bash scripts/package/fetch_deno.sh x86_64|aarch64 VERSION
set -euo pipefail
arch="$1" version="$2"
case "$arch" in
  x86_64) cpu=x64 ;;
  aarch64) cpu=arm64 ;;
  *) echo "fetch_deno: unknown arch $arch" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$root/.cache/package/deno/$arch-$version"
if [ ! -x "$dir/deno" ]; then
  echo "fetch_deno: npm pack @deno/linux-$cpu-glibc@$version" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@deno/linux-$cpu-glibc@$version" >/dev/null)
  tar -xzf "$tmp"/deno-linux-"$cpu"-glibc-"$version".tgz -C "$tmp" package/deno
  mkdir -p "$dir"
  install -m 0755 "$tmp/package/deno" "$dir/deno.tmp"
  mv "$dir/deno.tmp" "$dir/deno"
fi
echo "$dir/deno"
