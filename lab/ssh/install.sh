#!/usr/bin/env bash
# Install the ssh sub-lab's servers from Debian's packages (idempotent, quick
# when everything is there). No system service is used: start.sh runs private
# instances on 127.0.0.1.
#
# Three of these packages come with a system service: openssh-server (sshd on
# port 22), inetutils-inetd (the inetd that reads /etc/inetd.conf) and
# rsh-server, whose postinst enables shell, login and exec (ports 514, 513,
# 512, all interfaces) in /etc/inetd.conf. On this kind of machine
# policy-rc.d forbids starting services, so none starts; elsewhere one might.
# So this script
# - compares what listens on 22, 23 and 512-514 before and after it installs,
#   and stops and disables a system sshd or inetd that the installation
#   started (never one that was running before: that is the machine's own);
# - turns the r-services off in /etc/inetd.conf (update-inetd --disable), so
#   that no system inetd ever serves them on every interface.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

if [[ $(id -u) -ne 0 ]]; then
    echo "ssh/install.sh: must run as root (apt-get install)" >&2
    exit 1
fi

PACKAGES=(
    openssh-server     # sshd: the hardened and legacy targets
    openssh-client     # ssh, ssh-keygen, ssh-keyscan: keys and verify.sh
    dropbear-bin       # dropbear, dropbearkey, dbclient (no init script)
    python3-paramiko   # paramiko 2.12: the Terrapin-vulnerable target
    inetutils-inetd    # the private inetd (also satisfies rsh-server's inet-superserver)
    inetutils-telnetd  # telnet
    rsh-server         # netkit in.rexecd, in.rlogind, in.rshd
    binutils           # strings: ground_truth.py checks dropbear's tables
    jq procps iproute2 util-linux
)
SYSTEM_PORTS='( sport = :22 or sport = :23 or sport = :512 or sport = :513 or sport = :514 )'

listeners() {  # "process port" of whatever listens on the system services' ports
    ss -Hltnp "$SYSTEM_PORTS" 2>/dev/null |
        sed -n 's/.*:\([0-9]*\) .*users:(("\([^"]*\)".*/\2 \1/p' | sort -u
}

missing=()
for p in "${PACKAGES[@]}"; do
    lab_installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    before=$(listeners)
    lab_apt_install "${missing[@]}"
    # What the installation started (listening now, not before) is stopped and
    # kept from starting at boot.
    while read -r proc port; do
        [[ -n $proc ]] || continue
        grep -qx "$proc $port" <<<"$before" && continue
        case $proc in
            sshd) service=ssh ;;
            inetutils-inet*) service=inetutils-inetd ;;
            *) echo "ssh/install.sh: $proc on port $port was started by the installation; stop it" >&2
               exit 1 ;;
        esac
        echo "ssh/install.sh: the package started the system $service on port $port; stopping and disabling it"
        if [[ -d /run/systemd/system ]]; then
            systemctl disable --now "$service" || true
            [[ $service == ssh ]] && { systemctl disable --now ssh.socket 2>/dev/null || true; }
        else
            invoke-rc.d --force "$service" stop || "/etc/init.d/$service" stop || true
            update-rc.d "$service" disable || true
        fi
    done < <(listeners)
fi
for p in "${PACKAGES[@]}"; do
    lab_installed "$p" || { echo "ssh/install.sh: package $p did not install" >&2; exit 1; }
done

# rsh-server's postinst enables these for the system inetd; the lab never
# wants them there.
for service in shell login exec; do
    if grep -qE "^${service}[[:space:]]" /etc/inetd.conf 2>/dev/null; then
        update-inetd --disable "$service"
    fi
done
if listeners | grep -q .; then
    echo "ssh/install.sh: note: something listens on a system remote-login port (not the lab's):" >&2
    listeners >&2
fi
echo "ssh/install.sh: ssh-lab packages present: ${PACKAGES[*]}"
