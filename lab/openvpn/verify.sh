#!/usr/bin/env bash
# Check lab/openvpn/ground_truth.json two ways: it must be what ground_truth.py
# derives from the configs today, and the running servers must behave as it
# says to a real OpenVPN client (verify.py: with and without the tls-auth/
# tls-crypt key, and limited to TLS 1.1). nmap's OpenVPN detection needs
# --version-all on these ports and takes minutes over UDP: it is in
# benchmarks/openvpn.py, not here. Exits non-zero on any mismatch (~7 s).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ovpn.sh"

"$PYTHON" "$OVPN_SRC/ground_truth.py" --check
ovpn_probe status >/dev/null || {
    echo "openvpn/verify.sh: the openvpn lab is not (fully) up; run lab/start.sh (or lab/openvpn/start.sh)" >&2
    ovpn_probe status >&2 || true
    exit 1
}
PROTOAUDIT_LAB_DIR="$LAB_DIR" exec "$PYTHON" "$OVPN_SRC/verify.py"
