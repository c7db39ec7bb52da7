#!/usr/bin/env bash
# Start the ssh sub-lab: two OpenSSH sshd (hardened, legacy), dropbear, the
# Terrapin-vulnerable paramiko server and one inetutils-inetd for telnet,
# rexec, rlogin and rsh; all on 127.0.0.1, each with its config, keys, pid
# file and log under $LAB_DIR/ssh (never a system service or system config).
# Host keys, the lab host CA and the host certificate are made fresh at every
# start (keys.py; fingerprints in $LAB_DIR/ssh/hostkeys.json). Running it
# again restarts everything. Exits non-zero, showing the server's log, if a
# target does not answer its protocol; refuses to start if a port is taken.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ssh.sh"

for cmd in /usr/sbin/sshd ssh ssh-keygen ssh-keyscan dropbear dropbearkey dbclient \
    inetutils-inetd /usr/sbin/telnetd /usr/sbin/in.rexecd /usr/sbin/in.rlogind \
    /usr/sbin/in.rshd "$SYSTEM_PYTHON" jq strings; do
    command -v "$cmd" >/dev/null || { echo "ssh/start.sh: $cmd missing; run lab/install.sh" >&2; exit 1; }
done
"$SYSTEM_PYTHON" -I -c 'import paramiko' 2>/dev/null ||
    { echo "ssh/start.sh: python3-paramiko missing; run lab/install.sh" >&2; exit 1; }

bash "$SSH_SRC/stop.sh" >/dev/null
# After stop.sh nothing of ours listens: anything there now is someone else's.
while read -r name host port _; do
    if timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
        echo "ssh/start.sh: $host:$port ($name) is taken by another process:" >&2
        ss -ltnp "sport = :$port" >&2 || true
        exit 1
    fi
done < <(ssh_targets)

render() {  # TEMPLATE OUT: @RUN@ and @KEY@ (targets.env), as ground_truth.py does
    local args=(-e "s|@RUN@|$SSH_DIR|g") key
    while read -r key; do
        args+=(-e "s|@$key@|${!key}|g")
    done < <(sed -n "s/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p" "$SSH_SRC/targets.env")
    sed "${args[@]}" "$1" >"$2"
}
fail() {  # WHAT LOG...
    echo "ssh/start.sh: $1 did not come up; its log:" >&2
    shift
    tail -n 25 "$@" >&2 || true
    bash "$SSH_SRC/stop.sh" >&2 || true  # leave nothing half-started
    exit 1
}

# Fresh state every start: keys, CA, certificate, configs, logs.
rm -rf "$SSH_DIR"
mkdir -p "$SSH_DIR"
chmod 700 "$SSH_DIR"
"$PYTHON" "$SSH_SRC/keys.py" "$SSH_DIR" >/dev/null
# A known_hosts that trusts the lab host CA for this lab's address (any port),
# for clients that want to validate the host certificate.
echo "@cert-authority 127.0.0.1,[127.0.0.1]:*,localhost,[localhost]:* $(<"$SSH_DIR/keys/ca/host_ca.pub")" \
    >"$SSH_DIR/known_hosts.ca"

# Servers run in sessions of their own (setsid, which here execs in place, so
# $! is the server). stop.sh signals the pid in each pid file and everything
# it forked.

# --- OpenSSH: sshd -D (no daemon fork) -e (log to stderr, i.e. the log file).
# sshd insists on its privilege separation directory, even for -t; the system
# service would create it, and it is the same empty root-owned directory.
[[ -d /run/sshd ]] || mkdir -m 755 /run/sshd
for which in hardened legacy; do
    dir="$SSH_DIR/sshd-$which"
    mkdir -p "$dir"
    render "$SSH_SRC/sshd-$which.conf.in" "$dir/sshd_config"
    /usr/sbin/sshd -t -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 || fail "sshd-$which (config test)" "$dir/sshd.log"
    setsid /usr/sbin/sshd -D -e -f "$dir/sshd_config" </dev/null >>"$dir/sshd.log" 2>&1 &
    echo $! >"$dir/pid"
done

# --- dropbear: -F foreground, -E log to stderr. The -r order does not matter:
# dropbear lists host-key algorithms in its compiled order.
dir="$SSH_DIR/dropbear"
mkdir -p "$dir"
keyargs=()
for key in "$SSH_DIR"/keys/dropbear/*_host_key; do
    keyargs+=(-r "$key")
done
# shellcheck disable=SC2086  # DROPBEAR_OPTIONS is a list of flags
setsid dropbear -F -E -p "$SSH_LAB_HOST:$DROPBEAR_PORT" -P "$dir/dropbear.pid" "${keyargs[@]}" \
    $DROPBEAR_OPTIONS </dev/null >"$dir/dropbear.log" 2>&1 &
echo $! >"$dir/pid"

# --- paramiko: Debian's interpreter and library (-I: no user site, no env).
dir="$SSH_DIR/paramiko"
mkdir -p "$dir"
setsid "$SYSTEM_PYTHON" -I "$SSH_SRC/paramiko_server.py" --host "$SSH_LAB_HOST" \
    --port "$PARAMIKO_PORT" --host-key "$SSH_DIR/keys/paramiko/ssh_host_ed25519_key" \
    </dev/null >"$dir/paramiko.log" 2>&1 &
echo $! >"$dir/pid"

# --- inetutils-inetd: -d keeps it in the foreground (and logs each
# connection); its own pid file; the private config only.
dir="$SSH_DIR/inetd"
mkdir -p "$dir"
render "$SSH_SRC/inetd.conf.in" "$dir/inetd.conf"
setsid inetutils-inetd -d --pidfile="$dir/inetd.pid" "$dir/inetd.conf" \
    </dev/null >"$dir/inetd.log" 2>&1 &
echo $! >"$dir/pid"

# --- every target must answer its protocol (at most ~10 s each).
declare -A DIRS=(
    [ssh-hardened]=sshd-hardened [ssh-legacy]=sshd-legacy [dropbear]=dropbear
    [paramiko]=paramiko [telnet]=inetd [rexec]=inetd [rlogin]=inetd [rsh]=inetd
)
while read -r name host port _; do
    dir="$SSH_DIR/${DIRS[$name]}"
    for i in $(seq 100); do
        ssh_probe up "$name" 2>/dev/null && break
        # A server that has exited will not come up: fail at once.
        if [[ $i == 100 ]] || ! kill -0 "$(<"$dir/pid")" 2>/dev/null; then
            ssh_probe up "$name" || true
            fail "$name ($host:$port)" "$dir"/*.log
        fi
        sleep 0.1
    done
done < <(ssh_targets)
echo "ssh/start.sh: sshd (hardened, legacy), dropbear, paramiko and inetd (telnet, rexec, rlogin, rsh) up in $SSH_DIR"
