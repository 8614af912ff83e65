#!/usr/bin/env bash
# Builds dist/eventops_<version>_<amd64|arm64>.deb with dpkg-deb from the executable that
# scripts/package/build.ts made (dist/eventops-<version>-linux-<arch>):
#   /usr/bin/eventops                      the self-extracting executable
#   /lib/systemd/system/eventops.service   deploy/eventops.service
#   /etc/eventops/eventops.yaml            eventops.yaml with data_dir /var/lib/eventops (a conffile)
#   DEBIAN/postinst, prerm, postrm         deploy/debian/ (user, token, unpack, enable/restart/stop, purge)
#
#   bash scripts/package/deb.sh x86_64|aarch64
set -euo pipefail
arch="$1"
case "$arch" in
  x86_64) debarch=amd64 ;;
  aarch64) debarch=arm64 ;;
  *) echo "deb: unknown arch $arch" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' deno.json)"
[ -n "$version" ] || { echo "deb: no version in deno.json" >&2; exit 1; }
exe="dist/eventops-$version-linux-$arch"
[ -x "$exe" ] || { echo "deb: $exe missing (deno task package builds it)" >&2; exit 1; }

tree=".cache/package/deb/$arch"
rm -rf "$tree"
install -d -m 0755 "$tree/DEBIAN" "$tree/usr/bin" "$tree/lib/systemd/system" "$tree/etc/eventops" \
  "$tree/usr/share/doc/eventops"
install -m 0755 "$exe" "$tree/usr/bin/eventops"
install -m 0644 deploy/eventops.service "$tree/lib/systemd/system/eventops.service"
{
  echo "# Installed by the eventops package; your edits are kept on upgrades (a dpkg conffile)."
  echo "# The API token is in /etc/eventops/env (EVENTOPS_HTTP_TOKEN, made at install, root only)."
  sed -e 's|^data_dir: ./data$|data_dir: /var/lib/eventops|' \
    -e 's|^    enabled: false # env EVENTOPS_COLLECT_HOST=true$|    enabled: true # the device'"'"'s own metrics (env EVENTOPS_COLLECT_HOST)|' eventops.yaml
} >"$tree/etc/eventops/eventops.yaml"
grep -q '^data_dir: /var/lib/eventops$' "$tree/etc/eventops/eventops.yaml" ||
  { echo "deb: eventops.yaml has no 'data_dir: ./data' line to point at /var/lib/eventops" >&2; exit 1; }
grep -q '^    enabled: true # the device' "$tree/etc/eventops/eventops.yaml" ||
  { echo "deb: eventops.yaml has no collect.host 'enabled: false' line to turn on" >&2; exit 1; }
chmod 0640 "$tree/etc/eventops/eventops.yaml"
install -m 0644 README.md "$tree/usr/share/doc/eventops/README.md"
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$tree/DEBIAN/"
echo /etc/eventops/eventops.yaml >"$tree/DEBIAN/conffiles"
size_kb="$(du -sk --exclude=DEBIAN "$tree" | cut -f1)"
cat >"$tree/DEBIAN/control" <<CONTROL
Package: eventops
Version: $version
Architecture: $debarch
Maintainer: EventOps Flow developers <dev@eventops.local>
Installed-Size: $size_kb
Depends: adduser, xz-utils, passwd
Section: net
Priority: optional
Description: EventOps Flow edge telemetry agent
 One permission-sandboxed program that consumes raw telemetry from a Kafka-compatible
 broker (Redpanda, Kafka), normalizes and enriches it, computes rolling features,
 evaluates alert rules, stores metrics in DuckDB and Parquet, and serves an HTTP/SSE
 API and a dashboard on port 8088. Runs as the systemd service eventops.
CONTROL
out="dist/eventops_${version}_${debarch}.deb"
dpkg-deb --root-owner-group -Zgzip -z1 --build "$tree" "$out.tmp" >/dev/null
mv "$out.tmp" "$out"
echo "deb: $out ($(du -m "$out" | cut -f1) MB)" >&2
