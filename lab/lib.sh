# Shared by the lab scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${PROTOAUDIT_LAB_DIR:-/tmp/protoaudit-lab}
LAB_TRUTH="$LAB_SRC/ground_truth.json"
PYTHON=${PYTHON:-python3}
# Servers, clients and ground_truth.py all run with OpenSSL's library defaults:
# a host openssl.cnf that raises the security level would change what is enabled.
export OPENSSL_CONF=/dev/null

# "name port" per target, from the ground truth (itself generated from the configs).
lab_targets() {
    jq -r '.targets | to_entries[] | "\(.key) \(.value.port)"' "$LAB_TRUTH"
}

lab_tcp_open() {  # PORT
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# A TCP accept is not enough: the socat bridge accepts even when gnutls-serv is
# down. Ask for a full handshake; SECLEVEL=0 so the TLS 1.0-only path works too.
lab_tls_ok() {  # PORT
    timeout 5 openssl s_client -connect "127.0.0.1:$1" -servername localhost \
        -cipher 'ALL:@SECLEVEL=0' </dev/null >/dev/null 2>&1
}

# The pid in FILE if that process is alive and still runs PROGRAM. A stale pid
# file must never make us signal some unrelated process that reused the pid.
lab_live_pid() {  # FILE PROGRAM
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$2" ]] || return 1
    echo "$pid"
}

# Wait (at most 5 s) until every PID has exited; 1 if some still runs.
wait_gone() {  # PID...
    local p alive
    for _ in $(seq 50); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive)) || return 0
        sleep 0.1
    done
    return 1
}

# --- Debian packages, for the sub-labs' install.sh ------------------------------------

lab_installed() {  # PACKAGE
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

lab_apt_install() {  # PACKAGE...: the package lists are read first when there are none
    export DEBIAN_FRONTEND=noninteractive
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        apt-get update
    fi
    apt-get install -y --no-install-recommends "$@" || {
        apt-get update  # stale lists: a version vanished from the mirror
        apt-get install -y --no-install-recommends "$@"
    }
}
