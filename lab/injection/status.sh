#!/usr/bin/env bash
# One line per injection target: up when it completes STARTTLS. Exit 1 if not.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/inj.sh"

rc=0
while read -r name host port; do
    if inj_tls_ok "$host" "$port"; then
        state="up (greeting, STARTTLS; VULNERABLE to injection on purpose)"
    elif timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
        state="TCP accepts, STARTTLS FAILS"
        rc=1
    else
        state="down"
        rc=1
    fi
    printf '%-18s %s:%-5s smtp  %s\n' "$name" "$host" "$port" "$state"
done < <(inj_targets)
exit $rc
