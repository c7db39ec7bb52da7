#!/usr/bin/env bash
# Install the ike sub-lab's packages from Debian (idempotent). None of them
# starts a service here (strongswan-charon ships no init script of its own;
# charon-systemd, which has one, is not installed). start.sh runs a private
# charon in a network namespace.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "ike/install.sh: must run as root (apt-get install)" >&2
    exit 1
fi

PACKAGES=(
    strongswan-charon               # /usr/lib/ipsec/charon, the IKE daemon
    strongswan-swanctl              # swanctl: loads connections over vici
    libstrongswan-standard-plugins  # openssl, gcm, curve25519 …: GCM, EC groups, 3DES
    libstrongswan-extra-plugins     # gcrypt, ccm, chapoly …
    ike-scan                        # status.sh, verify.sh and the benchmark's peer tool
    iproute2 util-linux jq procps
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
    installed "$p" || { echo "ike/install.sh: package $p did not install" >&2; exit 1; }
done
echo "ike/install.sh: ike-lab packages present: ${PACKAGES[*]}"
