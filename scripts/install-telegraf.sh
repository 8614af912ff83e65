#!/usr/bin/env bash
# Builds a trimmed Telegraf (only the plugins the collect tests use) from the Go module proxy, once,
# into .cache/telegraf/telegraf-<version>. Idempotent: prints the binary's path and exits when it is
# already built. Needs Go (PATH or /usr/local/go/bin). Cold build: module download + `go build -tags
# custom,<plugins>` (Telegraf's docs/CUSTOMIZATION.md); cached: nothing to do.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="1.37.2"
plugins="inputs.cpu,inputs.mem,outputs.file,outputs.influxdb,outputs.influxdb_v2,outputs.http,outputs.kafka,serializers.prometheusremotewrite,serializers.influx"
cache="$root/.cache/telegraf"
bin="$cache/telegraf-$version"
stamp="$bin.built"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$plugins" ]; then
  echo "$bin"
  exit 0
fi
go="$(command -v go || echo /usr/local/go/bin/go)"
[ -x "$go" ] || { echo "install-telegraf: go not found (PATH or /usr/local/go/bin/go)" >&2; exit 1; }
mkdir -p "$cache"
start=$(date +%s)
modcache="$("$go" env GOMODCACHE)"
echo "install-telegraf: downloading github.com/influxdata/telegraf@v$version" >&2
dir="$(cd "$cache" && GOFLAGS=-mod=mod "$go" mod download -json "github.com/influxdata/telegraf@v$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
[ -d "$dir" ] || { echo "install-telegraf: module not in $modcache" >&2; exit 1; }
src="$cache/src-$version"
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
echo "install-telegraf: go build -tags custom,$plugins" >&2
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod "$go" build -trimpath -ldflags "-s -w -X github.com/influxdata/telegraf/internal.Version=$version" \
  -tags "custom,$plugins" -o "$bin.tmp" ./cmd/telegraf)
mv "$bin.tmp" "$bin"
echo "$plugins" >"$stamp"
rm -rf "$src"
echo "install-telegraf: built $("$bin" --version) in $(($(date +%s) - start))s" >&2
echo "$bin"
