#!/bin/sh
# EventOps Flow @VERSION@ for Linux @ARCH@: one self-extracting file (this POSIX sh stub, then an xz
# tar archive of the Deno @DENO_VERSION@ runtime, the agent's modules and its runtime npm packages).
#
# On first start it checks the archive against its SHA-256 and unpacks it into a cache directory,
# never next to itself:
#   $EVENTOPS_CACHE_DIR, else systemd's $CACHE_DIRECTORY (the unit's CacheDirectory=), else
#   /var/cache/eventops when it belongs to the user running this, else $XDG_CACHE_HOME/eventops,
#   else $HOME/.cache/eventops
# into <cache>/@VERSION@-@ARCH@-@PAYLOAD_ID@/. Later starts reuse that directory when its stamp holds
# this archive's checksum. The agent then runs as `deno task eventops` does: the permission set
# `agent` of deno.json (relative paths in the working directory and the unpacked app), the same V8
# flags, npm packages only from the unpacked node_modules (--node-modules-dir=manual), no remote
# modules. Other versions' directories are left alone: remove them with `rm -rf`.
#
# EVENTOPS_EMULATOR runs the unpacked runtime through a program (for example
# "qemu-aarch64-static -L /usr/aarch64-linux-gnu" to try the aarch64 build on an x86_64 machine).
set -eu

version='@VERSION@'
arch='@ARCH@'
payload_sha256='@PAYLOAD_SHA256@'
payload_bytes='@PAYLOAD_BYTES@'
payload_id='@PAYLOAD_ID@'

die() {
  echo "eventops: $*" >&2
  exit 1
}

self="$0"
case "$self" in
  */*) ;;
  *) self="$(command -v -- "$self")" || die "cannot find myself ($0)" ;;
esac

if [ -z "${EVENTOPS_EMULATOR:-}" ] && [ "$(uname -m)" != "$arch" ]; then
  die "this is the $arch build and this machine is $(uname -m): use eventops-$version-linux-$(uname -m)"
fi

if [ -n "${EVENTOPS_CACHE_DIR:-}" ]; then
  cache="$EVENTOPS_CACHE_DIR"
elif [ -n "${CACHE_DIRECTORY:-}" ]; then
  cache="${CACHE_DIRECTORY%%:*}"
elif [ -d /var/cache/eventops ] && [ -O /var/cache/eventops ]; then
  cache=/var/cache/eventops
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
  cache="$XDG_CACHE_HOME/eventops"
elif [ -n "${HOME:-}" ]; then
  cache="$HOME/.cache/eventops"
else
  die "no cache directory: set EVENTOPS_CACHE_DIR to a writable directory"
fi
case "$cache" in
  /*) ;;
  *) cache="$(pwd)/$cache" ;;
esac
dir="$cache/$version-$arch-$payload_id"
case "$dir" in
  *,*) die "the cache directory may not contain a comma: $dir" ;;
esac

unpacked() {
  [ -f "$dir/.unpacked" ] && [ "$(cat "$dir/.unpacked")" = "$payload_sha256" ]
}

unpack() {
  for tool in tail xz tar sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "unpacking needs '$tool' (Debian: apt install xz-utils tar coreutils)"
  done
  mkdir -p "$cache" || die "cannot create the cache directory $cache (set EVENTOPS_CACHE_DIR)"
  [ -w "$cache" ] || die "cannot write the cache directory $cache (set EVENTOPS_CACHE_DIR)"
  sum="$(tail -c "$payload_bytes" "$self" | sha256sum)"
  [ "${sum%% *}" = "$payload_sha256" ] || die "$self is damaged (checksum mismatch): download it again"
  tmp="$(mktemp -d "$cache/.unpack-XXXXXX")"
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
  echo "eventops: unpacking $version ($arch) into $dir" >&2
  tail -c "$payload_bytes" "$self" | xz -dc -T0 | tar -xf - -C "$tmp" --no-same-owner ||
    die "unpacking into $cache failed (disk full?)"
  mkdir -m 0700 "$tmp/deno-dir"
  chmod 0755 "$tmp"
  chmod -R a-w "$tmp/app" "$tmp/deno"
  printf '%s\n' "$payload_sha256" >"$tmp/.unpacked"
  if [ -e "$dir" ] && ! unpacked; then
    chmod -R u+w "$dir" 2>/dev/null || true
    rm -rf "$dir"
  fi
  mv -T "$tmp" "$dir" 2>/dev/null || unpacked || die "cannot move the unpacked files to $dir"
  chmod -R u+w "$tmp" 2>/dev/null || true
  rm -rf "$tmp"
  trap - EXIT
}

unpacked || unpack

# v8_heap_mib BUDGET: V8's old space for EVENTOPS_MEMORY_BUDGET (config/memory.ts v8OldSpaceMiB: 40%
# of the budget in MiB, 64..1024); nothing for a value that is not a size (the agent then refuses it).
v8_heap_mib() {
  printf '%s\n' "$1" | awk '{
    s = tolower($0); gsub(/[ \t]/, "", s)
    if (!match(s, /^[0-9]+(\.[0-9]+)?/)) exit 1
    n = substr(s, 1, RLENGTH); u = substr(s, RLENGTH + 1)
    if (u == "b") f = 1; else if (u == "kb") f = 1e3; else if (u == "mb") f = 1e6; else if (u == "gb") f = 1e9
    else if (u == "kib") f = 1024; else if (u == "mib") f = 1048576; else if (u == "gib") f = 1073741824
    else exit 1
    m = int(int(n * f / 1048576) * 2 / 5)
    if (m < 64) m = 64; if (m > 1024) m = 1024
    print m
  }'
}
# v8_semi_mib OLD_SPACE_MIB: V8's semi-space for that old space (config/memory.ts v8SemiSpaceMiB).
v8_semi_mib() {
  if [ "$1" -lt 160 ]; then echo 2; elif [ "$1" -lt 320 ]; then echo 4; else echo 8; fi
}
# The V8 heap can only be limited at start: derived here from EVENTOPS_MEMORY_BUDGET (a later
# --v8-flags wins over the task's --max-old-space-size and --max-semi-space-size).
heap_flag=''
if [ -n "${EVENTOPS_MEMORY_BUDGET:-}" ]; then
  heap_mib="$(v8_heap_mib "$EVENTOPS_MEMORY_BUDGET")" || heap_mib=''
  [ -z "$heap_mib" ] ||
    heap_flag="--v8-flags=--max-old-space-size=$heap_mib,--max-semi-space-size=$(v8_semi_mib "$heap_mib")"
fi

app="$dir/app"
export DENO_DIR="$dir/deno-dir" DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
@ENV@
# shellcheck disable=SC2086 # EVENTOPS_EMULATOR is a command with its arguments
exec ${EVENTOPS_EMULATOR:-} "$dir/deno" run --config "$app/deno.json" --lock="$app/deno.lock" --frozen \
  --node-modules-dir=manual --no-remote --cached-only --no-prompt \
  @FLAGS@ \
  ${heap_flag} "$app/@ENTRY@" "$@"
