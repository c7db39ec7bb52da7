#!/usr/bin/env bash
# Install the servers of the services sub-lab (FTP, LDAP, PostgreSQL, XMPP).
# Idempotent. Installing them does not start their system services here, and the
# lab never uses those anyway: start.sh runs private instances.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/svc.sh"

if [[ $(id -u) -ne 0 ]]; then
    echo "services/install.sh: must run as root (apt-get install)" >&2
    exit 1
fi

PACKAGES=(
    vsftpd        # ftp-explicit, ftps-implicit, ftp-weak
    slapd         # ldap (StartTLS) and ldaps
    ldap-utils    # ldapwhoami: verify.sh proves StartTLS at the LDAP layer
    postgresql    # postgres (SSLRequest)
    prosody       # xmpp-starttls
    lua-sec       # prosody's TLS (a Recommends, so named here)
    openssl jq procps util-linux
)

# slapd's postinst would ask for an admin password and build /etc/ldap/slapd.d:
# noninteractive makes it take defaults; our instance ignores that config.
export DEBIAN_FRONTEND=noninteractive
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt-get update
fi
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get install -y --no-install-recommends "${missing[@]}" || {
        apt-get update
        apt-get install -y --no-install-recommends "${missing[@]}"
    }
fi
echo "services/install.sh: packages present: ${PACKAGES[*]}"

# The FTP targets' login. vsftpd authenticates through PAM, whose
# /etc/pam.d/vsftpd wants a shell listed in /etc/shells, hence /bin/sh; and it
# enters the home directory before local_root, so the home must exist: "/"
# (vsftpd then chroots the user into the lab's directory). No password until
# a random password, made once and kept in $FTP_CREDENTIALS_STORE (root only).
if ! id "$FTP_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir / --shell /bin/sh \
        --comment "protoaudit lab FTP login" "$FTP_USER"
elif [[ $(getent passwd "$FTP_USER" | cut -d: -f6) != / ]]; then
    usermod --home / "$FTP_USER"
fi
if [[ ! -s $FTP_CREDENTIALS_STORE ]]; then
    install -d -m 700 "$(dirname "$FTP_CREDENTIALS_STORE")"
    (umask 077 && echo "$FTP_USER:$(openssl rand -hex 16)" >"$FTP_CREDENTIALS_STORE")
fi
chpasswd <"$FTP_CREDENTIALS_STORE"  # the same password again: cheap, and repairs drift
echo "services/install.sh: FTP lab user $FTP_USER present"
