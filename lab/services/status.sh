#!/usr/bin/env bash
# One line per services target: up when a TLS handshake completes through its
# own dialog (AUTH TLS, StartTLS, SSLRequest, <starttls/>) or, for implicit
# TLS, straight away. Exit 1 if any target is not up.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/svc.sh"

rc=0
while read -r name port protocol tls_start; do
    if svc_tls_ok "$port" "$protocol" "$tls_start"; then
        state="up ($protocol, $tls_start TLS ok)"
    elif lab_tcp_open "$port"; then
        state="TCP accepts, $tls_start TLS FAILS"
        rc=1
    else
        state="down"
        rc=1
    fi
    printf '%-18s 127.0.0.1:%-5s %s\n' "$name" "$port" "$state"
done < <(svc_targets)
exit $rc
