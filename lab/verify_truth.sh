#!/usr/bin/env bash
# Check ground_truth.json two ways: it must be what ground_truth.py derives from
# the configs today, and the running servers must behave exactly as it says
# (every claim tested by real handshakes; see verify_truth.py for the method).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

"$PYTHON" "$LAB_SRC/ground_truth.py" --check
bash "$LAB_SRC/status.sh" >/dev/null || {
    echo "verify_truth.sh: the lab is not (fully) up; run lab/start.sh" >&2
    bash "$LAB_SRC/status.sh" >&2 || true
    exit 1
}
PROTOAUDIT_LAB_DIR="$LAB_DIR" exec "$PYTHON" "$LAB_SRC/verify_truth.py"
