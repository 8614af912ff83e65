#!/usr/bin/env bash
# Install kcat (Kafka CLI client) from Debian if it is not already on PATH.
# Idempotent and quiet when kcat is present. Needs root (or sudo) for apt-get.
set -euo pipefail

if command -v kcat >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-kcat: kcat missing and not root (no sudo); install package 'kcat' manually" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when apt does not know the package yet.
if ! apt-cache show kcat >/dev/null 2>&1 || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
  echo "install-kcat: apt-get update" >&2
  $SUDO apt-get update -qq >/dev/null 2>&1 || echo "install-kcat: apt-get update failed (continuing)" >&2
fi
echo "install-kcat: apt-get install kcat" >&2
out="$($SUDO apt-get install -y -qq --no-install-recommends kcat 2>&1)" || {
  echo "$out" >&2; echo "install-kcat: apt-get install kcat failed" >&2; exit 1; }
command -v kcat >/dev/null 2>&1 || { echo "install-kcat: kcat still not on PATH" >&2; exit 1; }
echo "install-kcat: $(kcat -V 2>&1 | head -1)" >&2
