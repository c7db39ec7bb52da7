#!/usr/bin/env bash
# Install the openvpn sub-lab's server and tools from Debian's packages
# (idempotent). No system service is used: start.sh runs private instances on
# 127.0.0.1. The package enables openvpn.service, which starts no tunnel
# without a config in /etc/openvpn; if one is running after installing, it is
# stopped.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

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

missing=()
for p in "${PACKAGES[@]}"; do
    lab_installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    lab_apt_install "${missing[@]}"
fi
for p in "${PACKAGES[@]}"; do
    lab_installed "$p" || { echo "openvpn/install.sh: package $p did not install" >&2; exit 1; }
done
# Server mode needs a tun device; containers sometimes lack the node.
if [[ ! -c /dev/net/tun ]]; then
    mkdir -p /dev/net
    mknod /dev/net/tun c 10 200
    chmod 600 /dev/net/tun
fi
echo "openvpn/install.sh: openvpn-lab packages present: ${PACKAGES[*]}"
