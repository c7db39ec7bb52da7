#!/usr/bin/env bash
# Which lab ports answer. Exit 1 unless every target completes a TLS handshake.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

rc=0
while read -r name port; do
    if lab_tls_ok "$port"; then
        state="up (TLS handshake ok)"
    elif lab_tcp_open "$port"; then
        state="TCP accepts, TLS handshake FAILS"
        rc=1
    else
        state="down"
        rc=1
    fi
    printf '%-18s 127.0.0.1:%-5s %s\n' "$name" "$port" "$state"
done < <(lab_targets)
for script in "$LAB_SRC"/*/status.sh; do
    [[ -e $script ]] || continue
    bash "$script" || rc=1
done
exit $rc
