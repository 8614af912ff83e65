#!/usr/bin/env bash
# The demo, end to end on a fresh machine: installs the pinned Deno (from npm) and kcat, starts the
# local Kafka broker (Apache Kafka from Maven Central), creates the topics, starts the agent, sends
# the brief's seed events, prints the URLs, and keeps running until Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

deno="$(bash scripts/setup.sh)"
bash scripts/install-kcat.sh || echo "demo: kcat could not be installed (the brief's kcat examples need it)" >&2
bash scripts/broker/broker.sh start

port="${EVENTOPS_HTTP_PORT:-8088}"
# The brief's seed events are from 2025-10-21: with the default 30-day retention the first maintenance
# run (a minute after start) would delete them again. The demo keeps everything.
export EVENTOPS_RETENTION="${EVENTOPS_RETENTION:-0s}"
# The machine's own CPU, memory and disk (collect.host), as the packaged config has them.
export EVENTOPS_COLLECT_HOST="${EVENTOPS_COLLECT_HOST:-true}"
"$deno" task -q eventops init

"$deno" task -q eventops run &
agent=$!
stop() {
  trap - INT TERM EXIT
  echo "demo: stopping the agent" >&2
  kill -TERM "$agent" 2>/dev/null || true
  wait "$agent" 2>/dev/null || true
  if [ "${EVENTOPS_KEEP_BROKER:-0}" != "1" ]; then bash scripts/broker/broker.sh stop; fi
}
trap stop INT TERM EXIT

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$agent" 2>/dev/null || { echo "demo: the agent exited" >&2; exit 1; }
  sleep 0.5
done

# Send the seed events once (a second demo run finds them stored already).
# (-s without -S: a 404 before the first event is the expected answer, not an error to print)
if curl -fs "http://127.0.0.1:$port/metrics/cpu?tenant=acme&host=host-a" | grep -q '"value":97'; then
  echo "demo: seed events already stored" >&2
else
  "$deno" task -q eventops seed
fi
for _ in $(seq 1 40); do
  curl -fs "http://127.0.0.1:$port/metrics/cpu?tenant=acme&host=host-a" | grep -q '"value":97' && break
  sleep 0.25
done

echo
"$deno" task -q eventops urls
echo
echo "Try:  curl \"http://localhost:$port/metrics/cpu?tenant=acme&host=host-a\""
echo "      curl -N http://localhost:$port/alerts/stream"
echo "      ./eventops query \"SELECT tenant, host, metric, value, ts FROM metrics_all ORDER BY ts DESC LIMIT 5\""
echo "The agent keeps running; press Ctrl-C to stop it (and the local broker)."
wait "$agent"
