#!/usr/bin/env bash
# One line per DNSSEC sub-lab server: up when it answers (the authoritative
# servers an authoritative SOA of their zone; the resolver a validated answer,
# AD flag, for secure.test.; the recursor any answer). Exit 1 if any is down.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/dns.sh"

rc=0
for entry in "${DNS_SERVERS[@]}"; do
    read -r name comm file addr zone <<<"$entry"
    if dns_answers "$name" "$addr" "$zone"; then
        if [[ $name == resolver ]]; then
            state="up ($comm; $zone SOA validated, AD)"
        elif [[ $name == recursor ]]; then
            state="up ($comm; recursive, not validating)"
        else
            state="up ($comm; authoritative for $zone)"
        fi
    elif dns_live_pid "$DNS_DIR/$file" "$comm" >/dev/null; then
        state="running, but NOT ANSWERING"
        rc=1
    else
        state="down"
        rc=1
    fi
    printf 'dns-%-14s %s:%-5s %s\n' "$name" "$addr" "$DNS_PORT" "$state"
done
exit $rc
