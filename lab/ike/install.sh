#!/usr/bin/env bash
# Install the ike sub-lab's packages from Debian (idempotent). None of them
# starts a service here (strongswan-charon ships no init script of its own;
# charon-systemd, which has one, is not installed). start.sh runs a private
# charon in a network namespace.
# Then, only when it is missing, the ike-pq target's image: a Debian 13 (trixie)
# minbase chroot with strongSwan 6.0 (which parses and negotiates ML-KEM,
# RFC 9370), built by debootstrap from deb.debian.org into $IKE_PQ_ROOT
# (/var/cache/protoaudit/ike-trixie; ~50 s and ~300 MB once, nothing after).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ike.sh"

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
    debootstrap                     # the ike-pq target's trixie chroot
    iproute2 util-linux jq procps
)

missing=()
for p in "${PACKAGES[@]}"; do
    lab_installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    lab_apt_install "${missing[@]}"
fi
for p in "${PACKAGES[@]}"; do
    lab_installed "$p" || { echo "ike/install.sh: package $p did not install" >&2; exit 1; }
done
echo "ike/install.sh: ike-lab packages present: ${PACKAGES[*]}"

# The ike-pq image. Built beside its final path and renamed into place, so a
# half-built tree (an interrupted run) is never taken for the image: the next
# run removes it and starts over.
if [[ -x $IKE_PQ_ROOT$CHARON && -d $IKE_PQ_ROOT/lab ]]; then
    echo "ike/install.sh: ike-pq image present: $IKE_PQ_ROOT ($(ike_pq_version))"
    exit 0
fi
building="$IKE_PQ_ROOT.building"
rm -rf "$building"
mkdir -p "$(dirname "$IKE_PQ_ROOT")"
echo "ike/install.sh: building the ike-pq image (debootstrap $IKE_PQ_SUITE) in $IKE_PQ_ROOT"
debootstrap --variant=minbase --include="$IKE_PQ_PACKAGES" \
    "$IKE_PQ_SUITE" "$building" "$IKE_PQ_MIRROR" >"$building.log" 2>&1 || {
    echo "ike/install.sh: debootstrap failed; last lines of $building.log:" >&2
    tail -n 20 "$building.log" >&2
    exit 1
}
[[ -x $building$CHARON ]] || { echo "ike/install.sh: no charon in the new image" >&2; exit 1; }
mkdir -p "$building/lab"  # start.sh binds the run directory here
rm -rf "$building"/var/cache/apt/archives/*.deb "$building"/var/lib/apt/lists/*_Packages
rm -rf "$IKE_PQ_ROOT"
mv "$building" "$IKE_PQ_ROOT"
mv "$building.log" "$IKE_PQ_ROOT.log"
echo "ike/install.sh: ike-pq image built: $IKE_PQ_ROOT ($(ike_pq_version))"
