#!/usr/bin/env bash
# Measures the packaged executables for the README: size, `run` start-up until /readyz answers with
# an empty cache (unpacking included) and with the cache filled, and the agent's idle RSS 10 s after
# ready. The aarch64 build runs under qemu-aarch64-static here (emulated: its times are not a Pi's).
#   EVENTOPS_BROKERS=127.0.0.1:<port> bash scripts/package/measure.sh [x86_64|aarch64 ...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/deno.json")"
brokers="${EVENTOPS_BROKERS:?set EVENTOPS_BROKERS to a running broker}"
[ "$#" -gt 0 ] || set -- x86_64 aarch64

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

measure_start() { # exe work port emulator -> $elapsed: seconds to ready; $agent: the agent's pid
  local exe="$1" work="$2" port="$3" emulator="$4" t0
  t0="$(now)"
  (cd "$work" && exec env -i PATH=/usr/bin:/bin EVENTOPS_CACHE_DIR="$work/cache" EVENTOPS_EMULATOR="$emulator" \
    EVENTOPS_BROKERS="$brokers" EVENTOPS_HTTP_HOST=127.0.0.1 EVENTOPS_HTTP_PORT="$port" \
    "$exe" run >"$work/run.log" 2>&1) &
  agent=$!
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$agent" 2>/dev/null || { cat "$work/run.log" >&2; exit 1; }
    sleep 0.1
  done
  elapsed="$(seconds "$t0" "$(now)")"
}

stop_agent() {
  kill -TERM "$agent"
  wait "$agent" || true
}

for arch in "$@"; do
  exe="$root/dist/eventops-$version-linux-$arch"
  emulator=""
  [ "$arch" = "$(uname -m)" ] || emulator="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
  work="$(mktemp -d)"
  port=$((18000 + RANDOM % 2000))
  measure_start "$exe" "$work" "$port" "$emulator"
  first="$elapsed"
  stop_agent
  measure_start "$exe" "$work" "$port" "$emulator"
  later="$elapsed"
  sleep 10
  rss_kb="$(ps -o rss= -p "$agent" | tr -d ' ')"
  stop_agent
  echo "$arch${emulator:+ (under qemu)}: $(du -m "$exe" | cut -f1) MB ($(stat -c %s "$exe") bytes)," \
    "first start ${first} s, later ${later} s, idle RSS $((rss_kb / 1024)) MB," \
    "unpacked $(du -sm "$work/cache" | cut -f1) MB"
  chmod -R u+w "$work" && rm -rf "$work"
done
