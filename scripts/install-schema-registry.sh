#!/usr/bin/env bash
# Builds the pinned AxonOps Schema Registry (Apache-2.0, Go; a Confluent-compatible schema registry) from
# the Go module proxy into .cache/schema-registry/, for the registry tests (tests/e2e/registry/).
# `go install …@v0.2.1` is refused by the proxy (the module has replace directives), so the tag is
# required from a throwaway module that imports the command and `go build` builds it there.
# Idempotent: does nothing when the cached binary was built for this version. Needs Go (>= 1.24;
# /usr/local/go/bin/go or go on PATH). Prints the binary's path.
set -euo pipefail
VERSION="v0.2.1"
MODULE="github.com/axonops/axonops-schema-registry"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.cache/schema-registry"
bin="$dir/schema-registry-$VERSION"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
go="$(command -v go || true)"
[ -n "$go" ] || go=/usr/local/go/bin/go
[ -x "$go" ] || { echo "install-schema-registry: Go is needed (https://go.dev/dl/)" >&2; exit 1; }

echo "install-schema-registry: building $MODULE@$VERSION into .cache/schema-registry" >&2
build="$dir/build"
rm -rf "$build"
mkdir -p "$build"
cd "$build"
export GOFLAGS="-mod=mod" GOTOOLCHAIN=local
"$go" mod init eventops.local/schema-registry-build >/dev/null 2>&1
cat >tools.go <<GO
//go:build tools

package tools

import _ "$MODULE/cmd/schema-registry"
GO
"$go" get "$MODULE@$VERSION" >&2
"$go" build -trimpath -o "$bin.tmp" "$MODULE/cmd/schema-registry" >&2
mv "$bin.tmp" "$bin"
cd "$root"
rm -rf "$build"
echo "$bin"
