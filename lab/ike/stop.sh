#!/usr/bin/env bash
# Stop the ike sub-lab's relay and charon, named by their pid files, and
# nothing else (each pid must still run that program, for this run directory).
# The namespace has no name: it goes with charon. Idempotent.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ike.sh"

stop_one() {  # NAME FILE COMM
    local pid
    if pid=$(ike_live_pid "$2" "$3"); then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "ike/stop.sh: $1 ignored TERM, sending KILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "stopped ike $1 (pid $pid)"
    fi
    rm -f "$2"
}

stop_one relay "$IKE_DIR/relay.pid" python3
stop_one charon "$IKE_DIR/charon.pid" charon
rm -f "$IKE_DIR/charon.vici"
