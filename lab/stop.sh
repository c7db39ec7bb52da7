#!/usr/bin/env bash
# Stop the lab servers that this run dir's pid files name, and nothing else.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

# Members of process group PGID that are ours: their command line names the run
# dir or the lab scripts. (A pid file can outlive its process; a recycled pid
# must never get a signal from us.)
our_group() {  # PGID
    local p
    for p in $(pgrep -g "$1" 2>/dev/null); do
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -e "$LAB_DIR" -e "$LAB_SRC"; then
            echo "$p"
        fi
    done
}

# nginx: the master takes its workers down on TERM.
if pid=$(lab_live_pid "$LAB_DIR/nginx/nginx.pid" nginx); then
    kill -TERM "$pid"
    wait_gone "$pid" || { echo "stop.sh: nginx ($pid) ignored TERM, sending KILL" >&2; kill -KILL "$pid" || true; }
    echo "stopped nginx (pid $pid)"
fi
rm -f "$LAB_DIR/nginx/nginx.pid"

# The others were started by setsid: the pid in each file is also its process
# group, which holds socat's per-connection children and, for legacy-3des, the
# socat inside the namespace. Signal the group's members that are ours.
for file in "$LAB_DIR/legacy/pid" "$LAB_DIR/legacy-3des/pid" "$LAB_DIR/legacy-3des/bridge.pid"; do
    [[ -s $file ]] || continue
    pgid=$(<"$file")
    if [[ $pgid =~ ^[0-9]+$ ]]; then
        mapfile -t members < <(our_group "$pgid")
        if ((${#members[@]})); then
            kill -TERM "${members[@]}" 2>/dev/null || true
            if ! wait_gone "${members[@]}"; then
                echo "stop.sh: group $pgid ignored TERM, sending KILL" >&2
                kill -KILL "${members[@]}" 2>/dev/null || true
            fi
            echo "stopped ${file#"$LAB_DIR"/} group $pgid (${members[*]})"
        fi
    fi
    rm -f "$file"
done
rm -f "$LAB_DIR/legacy-3des/gnutls.sock"

# Sub-labs stop themselves (lab/NAME/stop.sh), whatever state they are in.
for script in "$LAB_SRC"/*/stop.sh; do
    [[ -e $script ]] || continue
    bash "$script" || echo "stop.sh: $script failed" >&2
done
