#!/usr/bin/env bash
# Stop the injection sub-lab's responder named by its pid file, and nothing
# else. Safe to run in any state (idempotent).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/inj.sh"

if pid=$(inj_live_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "injection/stop.sh: responder ($pid) ignored TERM, sending KILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "stopped injection responder (pid $pid)"
fi
rm -f "$INJ_PID"
