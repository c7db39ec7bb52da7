#!/usr/bin/env bash
# Install the more-lab's servers from Debian's packages (idempotent). No system
# service is started or used: start.sh runs private instances.
#
# inn2's postinst runs innconfval, which refuses a host whose name has no
# domain ("hostname does not resolve or domain not set in inn.conf"), as on
# this kind of machine. Rather than edit /etc/news/inn.conf, the package is
# configured with INNCONF pointing at a copy that only adds "domain:" (INN
# reads INNCONF before its own path). Its postinst also appends the "usenet:
# root" alias and runs newaliases, which fails while postfix has no system
# main.cf (the mail lab preseeds "No configuration"); the alias is added first,
# so the postinst sees it and skips newaliases.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "more/install.sh: must run as root (apt-get install)" >&2
    exit 1
fi

PACKAGES=(
    dovecot-core dovecot-lmtpd dovecot-managesieved  # LMTP and ManageSieve (pigeonhole)
    mariadb-server        # MySQL protocol with SSL (my_print_defaults, mariadb-install-db)
    inn2                  # NNTP: nnrpd with STARTTLS and -S
    libsasl2-modules      # the PLAIN, LOGIN and SCRAM mechanisms nnrpd lists
    inspircd              # IRC: m_starttls and m_ssl_gnutls
    gnutls-bin            # gnutls-cli: ground_truth.py and verify.py
    openssl jq procps iproute2 util-linux
)

installed() {  # PACKAGE
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

configure_inn2() {
    local conf
    conf=$(mktemp)
    # shellcheck disable=SC2064  # expand now: the path is fixed
    trap "rm -f '$conf'" RETURN
    cat /etc/news/inn.conf >"$conf"
    echo "domain: lab.invalid" >>"$conf"
    INNCONF=$conf dpkg --configure inn2
}

export DEBIAN_FRONTEND=noninteractive
if [[ -f /etc/aliases ]] && ! grep -q '^usenet:' /etc/aliases && ! getent passwd usenet >/dev/null; then
    echo "usenet: root" >>/etc/aliases
fi
inn2_unfinished() {
    dpkg-query -W -f='${Status}' inn2 2>/dev/null | grep -qE 'half-configured|unpacked'
}
missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        apt-get update
    fi
    if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
        # Either inn2's postinst (finished below) or stale lists.
        inn2_unfinished || {
            apt-get update
            apt-get install -y --no-install-recommends "${missing[@]}" || inn2_unfinished
        }
    fi
fi
if inn2_unfinished; then
    configure_inn2
    dpkg --configure -a  # whatever apt left unconfigured after inn2 failed
fi
for p in "${PACKAGES[@]}"; do
    installed "$p" || { echo "more/install.sh: package $p did not install" >&2; exit 1; }
done
# The private instances run their daemons as these users (made by the packages).
for u in mysql news irc dovenull dovecot; do
    id "$u" >/dev/null
done
echo "more/install.sh: more-lab packages present: ${PACKAGES[*]}"
