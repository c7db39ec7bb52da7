#!/usr/bin/env bash
# Install the mail lab's servers from Debian's packages (idempotent).
# The system services are never used: start.sh runs private instances. Postfix
# is preseeded to "No configuration" so that its package writes no system
# main.cf that could be mistaken for the lab's.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "mail/install.sh: must run as root (apt-get install)" >&2
    exit 1
fi

PACKAGES=(
    postfix        # SMTP: STARTTLS, implicit TLS, plaintext-AUTH and no-TLS targets
    dovecot-core   # SASL for postfix and the IMAP/POP3 servers
    dovecot-imapd
    dovecot-pop3d
    openssl        # s_client for verify.sh
    jq             # status.sh reads ground_truth.json
    procps         # pgrep in stop.sh
)

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        apt-get update
    fi
    apt-get install -y --no-install-recommends "${missing[@]}" || {
        apt-get update  # stale lists: a version vanished from the mirror
        apt-get install -y --no-install-recommends "${missing[@]}"
    }
fi
# The private postfix instance runs its daemons as this user (made by the package).
id postfix >/dev/null
echo "mail/install.sh: mail lab packages present: ${PACKAGES[*]}"
