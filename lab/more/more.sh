# Shared by the more-lab's scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MORE_SRC="$LAB_SRC/more"
MORE_DIR="$LAB_DIR/more"
MORE_TRUTH="$MORE_SRC/ground_truth.json"
PKI="$LAB_DIR/pki"
NNRPD=/usr/lib/news/bin/nnrpd

# "name host port" per target, from the ground truth.
more_targets() {
    jq -r '.targets[] | "\(.name) \(.host) \(.port)"' "$MORE_TRUTH"
}

more_probe() {  # ARGS...: probe.py with this lab's run dir
    PROTOAUDIT_LAB_DIR="$LAB_DIR" "$PYTHON" "$MORE_SRC/probe.py" "$@"
}

# The pid in FILE if that process is alive and its comm is COMM (a stale pid
# file must never make us signal an unrelated process that reused the pid).
more_live_pid() {  # FILE COMM
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -d ' \n' <"$1")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$2" ]] || return 1
    echo "$pid"
}

more_descendants() {  # PID: its children, grandchildren, ...
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        more_descendants "$c"
    done
}
