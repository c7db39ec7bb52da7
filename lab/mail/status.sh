#!/usr/bin/env bash
# One line per mail target: up when it greets (through TLS for the implicit
# ones) and, where STARTTLS is the way in, completes the upgrade. Exit 1 if any
# target is down.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/../lib.sh"
PROTOAUDIT_LAB_DIR="$LAB_DIR" exec "$PYTHON" "$LAB_SRC/mail/mailprobe.py" status
