#!/usr/bin/env bash
# Builds a trimmed OpenTelemetry Collector (the OTLP receiver and the contrib Kafka exporter only,
# scripts/otelcol/: main.go as the Collector's builder would write it, go.mod/go.sum pinning collector
# v0.165.0 / v1.71.0 and contrib v0.165.1) from the Go module proxy, once, into
# .cache/otelcol/otelcol-eventops-<version>. Idempotent: prints the binary's path and exits when it is
# built from the same sources. Needs Go (PATH or /usr/local/go/bin). Cold build: module download
# (~25 s) + `go build` (~1.5 min on 2 shared cores); cached: nothing to do.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="0.165.0"
src="$root/scripts/otelcol"
cache="$root/.cache/otelcol"
bin="$cache/otelcol-eventops-$version"
stamp="$bin.built"
sources="$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -d' ' -f1)"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sources" ]; then
  echo "$bin"
  exit 0
fi
go="$(command -v go || echo /usr/local/go/bin/go)"
[ -x "$go" ] || { echo "install-otelcol: go not found (PATH or /usr/local/go/bin/go)" >&2; exit 1; }
mkdir -p "$cache"
start=$(date +%s)
echo "install-otelcol: go build (collector v$version, kafkaexporter, otlpreceiver)" >&2
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod "$go" build -trimpath -ldflags "-s -w" -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
echo "$sources" >"$stamp"
echo "install-otelcol: built $("$bin" --version) in $(($(date +%s) - start))s" >&2
echo "$bin"
