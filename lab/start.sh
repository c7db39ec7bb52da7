#!/usr/bin/env bash
# Start the TLS lab: fresh PKI, then every target as a private instance with its
# config, pid file and logs under $PROTOAUDIT_LAB_DIR (default /tmp/protoaudit-lab).
# Running it again restarts the lab. Exits non-zero, naming the target and
# showing its log, if any target does not complete a TLS handshake.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
# shellcheck source=targets.env
source "$LAB_SRC/targets.env"

bash "$LAB_SRC/stop.sh"

# After stop.sh nothing of ours listens: anything still there is someone else's.
while read -r name port; do
    if lab_tcp_open "$port"; then
        echo "start.sh: 127.0.0.1:$port ($name) is taken by another process:" >&2
        ss -ltnp "sport = :$port" >&2 || true
        exit 1
    fi
done < <(lab_targets)

mkdir -p "$LAB_DIR"/{nginx/tmp,legacy,legacy-3des}
"$PYTHON" "$LAB_SRC/pki.py" "$LAB_DIR"

fail() {  # NAME LOG...
    echo "start.sh: target $1 did not come up; its log:" >&2
    shift
    tail -n 20 "$@" >&2 || true
    bash "$LAB_SRC/stop.sh" >&2 || true  # leave nothing half-started behind
    exit 1
}

# --- nginx: modern, intermediate, expired, self-signed, wrong-host, incomplete-chain, dual-cert
sed "s|@RUN@|$LAB_DIR|g" "$LAB_SRC/nginx.conf.in" >"$LAB_DIR/nginx/nginx.conf"
ngx=(nginx -p "$LAB_DIR/nginx" -c "$LAB_DIR/nginx/nginx.conf" -e "$LAB_DIR/nginx/error.log")
"${ngx[@]}" -t -q || fail nginx "$LAB_DIR/nginx/error.log"
"${ngx[@]}" || fail nginx "$LAB_DIR/nginx/error.log"

# --- legacy: openssl s_server. -www serves forever (no -naccept); setsid gives it
# its own process group so stop.sh can signal exactly that group.
setsid openssl s_server -accept "127.0.0.1:$LEGACY_PORT" -www -quiet \
    -cert "$LAB_DIR/pki/$LEGACY_CERT.pem" -key "$LAB_DIR/pki/$LEGACY_CERT.key" \
    -cert_chain "$LAB_DIR/pki/intermediate.pem" \
    -cipher "$LEGACY_CIPHER" -min_protocol "$LEGACY_MIN_PROTOCOL" \
    -max_protocol "$LEGACY_MAX_PROTOCOL" -groups "$LEGACY_GROUPS" \
    -dhparam "$LAB_DIR/pki/$LEGACY_DHPARAM.pem" \
    </dev/null >"$LAB_DIR/legacy/s_server.log" 2>&1 &
echo $! >"$LAB_DIR/legacy/pid"

# --- legacy-3des: gnutls-serv in its own network namespace (no named netns, so
# nothing outlives its processes), and the host half of the bridge.
setsid unshare -n -- bash "$LAB_SRC/gnutls-netns.sh" \
    </dev/null >"$LAB_DIR/legacy-3des/gnutls-serv.log" 2>&1 &
echo $! >"$LAB_DIR/legacy-3des/pid"
setsid socat "TCP-LISTEN:$LEGACY_3DES_PORT,bind=127.0.0.1,reuseaddr,fork,backlog=128" \
    "UNIX-CONNECT:$LAB_DIR/legacy-3des/gnutls.sock" \
    </dev/null >"$LAB_DIR/legacy-3des/bridge.log" 2>&1 &
echo $! >"$LAB_DIR/legacy-3des/bridge.pid"

# --- wait for every target to complete a handshake (at most ~10 s each)
declare -A LOGS=(
    [legacy]="$LAB_DIR/legacy/s_server.log"
    [legacy-3des]="$LAB_DIR/legacy-3des/gnutls-serv.log $LAB_DIR/legacy-3des/bridge.log"
)
while read -r name port; do
    for i in $(seq 100); do
        lab_tls_ok "$port" && break
        # shellcheck disable=SC2086  # LOGS entries are space-separated lists of files
        [[ $i == 100 ]] && fail "$name (127.0.0.1:$port)" ${LOGS[$name]:-"$LAB_DIR/nginx/error.log"}
        sleep 0.1
    done
done < <(lab_targets)

# Sub-labs (lab/NAME/start.sh): mail, file transfer, directories, databases.
# Each uses the PKI made above and its own run directory under $LAB_DIR/NAME.
for script in "$LAB_SRC"/*/start.sh; do
    [[ -e $script ]] || continue
    bash "$script" || { bash "$LAB_SRC/stop.sh" >&2 || true; exit 1; }
done

echo "start.sh: lab up in $LAB_DIR (CA: $LAB_DIR/pki/ca.pem)"
bash "$LAB_SRC/status.sh"
