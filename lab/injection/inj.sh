# Shared by the injection sub-lab's scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

INJ_SRC="$LAB_SRC/injection"
INJ_DIR="$LAB_DIR/injection"
INJ_TRUTH="$INJ_SRC/ground_truth.json"
INJ_PID="$INJ_DIR/pid"
INJ_LOG="$INJ_DIR/responder.log"

# "name host port" per target, from the ground truth.
inj_targets() {
    jq -r '.targets[] | "\(.name) \(.host) \(.port)"' "$INJ_TRUTH"
}

# Up means: greets, offers STARTTLS and completes the handshake after it.
inj_tls_ok() {  # HOST PORT
    timeout 5 openssl s_client -connect "$1:$2" -starttls smtp -servername localhost \
        </dev/null >/dev/null 2>&1
}

# The responder's pid, if the pid file names a live process that is ours
# (its command line names responder.py from this checkout): a recycled pid in
# a stale file belongs to someone else.
inj_live_pid() {
    local pid
    [[ -s $INJ_PID ]] || return 1
    pid=$(<"$INJ_PID")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$INJ_SRC/responder.py" || return 1
    echo "$pid"
}
