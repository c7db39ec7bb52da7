#!/usr/bin/env bash
# Stop the mail lab's postfix and dovecot instances named by the pid files in
# $LAB_DIR/mail, and nothing else. Safe to run in any state (idempotent).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/../lib.sh"
MAIL="$LAB_DIR/mail"

# Like lab_live_pid, but postfix pads its pid file with spaces.
live_pid() {  # FILE COMM
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -d ' \n' <"$1")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$2" ]] || return 1
    echo "$pid"
}

descendants() {  # PID: its children, grandchildren, ...
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

# TERM makes either master stop its children and exit. The children are listed
# first: one that outlives its master (a login process mid-session) gets KILL.
stop_master() {  # NAME PIDFILE COMM
    local pid procs
    pid=$(live_pid "$2" "$3") || { rm -f "$2"; return 0; }
    mapfile -t procs < <(echo "$pid"; descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "${procs[@]}"; then
        echo "mail/stop.sh: $1 left processes after TERM, sending KILL" >&2
        kill -KILL "${procs[@]}" 2>/dev/null || true
        wait_gone "${procs[@]}" || true
    fi
    rm -f "$2"
    echo "stopped mail $1 (pid $pid)"
}

stop_master postfix "$MAIL/postfix/queue/pid/master.pid" master
stop_master dovecot "$MAIL/dovecot/run/master.pid" dovecot
stop_master dovecot-plain "$MAIL/dovecot-plain/run/master.pid" dovecot
