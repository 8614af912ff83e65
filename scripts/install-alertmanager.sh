#!/usr/bin/env bash
# Builds the real Prometheus Alertmanager v0.28.1 that the alert-delivery tests push to, and its CLI
# amtool (the tests drive the agent's silences with it), from the Go module proxy, into
# .cache/alertmanager/ (once; later runs print the alertmanager binary's path and return at once).
# v0.28.1 builds as it is from the module (newer releases embed a UI the module does not ship).
# Needs Go >= 1.22 on PATH (or /usr/local/go/bin). Prints the binary's path on stdout.
set -euo pipefail
VERSION="v0.28.1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.cache/alertmanager/$VERSION"
bin="$dir/alertmanager"
if [ -x "$bin" ] && [ -x "$dir/amtool" ] && "$bin" --version 2>&1 | grep -q "version ${VERSION#v}"; then
  echo "$bin"
  exit 0
fi
PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "install-alertmanager: go not found (install Go >= 1.22)" >&2; exit 1; }
mkdir -p "$dir"
echo "install-alertmanager: go install github.com/prometheus/alertmanager/cmd/{alertmanager,amtool}@$VERSION" >&2
# Module and build caches stay under .cache/ so CI can keep them and nothing lands in $HOME.
export GOPATH="$root/.cache/go" GOMODCACHE="$root/.cache/go/mod" GOCACHE="$root/.cache/go/build"
export GOFLAGS="-modcacherw" CGO_ENABLED=0
GOBIN="$dir" go install -trimpath -ldflags "-X github.com/prometheus/common/version.Version=${VERSION#v}" \
  "github.com/prometheus/alertmanager/cmd/alertmanager@$VERSION" \
  "github.com/prometheus/alertmanager/cmd/amtool@$VERSION" >&2
"$bin" --version >&2
# The binary is all the tests need: drop the build cache (~1 GB), keep the module downloads.
go clean -cache >&2 || true
echo "$bin"
