#!/usr/bin/env bash
# Stop the ssh sub-lab's servers named by the pid files in $LAB_DIR/ssh, and
# nothing else: each pid must still run the program that wrote it, with this
# run directory on its command line. Safe to run in any state (idempotent).
# The run directory stays for its logs; start.sh replaces it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ssh.sh"

# The server and everything it forked: sshd's per-connection children (they
# call setsid, so they are not in its process group), dropbear's, inetd's
# telnetd/in.r*d and the logins they run. All are listed before the TERM, as
# a dying parent's children are reparented.
for entry in "${SSH_SERVERS[@]}"; do
    read -r name comm file <<<"$entry"
    file="$SSH_DIR/$file"
    if pid=$(ssh_live_pid "$file" "$comm"); then
        mapfile -t procs < <(echo "$pid"; ssh_descendants "$pid")
        kill -TERM "${procs[@]}" 2>/dev/null || true
        if ! wait_gone "${procs[@]}"; then
            echo "ssh/stop.sh: $name left processes after TERM, sending KILL" >&2
            kill -KILL "${procs[@]}" 2>/dev/null || true
            wait_gone "${procs[@]}" || true
        fi
        echo "stopped ssh $name (pid $pid)"
    fi
    rm -f "$file"
done
