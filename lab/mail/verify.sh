#!/usr/bin/env bash
# Check lab/mail/ground_truth.json two ways: it must be what ground_truth.py
# derives from the configs today, and the running servers must behave exactly
# as it says (dialogs, logins and handshakes from 127.0.0.1; see verify.py).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/../lib.sh"

"$PYTHON" "$LAB_SRC/mail/ground_truth.py" --check
bash "$LAB_SRC/mail/status.sh" >/dev/null || {
    echo "mail/verify.sh: the mail lab is not (fully) up; run lab/start.sh" >&2
    bash "$LAB_SRC/mail/status.sh" >&2 || true
    exit 1
}
PROTOAUDIT_LAB_DIR="$LAB_DIR" exec "$PYTHON" "$LAB_SRC/mail/verify.py"
