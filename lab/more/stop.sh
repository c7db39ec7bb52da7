#!/usr/bin/env bash
# Stop the more-lab's servers named by the pid files in $LAB_DIR/more, and
# nothing else: each pid must still run the program that wrote it. Safe to run
# in any state (idempotent). The run directory stays for its logs; start.sh
# replaces it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/more.sh"

wait_gone() {  # SECONDS PID...
    local tenths=$(($1 * 10)) p alive
    shift
    for _ in $(seq "$tenths"); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive)) || return 0
        sleep 0.1
    done
    return 1
}

# The server's pid: from the pid file it wrote itself, else from the one
# start.sh wrote ($!, which is the server unless setsid had to fork, in which
# case the server is its child). The comm must match either way.
server_pid() {  # COMM PIDFILE...
    local comm=$1 file pid child
    shift
    for file in "$@"; do
        pid=$(more_live_pid "$file" "$comm") && { echo "$pid"; return 0; }
        pid=$(more_live_pid "$file" setsid) || continue
        for child in $(pgrep -P "$pid"); do
            [[ $(<"/proc/$child/comm") == "$comm" ]] && { echo "$child"; return 0; }
        done
    done
    return 1
}

# TERM to the server (and, for the ones start.sh gave a session of their own,
# to its whole process group: nnrpd's per-connection children). Whatever is
# still there after WAIT seconds gets KILL.
stop_server() {  # NAME COMM WAIT group|single PIDFILE...
    local name=$1 comm=$2 wait=$3 group=$4 pid procs
    shift 4
    pid=$(server_pid "$comm" "$@") || { rm -f "$@"; return 0; }
    mapfile -t procs < <(echo "$pid"; more_descendants "$pid")
    if [[ $group == group && $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]]; then
        kill -TERM -- "-$pid" 2>/dev/null || true
    else
        group=single
        kill -TERM "$pid" 2>/dev/null || true
    fi
    if ! wait_gone "$wait" "${procs[@]}"; then
        echo "more/stop.sh: $name left processes after TERM, sending KILL" >&2
        kill -KILL "${procs[@]}" 2>/dev/null || true
        if [[ $group == group ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
        wait_gone 5 "${procs[@]}" || true
    fi
    rm -f "$@"
    echo "stopped more $name (pid $pid)"
}

stop_server inspircd inspircd 5 group "$MORE_DIR/irc/inspircd.pid" "$MORE_DIR/irc/pid"
stop_server nnrpd-starttls nnrpd 5 group "$MORE_DIR/inn/run/nnrpd-1119.pid" "$MORE_DIR/inn/run/starttls.pid"
stop_server nnrpd-implicit nnrpd 5 group "$MORE_DIR/inn/run/nnrpd-1563.pid" "$MORE_DIR/inn/run/implicit.pid"
# mariadbd flushes InnoDB on TERM: give it time.
stop_server mariadbd mariadbd 30 group "$MORE_DIR/mariadb/mariadbd.pid" "$MORE_DIR/mariadb/pid"
# dovecot's master stops its children on TERM (login processes are listed
# first, so one that outlives the master gets KILL).
stop_server dovecot dovecot 5 single "$MORE_DIR/dovecot/run/master.pid"
