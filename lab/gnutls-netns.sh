#!/usr/bin/env bash
# Runs inside a fresh network namespace (start.sh starts it under
# `unshare -n`): gnutls-serv cannot choose its bind address and would otherwise
# listen on every interface of the host. Here only loopback exists, and the
# host reaches it through the unix socket below (filesystems are shared).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
# shellcheck source=targets.env
source "$LAB_SRC/targets.env"
run="$LAB_DIR/legacy-3des"

ip link set lo up
# Inner half of the bridge: unix socket -> gnutls-serv on this namespace's loopback.
socat "UNIX-LISTEN:$run/gnutls.sock,fork,unlink-early,mode=600" \
    "TCP:127.0.0.1:$LEGACY_3DES_PORT" >"$run/socat-inner.log" 2>&1 &
# -a: never ask for a client certificate (scanners would see a CertificateRequest).
exec gnutls-serv --quiet -a --http -p "$LEGACY_3DES_PORT" \
    --priority "$LEGACY_3DES_PRIORITY" \
    --x509certfile "$LAB_DIR/pki/$LEGACY_3DES_CERT.chain.pem" \
    --x509keyfile "$LAB_DIR/pki/$LEGACY_3DES_CERT.key" \
    --dhparams "$LAB_DIR/pki/$LEGACY_3DES_DHPARAM.pem"
