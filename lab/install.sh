#!/usr/bin/env bash
# Install the Debian packages the TLS lab (and its peer-tool benchmarks) needs.
# Idempotent: apt-get install of already-installed packages is a no-op.
# Installing a Debian server package does not start its system service on our
# machines, and the lab never uses those services anyway: start.sh runs private
# instances.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "install.sh: must run as root (apt-get install)" >&2
    exit 1
fi

PACKAGES=(
    nginx         # modern/intermediate/cert-fault/dual-cert targets
    openssl       # s_server for the legacy target, s_client for verify_truth.sh
    gnutls-bin    # gnutls-serv: the only 3DES-capable server on Debian 12
    socat         # bridges the host port into gnutls-serv's network namespace
    iproute2      # ip: brings up loopback inside the namespace
    jq            # the shell scripts read ground_truth.json
    util-linux    # unshare, setsid
    procps        # pgrep: stop.sh finds the members of a server's process group
    ca-certificates
    testssl.sh    # peer tools for benchmarks
    sslscan
)

export DEBIAN_FRONTEND=noninteractive
# A fresh image may ship with empty package lists; install would find nothing.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt-get update
fi
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get install -y --no-install-recommends "${missing[@]}" || {
        # Lists may be stale (a package version vanished from the mirror).
        apt-get update
        apt-get install -y --no-install-recommends "${missing[@]}"
    }
fi
echo "install.sh: lab packages present: ${PACKAGES[*]}"

# Sub-labs (lab/NAME/install.sh): each installs its own servers' packages.
for script in "$(dirname "$0")"/*/install.sh; do
    [[ -e $script ]] || continue
    bash "$script"
done
