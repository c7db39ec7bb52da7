#!/usr/bin/env bash
# Install the socks sub-lab's servers and tools from Debian's packages, and the
# system user Dante's username method checks (idempotent). No system service is
# used: start.sh runs private instances on 127.0.0.1. dante-server's package
# ships a system danted service; on this kind of machine policy-rc.d keeps it
# from starting, and elsewhere its default config (no internal address) makes
# it exit at once. If one is running after installing, it is stopped.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=targets.env
source "$(dirname "$0")/targets.env"

if [[ $(id -u) -ne 0 ]]; then
    echo "socks/install.sh: must run as root (apt-get install, useradd)" >&2
    exit 1
fi

PACKAGES=(
    dante-server      # danted: the no-auth, username and both targets
    microsocks        # microsocks -u/-P: a second implementation
    curl              # verify.sh: --socks5, --socks5 user:pass, --socks4
    netcat-openbsd    # verify.sh: nc -X 5 / -X 4
    nmap              # verify.sh and benchmarks/socks.py: socks-auth-info
    jq procps iproute2 util-linux passwd
)

missing=()
for p in "${PACKAGES[@]}"; do
    lab_installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    lab_apt_install "${missing[@]}"
    if [[ -d /run/systemd/system ]] && systemctl is-active --quiet danted 2>/dev/null; then
        echo "socks/install.sh: the package started the system danted; stopping and disabling it"
        systemctl disable --now danted || true
    fi
fi
for p in "${PACKAGES[@]}"; do
    lab_installed "$p" || { echo "socks/install.sh: package $p did not install" >&2; exit 1; }
done

# Dante's username method checks system accounts (getpwnam, crypt(3)). The
# lab's user: no home, no shell, expired (chage -E 0) so that PAM refuses it
# everywhere (login, sshd), while Dante, which checks the hash only, accepts it.
if ! id "$DANTE_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        --comment "protoaudit socks lab (Dante username method)" "$DANTE_USER"
fi
echo "$DANTE_USER:$DANTE_PASSWORD" | chpasswd
chage -E 0 "$DANTE_USER"
echo "socks/install.sh: socks-lab packages present: ${PACKAGES[*]}; user $DANTE_USER ready"
