#!/usr/bin/env bash
# Check lab/ssh/ground_truth.json two ways: it must be what ground_truth.py
# derives from the configs and installed packages today, and the running
# servers must present exactly what it (and RUN/ssh/hostkeys.json, written at
# start) says, to independent clients: ssh -vvv, ssh-keyscan, ssh-keygen and
# plain sockets (see verify.py). Prints a count of checks and mismatches;
# exits non-zero on any mismatch.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ssh.sh"

"$PYTHON" "$SSH_SRC/ground_truth.py" --check
ssh_probe status >/dev/null || {
    echo "ssh/verify.sh: the ssh lab is not (fully) up; run lab/start.sh (or lab/ssh/start.sh)" >&2
    ssh_probe status >&2 || true
    exit 1
}
PROTOAUDIT_LAB_DIR="$LAB_DIR" exec "$PYTHON" "$SSH_SRC/verify.py"
