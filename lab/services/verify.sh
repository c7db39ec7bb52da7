#!/usr/bin/env bash
# Check services/ground_truth.json two ways: it must be what ground_truth.py
# derives from the configs today, and the running servers must behave exactly
# as it says (real handshakes through each dialog, and the protocol facts with
# the protocols' own clients; see verify.py for the method).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/svc.sh"

"$PYTHON" "$SVC_SRC/ground_truth.py" --check
bash "$SVC_SRC/status.sh" >/dev/null || {
    echo "services/verify.sh: the services are not (fully) up; run lab/start.sh" >&2
    bash "$SVC_SRC/status.sh" >&2 || true
    exit 1
}
PROTOAUDIT_LAB_DIR="$LAB_DIR" exec "$PYTHON" "$SVC_SRC/verify.py"
