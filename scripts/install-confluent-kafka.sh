#!/usr/bin/env bash
# Installs the pinned Python confluent-kafka client with its Avro and JSON Schema serializers (and their
# pinned dependencies, scripts/confluent-kafka-requirements.txt) from PyPI into a virtual environment under
# .cache/confluent-kafka/, for the registry tests (a real registry-aware producer).
# Idempotent: does nothing when that venv already has the pinned requirements. Needs python3 with the venv
# module (scripts/install-schemathesis.sh installs python3-venv when missing). Prints the python's path.
set -euo pipefail
VERSION="2.16.1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$root/scripts/confluent-kafka-requirements.txt"
venv="$root/.cache/confluent-kafka/venv"
python="$venv/bin/python"
stamp="$venv/.requirements"

if [ -x "$python" ] && [ -f "$stamp" ] && cmp -s "$requirements" "$stamp"; then
  echo "$python"
  exit 0
fi
grep -q "^confluent-kafka==$VERSION\$" "$requirements" ||
  { echo "install-confluent-kafka: $requirements does not pin confluent-kafka==$VERSION" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 ||
  { echo "install-confluent-kafka: python3 is needed (Debian: apt-get install python3 python3-venv)" >&2; exit 1; }

echo "install-confluent-kafka: installing confluent-kafka $VERSION into .cache/confluent-kafka/venv" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
"$python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2
"$python" -c "import importlib.metadata as m, sys; sys.exit(m.version('confluent-kafka') != '$VERSION')" ||
  { echo "install-confluent-kafka: $python does not import confluent-kafka $VERSION" >&2; exit 1; }
"$python" -c "import confluent_kafka.schema_registry.avro, confluent_kafka.schema_registry.json_schema"
cp "$requirements" "$stamp"
echo "$python"
