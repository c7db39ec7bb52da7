#!/usr/bin/env bash
# Check lab/ike/ground_truth.json two ways: it must be what ground_truth.py
# derives from the configs today, and the running charons must answer as it
# says to ike-scan, to IKE_SA_INIT requests of verify.py's own, and in
# charon's log and algorithm list (verify.py). Exits non-zero on any mismatch.
# Without the ike-pq image that target is left out (but not under CI=true).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ike.sh"

"$PYTHON" "$IKE_SRC/ground_truth.py" --check
{ ike_up && ike_cookie_up; } ||
    { echo "ike/verify.sh: the ike lab is down; run lab/start.sh (or lab/ike/start.sh)" >&2; exit 1; }
skip=()
if ! ike_pq_up; then
    if ike_pq_image || [[ ${CI:-} == true ]]; then
        echo "ike/verify.sh: ike-pq is down; run lab/ike/start.sh" >&2
        exit 1
    fi
    echo "ike/verify.sh: no ike-pq image ($IKE_PQ_ROOT): ike-pq not checked" >&2
    skip=(--skip ike-pq)
fi
exec "$PYTHON" "$IKE_SRC/verify.py" --pq-run-dir "$IKE_PQ_DIR" "${skip[@]}"
