#!/usr/bin/env bash
# Check lab/ike/ground_truth.json two ways: it must be what ground_truth.py
# derives from the configs today, and both running charons must answer as it
# says to ike-scan (verify.py). Exits non-zero on any mismatch.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ike.sh"

"$PYTHON" "$IKE_SRC/ground_truth.py" --check
{ ike_up && ike_cookie_up; } ||
    { echo "ike/verify.sh: the ike lab is down; run lab/start.sh (or lab/ike/start.sh)" >&2; exit 1; }
exec "$PYTHON" "$IKE_SRC/verify.py"
