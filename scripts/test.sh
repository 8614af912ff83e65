#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the pinned Deno (from npm), kcat and
# chromium (Debian), builds Alertmanager v0.28.1, a trimmed Telegraf and a trimmed OpenTelemetry
# Collector from the Go module proxy
# (needs Go; once, into .cache/), starts a dedicated local Kafka broker, runs `deno task test`, then the
# reliability suite (`deno task test:reliability`: poison pills, broker outages on a broker of its
# own, SIGKILL loops, the hostile corpus, schemathesis over /openapi.json: pinned, from PyPI into
# .cache/schemathesis), then `deno task test:package` (builds the executables and .debs, tests them
# as a user gets them), stops the broker.
set -euo pipefail
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

deno="$(bash scripts/setup.sh)"
bash scripts/install-kcat.sh
bash scripts/install-chromium.sh
bash scripts/install-schemathesis.sh >/dev/null
# A real Alertmanager for the alert-delivery tests (built once from the Go module proxy, cached).
bash scripts/install-alertmanager.sh >/dev/null
# A trimmed Telegraf for the collect tests (scripts/install-telegraf.sh, cached).
bash scripts/install-telegraf.sh >/dev/null
# A trimmed OpenTelemetry Collector (OTLP receiver, Kafka exporter) for the collect tests (cached).
bash scripts/install-otelcol.sh >/dev/null
# The registry tests' real parts: AxonOps Schema Registry (Go build, cached) and the Python
# confluent-kafka producer (pinned, cached venv).
bash scripts/install-schema-registry.sh >/dev/null
bash scripts/install-confluent-kafka.sh >/dev/null

export EVENTOPS_BROKER_PORT="${EVENTOPS_TEST_BROKER_PORT:-19092}"
export EVENTOPS_TEST_BROKERS="127.0.0.1:$EVENTOPS_BROKER_PORT"
started=0
if ! bash scripts/broker/broker.sh status >/dev/null 2>&1; then
  bash scripts/broker/broker.sh start
  started=1
fi
# A native crash of an agent under test (the harness reports its signal) leaves a core file where the
# kernel's core_pattern says (here `core`, in the repository): kept in .cache/cores, with a backtrace
# when gdb is on the machine.
ulimit -c unlimited 2>/dev/null || true
report_cores() {
  local core
  for core in core core.[0-9]*; do
    [ -f "$core" ] || continue
    mkdir -p .cache/cores
    mv "$core" ".cache/cores/$core.$(date +%s)"
    echo "test.sh: a process crashed and dumped .cache/cores/$core.*" >&2
    if command -v gdb >/dev/null; then
      gdb -batch -ex "bt 20" -c "$(ls -t .cache/cores/"$core".* | head -1)" 2>/dev/null | tail -30 >&2 || true
    fi
  done
}
cleanup() {
  report_cores
  if [ "$started" = 1 ]; then bash scripts/broker/broker.sh stop; fi
}
trap cleanup EXIT

"$deno" fmt --check
"$deno" lint
"$deno" check main.ts mod.ts pipeline/stateless/worker.ts
"$deno" task test "$@"
"$deno" task test:reliability
# The packaged artifacts (executables, .deb, unit, compose): built and tested as a user gets them.
"$deno" task test:package
