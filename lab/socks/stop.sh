#!/usr/bin/env bash
# Stop the socks sub-lab's servers named by the pid files in $LAB_DIR/socks,
# and nothing else: each pid must still run the program that wrote it, with
# this run directory on its command line. Dante's children (which rename
# themselves) are found as the mother's descendants. Safe in any state.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/socks.sh"

for entry in "${SOCKS_SERVERS[@]}"; do
    read -r name comm file <<<"$entry"
    file="$SOCKS_DIR/$file"
    if pid=$(socks_live_pid "$file" "$comm"); then
        mapfile -t procs < <(echo "$pid"; socks_descendants "$pid")
        kill -TERM "${procs[@]}" 2>/dev/null || true
        if ! wait_gone "${procs[@]}"; then
            echo "socks/stop.sh: $name left processes after TERM, sending KILL" >&2
            kill -KILL "${procs[@]}" 2>/dev/null || true
            wait_gone "${procs[@]}" || true
        fi
        echo "stopped socks $name (pid $pid)"
    fi
    rm -f "$file"
done
