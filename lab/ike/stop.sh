#!/usr/bin/env bash
# Stop the ike sub-lab's relays and charons, named by their pid files, and
# nothing else (each pid must still run that program, for this run directory).
# All get TERM at once (charon takes about 2 s to exit), then KILL after 5 s.
# The namespaces have no name: each goes with its charon. Idempotent.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ike.sh"

names=() pids=()
stop_one() {  # NAME FILE COMM
    local pid
    if pid=$(ike_live_pid "$2" "$3"); then
        kill -TERM "$pid" 2>/dev/null || true
        names+=("$1") pids+=("$pid")
    fi
    rm -f "$2"
}

stop_one relay "$IKE_DIR/relay.pid" python3
stop_one cookie-relay "$IKE_COOKIE_DIR/relay.pid" python3
stop_one pq-relay "$IKE_PQ_DIR/relay.pid" python3
stop_one charon "$IKE_DIR/charon.pid" charon
stop_one cookie-charon "$IKE_COOKIE_DIR/charon.pid" charon
stop_one pq-charon "$IKE_PQ_DIR/charon.pid" charon
if ((${#pids[@]})) && ! wait_gone "${pids[@]}"; then
    for i in "${!pids[@]}"; do
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "ike/stop.sh: ${names[$i]} ignored TERM, sending KILL" >&2
            kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
    done
fi
for i in "${!pids[@]}"; do
    echo "stopped ike ${names[$i]} (pid ${pids[$i]})"
done
rm -f "$IKE_DIR/charon.vici" "$IKE_COOKIE_DIR/charon.vici" "$IKE_PQ_DIR/charon.vici"
