# Shared by the socks sub-lab's scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=targets.env
source "$(dirname "${BASH_SOURCE[0]}")/targets.env"

SOCKS_SRC="$LAB_SRC/socks"
SOCKS_DIR="$LAB_DIR/socks"
SOCKS_TRUTH="$SOCKS_SRC/ground_truth.json"

# "name host port server" per target, from the ground truth.
socks_targets() {
    jq -r '.targets | to_entries[] | "\(.key) \(.value.host) \(.value.port) \(.value.server)"' "$SOCKS_TRUTH"
}

socks_probe() {  # ARGS...: probe.py (stdlib only)
    "$PYTHON" "$SOCKS_SRC/probe.py" "$@"
}

# The pid in FILE if that process is alive, its comm is COMM and its command
# line names this run directory (Dante's mother keeps its argv; its children
# rename themselves, so they are found as the mother's descendants).
socks_live_pid() {  # FILE COMM
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -d ' \n' <"$1")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$2" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$SOCKS_DIR/" || return 1
    echo "$pid"
}

socks_descendants() {  # PID: its children, grandchildren, ...
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        socks_descendants "$c"
    done
}

# name comm pid-file (relative to SOCKS_DIR) of every server start.sh runs.
SOCKS_SERVERS=(
    "dante-open danted dante-open/pid"
    "dante-password danted dante-password/pid"
    "dante-both danted dante-both/pid"
    "microsocks microsocks microsocks/pid"
)
