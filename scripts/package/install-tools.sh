#!/usr/bin/env bash
# Installs, from Debian, what `deno task package` and its tests (tests/package) need, once:
#   xz-utils (the archive), dpkg-deb (dpkg), adduser (the .deb's postinst), strace (network calls),
#   bubblewrap (read-only root), libseccomp-dev + gcc (the syscall-filter loader), iproute2 (`ip` in
#   the network namespace), qemu-user-static with the arm64 C and C++ runtime (the aarch64 build),
#   systemd (systemd-analyze). Quiet and quick when everything is there. Needs root (or sudo).
set -euo pipefail
packages=(xz-utils dpkg adduser strace bubblewrap libseccomp-dev gcc libc6-dev iproute2 qemu-user-static
  libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross systemd util-linux)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-tools: need root to install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-tools: apt-get install ${missing[*]}" >&2
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null 2>&1 || echo "install-tools: apt-get update failed (continuing)" >&2
  out="$($SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1)" ||
    { echo "$out" >&2; echo "install-tools: apt-get install failed" >&2; exit 1; }
fi
