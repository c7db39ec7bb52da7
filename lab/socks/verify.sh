#!/usr/bin/env bash
# Check lab/socks/ground_truth.json two ways: it must be what ground_truth.py
# derives from the configs today, and the running proxies must behave as it
# says to independent clients: curl (--socks5, --socks4, user:password) and
# nmap's socks-auth-info (see verify.py). Exits non-zero on any mismatch.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/socks.sh"

"$PYTHON" "$SOCKS_SRC/ground_truth.py" --check
socks_probe status >/dev/null || {
    echo "socks/verify.sh: the socks lab is not (fully) up; run lab/start.sh (or lab/socks/start.sh)" >&2
    socks_probe status >&2 || true
    exit 1
}
exec "$PYTHON" "$SOCKS_SRC/verify.py"
