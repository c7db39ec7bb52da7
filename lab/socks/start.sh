#!/usr/bin/env bash
# Start the socks sub-lab: three Dante servers (no authentication; username/
# password; both) and one microsocks with -u/-P, all on 127.0.0.1, each with its
# config, pid file and log under $LAB_DIR/socks (never a system service or
# config). Running it again restarts everything. Exits non-zero, showing the
# server's log, if a target does not answer; refuses to start if a port is taken.
# Takes about a second.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/socks.sh"

for cmd in danted microsocks jq pgrep; do
    command -v "$cmd" >/dev/null || { echo "socks/start.sh: $cmd missing; run lab/install.sh" >&2; exit 1; }
done
id "$DANTE_USER" >/dev/null 2>&1 ||
    { echo "socks/start.sh: user $DANTE_USER missing; run lab/install.sh" >&2; exit 1; }

bash "$SOCKS_SRC/stop.sh" >/dev/null
# After stop.sh nothing of ours listens: anything there now is someone else's.
while read -r name host port _; do
    if timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
        echo "socks/start.sh: $host:$port ($name) is taken by another process:" >&2
        ss -ltnp "sport = :$port" >&2 || true
        exit 1
    fi
done < <(socks_targets)

fail() {  # WHAT LOG...
    echo "socks/start.sh: $1 did not come up; its log:" >&2
    shift
    tail -n 25 "$@" >&2 || true
    bash "$SOCKS_SRC/stop.sh" >&2 || true  # leave nothing half-started
    exit 1
}

rm -rf "$SOCKS_DIR"
mkdir -p "$SOCKS_DIR"
chmod 700 "$SOCKS_DIR"

# --- Dante: foreground (no -D), its own pid file; the mother kills its children on TERM.
dante() {  # NAME PORT METHODS
    local dir="$SOCKS_DIR/$1"
    mkdir -p "$dir"
    sed -e "s|@RUN@|$SOCKS_DIR|g" -e "s|@NAME@|$1|g" -e "s|@PORT@|$2|g" -e "s|@METHODS@|$3|g" \
        "$SOCKS_SRC/dante.conf.in" >"$dir/danted.conf"
    danted -V -f "$dir/danted.conf" >"$dir/stderr.log" 2>&1 || fail "$1 (config test)" "$dir/stderr.log"
    setsid danted -f "$dir/danted.conf" -p "$dir/danted.pid" </dev/null >>"$dir/stderr.log" 2>&1 &
    echo $! >"$dir/pid"
}
dante dante-open "$DANTE_OPEN_PORT" "$DANTE_OPEN_METHODS"
dante dante-password "$DANTE_PASSWORD_PORT" "$DANTE_PASSWORD_METHODS"
dante dante-both "$DANTE_BOTH_PORT" "$DANTE_BOTH_METHODS"

# --- microsocks: no config file, so argv[0] names the run dir (exec -a) for stop.sh.
# -b 127.0.0.1: its outgoing connections leave from loopback, so reach loopback only.
dir="$SOCKS_DIR/microsocks"
mkdir -p "$dir"
# shellcheck disable=SC2016  # $0 and $@ are the inner shell's, on purpose
setsid bash -c 'exec -a "$0" microsocks "$@"' "$dir/microsocks" \
    -i "$SOCKS_LAB_HOST" -p "$MICROSOCKS_PORT" -u "$MICROSOCKS_USER" -P "$MICROSOCKS_PASSWORD" \
    -b 127.0.0.1 </dev/null >"$dir/microsocks.log" 2>&1 &
echo $! >"$dir/pid"

# --- every target must answer a method selection (at most ~10 s each).
while read -r name host port _; do
    dir="$SOCKS_DIR/$name"
    for i in $(seq 100); do
        socks_probe up "$name" 2>/dev/null && break
        if [[ $i == 100 ]] || ! kill -0 "$(<"$dir/pid")" 2>/dev/null; then
            socks_probe up "$name" || true
            fail "$name ($host:$port)" "$dir"/*.log
        fi
        sleep 0.1
    done
done < <(socks_targets)
echo "socks/start.sh: dante (open, password, both) and microsocks up in $SOCKS_DIR"
