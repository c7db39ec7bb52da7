# Shared by the openvpn sub-lab's scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

OVPN_SRC="$LAB_SRC/openvpn"
OVPN_DIR="$LAB_DIR/openvpn"
OVPN_TRUTH="$OVPN_SRC/ground_truth.json"

# "name proto host port device" per target, from instances.py (the one table).
ovpn_targets() {
    "$PYTHON" "$OVPN_SRC/instances.py" list
}

ovpn_probe() {  # ARGS...: probe.py (stdlib only)
    PROTOAUDIT_LAB_DIR="$LAB_DIR" "$PYTHON" "$OVPN_SRC/probe.py" "$@"
}

# The pid in FILE if that process is alive, is openvpn, and its command line
# names this run directory: a stale pid file must never make us signal an
# unrelated process that reused the pid.
ovpn_live_pid() {  # FILE
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -d ' \n' <"$1")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(<"/proc/$pid/comm") == openvpn ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$OVPN_DIR/" || return 1
    echo "$pid"
}
