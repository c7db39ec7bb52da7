#!/usr/bin/env bash
# Check lab/more/ground_truth.json two ways: it must be what ground_truth.py
# derives from the configs today, and the running servers must behave exactly
# as it says (dialogs, logins and handshakes from 127.0.0.1; see verify.py).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/more.sh"

"$PYTHON" "$MORE_SRC/ground_truth.py" --check
more_probe status >/dev/null || {
    echo "more/verify.sh: the more-lab is not (fully) up; run lab/start.sh" >&2
    more_probe status >&2 || true
    exit 1
}
PROTOAUDIT_LAB_DIR="$LAB_DIR" exec "$PYTHON" "$MORE_SRC/verify.py"
