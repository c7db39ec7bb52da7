#!/usr/bin/env bash
# Install the DNSSEC sub-lab's servers and peer tools from Debian's packages
# (idempotent, quick when everything is there). No system service is used:
# start.sh runs private instances on 127.0.53.x.
#
# Two of these packages come with a system service that Debian enables on
# installation: knot (knot.service; Debian's knot.conf listens nowhere) and
# unbound (unbound.service on 127.0.0.1:53, whose start helper fetches the
# real root trust anchor, and unbound-resolvconf.service, which points
# /etc/resolv.conf at it). On this kind of machine policy-rc.d forbids
# starting services, so none starts; elsewhere one might. So this script
# - compares what listens on port 53 before and after it installs, and stops
#   a system knotd or unbound that the installation started (never one that
#   was running before: that is the machine's own);
# - disables, for boot, the services of the packages it installed itself
#   (a package that was already installed is the machine's business);
# - warns if anything listens on port 53 of a wildcard address, which would
#   keep start.sh from binding the lab addresses.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "dns/install.sh: must run as root (apt-get install)" >&2
    exit 1
fi

PACKAGES=(
    knot            # knotd: the root, TLD and children servers (knot 3.2)
    ldnsutils       # ldns-keygen, ldns-signzone, ldns-key2ds; peers ldns-verify-zone, ldns-dane
    unbound         # the lab's validating resolver and its non-validating recursor
    unbound-host    # peer: unbound-host (libunbound)
    bind9-dnsutils  # dig (start/status/verify) and the peer delv (BIND 9.18)
    openssl         # verify.sh reads the live TLS servers' chains for the TLSA check
    iproute2        # ss: start.sh refuses to start when port 53 is taken
    procps          # pgrep: stop.sh finds a server's children
)
# package -> its system services
declare -A SERVICES=([knot]="knot" [unbound]="unbound unbound-resolvconf")

installed() {  # PACKAGE
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
listeners() {  # "process address:port" of whatever listens on port 53
    { ss -Hlnpu 'sport = :53'; ss -Hlnpt 'sport = :53'; } 2>/dev/null |
        sed -n 's/^[^ ]* *[0-9]* *[0-9]* *\([^ ]*\) .*users:(("\([^"]*\)".*/\2 \1/p' | sort -u
}
disable_service() {  # SERVICE
    if [[ -d /run/systemd/system ]]; then
        systemctl disable --now "$1" 2>/dev/null || true
    elif command -v systemctl >/dev/null; then
        systemctl disable "$1" 2>/dev/null || true  # offline: removes the boot symlinks
    fi
    if [[ -x /etc/init.d/$1 ]]; then
        update-rc.d "$1" disable >/dev/null 2>&1 || true
    fi
}

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    before=$(listeners)
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        apt-get update
    fi
    apt-get install -y --no-install-recommends "${missing[@]}" || {
        apt-get update  # stale lists: a version vanished from the mirror
        apt-get install -y --no-install-recommends "${missing[@]}"
    }
    for p in "${missing[@]}"; do
        for service in ${SERVICES[$p]:-}; do
            echo "dns/install.sh: disabling the system $service service that package $p enabled (the lab runs its own instances)"
            disable_service "$service"
        done
    done
    # What the installation started (listening now, not before) is stopped.
    while read -r proc address; do
        [[ -n $proc ]] || continue
        grep -qxF "$proc $address" <<<"$before" && continue
        case $proc in
            knotd) service=knot ;;
            unbound) service=unbound ;;
            *) echo "dns/install.sh: $proc on $address was started by the installation; stop it" >&2
               exit 1 ;;
        esac
        echo "dns/install.sh: the package started the system $service on $address; stopping it"
        if [[ -d /run/systemd/system ]]; then
            systemctl stop "$service" || true
        else
            invoke-rc.d --force "$service" stop || "/etc/init.d/$service" stop || true
        fi
    done < <(listeners)
fi
for p in "${PACKAGES[@]}"; do
    installed "$p" || { echo "dns/install.sh: package $p did not install" >&2; exit 1; }
done

# Anything on a wildcard address of port 53 keeps start.sh from binding.
if listeners | grep -qE ' (0\.0\.0\.0|\*|\[::\]):53$'; then
    echo "dns/install.sh: note: something listens on port 53 of every address (the lab needs 127.0.53.x):" >&2
    listeners | grep -E ' (0\.0\.0\.0|\*|\[::\]):53$' >&2
fi
echo "dns/install.sh: dns-lab packages present: ${PACKAGES[*]}"
