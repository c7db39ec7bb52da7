#!/usr/bin/env bash
# Start the openvpn sub-lab: six OpenVPN 2.6 servers in server mode, each on
# its own tun device and private /24 (instances.py), on 127.0.0.1: plain over
# UDP and TCP, tls-crypt over UDP and TCP, tls-auth over UDP, and a legacy one
# (TLS 1.0 allowed, RSA-1024 certificate signed with SHA-1). A fresh PKI and
# fresh tls-auth/tls-crypt keys at every start, all under $LAB_DIR/openvpn.
# Running it again restarts everything. Exits non-zero, showing the servers'
# logs, if one does not come up; refuses to start if a port or device is taken.
# Takes about two seconds.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ovpn.sh"

for cmd in openvpn openssl ip ss; do
    command -v "$cmd" >/dev/null || { echo "openvpn/start.sh: $cmd missing; run lab/install.sh" >&2; exit 1; }
done
[[ -c /dev/net/tun ]] || { echo "openvpn/start.sh: no /dev/net/tun; run lab/install.sh" >&2; exit 1; }

bash "$OVPN_SRC/stop.sh" >/dev/null
mapfile -t TARGETS < <(ovpn_targets)
# After stop.sh nothing of ours is there: anything now is someone else's.
for line in "${TARGETS[@]}"; do
    read -r name proto _ port device <<<"$line"
    flag=$([[ $proto == udp ]] && echo -Hlun || echo -Hltn)
    if [[ -n $(ss "$flag" "sport = :$port" 2>/dev/null) ]]; then
        echo "openvpn/start.sh: $proto port $port ($name) is taken by another process:" >&2
        ss "${flag/H/}p" "sport = :$port" >&2 || true
        exit 1
    fi
    if ip link show dev "$device" >/dev/null 2>&1; then
        echo "openvpn/start.sh: device $device ($name) exists and is not ours" >&2
        exit 1
    fi
done

fail() {  # WHAT LOG...
    echo "openvpn/start.sh: $1 did not come up; the logs:" >&2
    shift
    tail -n 15 "$@" >&2 || true
    bash "$OVPN_SRC/stop.sh" >&2 || true  # leave nothing half-started
    exit 1
}

rm -rf "$OVPN_DIR"
mkdir -p "$OVPN_DIR"
chmod 700 "$OVPN_DIR"
"$PYTHON" "$OVPN_SRC/instances.py" render "$OVPN_DIR"

# Foreground servers in sessions of their own; the pid file holds openvpn itself.
logs=()
for line in "${TARGETS[@]}"; do
    read -r name _ _ _ _ <<<"$line"
    dir="$OVPN_DIR/$name"
    setsid openvpn --config "$dir/server.conf" </dev/null >"$dir/openvpn.log" 2>&1 &
    echo $! >"$dir/pid"
    logs+=("$dir/openvpn.log")
done

# Every server must be up within 10 s (probe.py says what "up" means, and names
# the ones that are not).
ovpn_probe wait || fail "an OpenVPN server (named above)" "${logs[@]}"
echo "openvpn/start.sh: ${#TARGETS[@]} OpenVPN servers up in $OVPN_DIR"
