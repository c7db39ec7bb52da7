# Shared by the ssh sub-lab's scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=targets.env
source "$(dirname "${BASH_SOURCE[0]}")/targets.env"

SSH_SRC="$LAB_SRC/ssh"
SSH_DIR="$LAB_DIR/ssh"
SSH_TRUTH="$SSH_SRC/ground_truth.json"
# Debian's interpreter, for Debian's paramiko (python3-paramiko): the project's
# own python3 (PYTHON) has neither that package nor should it.
SYSTEM_PYTHON=/usr/bin/python3

# "name host port protocol" per target, from the ground truth.
ssh_targets() {
    jq -r '.targets[] | "\(.name) \(.host) \(.port) \(.protocol)"' "$SSH_TRUTH"
}

ssh_probe() {  # ARGS...: probe.py (stdlib only) with the lab's python
    "$PYTHON" "$SSH_SRC/probe.py" "$@"
}

# The pid in FILE if that process is alive, its comm is COMM and its command
# line names this run directory: a stale pid file must never make us signal
# an unrelated process that reused the pid.
ssh_live_pid() {  # FILE COMM
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -d ' \n' <"$1")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$2" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$SSH_DIR/" || return 1
    echo "$pid"
}

ssh_descendants() {  # PID: its children, grandchildren, ...
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        ssh_descendants "$c"
    done
}

# name comm pid-file (relative to SSH_DIR) of every server start.sh runs.
SSH_SERVERS=(
    "sshd-hardened sshd sshd-hardened/pid"
    "sshd-legacy sshd sshd-legacy/pid"
    "dropbear dropbear dropbear/pid"
    "paramiko python3 paramiko/pid"
    "inetd inetutils-inetd inetd/pid"
)
