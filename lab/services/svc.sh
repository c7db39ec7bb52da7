# Shared by the services sub-lab's scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SVC_SRC="$LAB_SRC/services"
SVC_DIR="$LAB_DIR/services"
SVC_TRUTH="$SVC_SRC/ground_truth.json"
# The local account the FTP targets log in with. The account is machine-wide,
# and labs may run side by side (other run dirs, other network namespaces), so
# its random password is made once by install.sh and kept in the store;
# start.sh copies "user:password" into each run dir.
FTP_USER=protoaudit-ftp
FTP_CREDENTIALS_STORE=/var/lib/protoaudit-lab/ftp-credentials
FTP_CREDENTIALS="$SVC_DIR/ftp/credentials"

# "name port protocol tls_start" per target, from the ground truth.
svc_targets() {
    jq -r '.targets | to_entries[] | "\(.key) \(.value.port) \(.value.protocol) \(.value.tls_start)"' "$SVC_TRUTH"
}

# s_client arguments that reach TLS on a target: its own upgrade dialog for
# STARTTLS, nothing for implicit TLS. XMPP needs the domain in the stream header.
svc_s_client_args() {  # PORT PROTOCOL TLS_START
    local args=(-connect "127.0.0.1:$1" -servername localhost)
    if [[ $3 == starttls ]]; then
        args+=(-starttls "$2")
        [[ $2 == xmpp ]] && args+=(-xmpphost localhost)
    fi
    printf '%s\n' "${args[@]}"
}

# A full handshake through the dialog: a port that accepts TCP but fails the
# upgrade is not up.
svc_tls_ok() {  # PORT PROTOCOL TLS_START
    local args
    mapfile -t args < <(svc_s_client_args "$@")
    timeout 5 openssl s_client "${args[@]}" -cipher 'ALL:@SECLEVEL=0' </dev/null >/dev/null 2>&1
}

# Pids whose command line names DIR: how stop.sh tells our processes from a
# stranger that reused a pid (prosody's comm is "lua5.4", postgres renames
# its children, so comm alone cannot tell).
svc_ours() {  # PID DIR
    [[ $1 =~ ^[0-9]+$ && -r /proc/$1/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}
