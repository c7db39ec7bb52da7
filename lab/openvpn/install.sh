#!/usr/bin/env bash
# Install the openvpn sub-lab's server and tools from Debian's packages
# (idempotent). No system service is used: start.sh runs private instances on
# 127.0.0.1. The package enables openvpn.service, which starts no tunnel
# without a config in /etc/openvpn; if one is running after installing, it is
# stopped.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "openvpn/install.sh: must run as root (apt-get install)" >&2
    exit 1
fi

PACKAGES=(
    openvpn      # 2.6: every target, and verify.sh's real client (--dev null)
    openssl      # pki.py signs the SHA-1 certificate with openssl x509
    nmap         # verify.sh and benchmarks/openvpn.py: -sV / -sU -sV
    iproute2     # ip: tun devices; ss: who holds a port
    jq procps util-linux
)

installed() {  # PACKAGE
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        apt-get update
    fi
    apt-get install -y --no-install-recommends "${missing[@]}" || {
        apt-get update  # stale lists: a version vanished from the mirror
        apt-get install -y --no-install-recommends "${missing[@]}"
    }
fi
for p in "${PACKAGES[@]}"; do
    installed "$p" || { echo "openvpn/install.sh: package $p did not install" >&2; exit 1; }
done
# Server mode needs a tun device; containers sometimes lack the node.
if [[ ! -c /dev/net/tun ]]; then
    mkdir -p /dev/net
    mknod /dev/net/tun c 10 200
    chmod 600 /dev/net/tun
fi
echo "openvpn/install.sh: openvpn-lab packages present: ${PACKAGES[*]}"
