#!/usr/bin/env bash
# Start the ike sub-lab: strongSwan's charon in a network namespace of its own
# (unshare -n -m: only loopback, and nothing outlives its processes), its
# connections loaded with swanctl, and relay.py bridging UDP 500 and 4500 on
# $IKE_LAB_HOST (host loopback) into the namespace. Running it again restarts
# everything. Exits non-zero, showing the logs, if the lab does not answer.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ike.sh"

for cmd in "$CHARON" swanctl ike-scan unshare ip "$PYTHON"; do
    command -v "$cmd" >/dev/null || { echo "ike/start.sh: $cmd missing; run lab/install.sh" >&2; exit 1; }
done

bash "$IKE_SRC/stop.sh" >/dev/null
if ss -Hlun "( sport = :$IKE_PORT or sport = :$IKE_NAT_T_PORT )" | grep -qE "$IKE_LAB_HOST:|0\.0\.0\.0:|\*:"; then
    echo "ike/start.sh: UDP $IKE_PORT/$IKE_NAT_T_PORT on $IKE_LAB_HOST is taken:" >&2
    ss -Hlunp "( sport = :$IKE_PORT or sport = :$IKE_NAT_T_PORT )" >&2 || true
    exit 1
fi

fail() {  # WHAT
    echo "ike/start.sh: $1; logs:" >&2
    tail -n 25 "$IKE_DIR"/*.log >&2 || true
    bash "$IKE_SRC/stop.sh" >&2 || true
    exit 1
}

rm -rf "$IKE_DIR"
mkdir -p "$IKE_DIR/run"
chmod 700 "$IKE_DIR"
for file in strongswan.conf swanctl.conf; do
    sed "s|@RUN@|$IKE_DIR|g" "$IKE_SRC/$file.in" >"$IKE_DIR/$file"
done

# charon: setsid execs in place, unshare and netns.sh exec too, so $! is charon.
setsid unshare -n -m -- bash "$IKE_SRC/netns.sh" "$IKE_DIR" </dev/null >"$IKE_DIR/charon.out.log" 2>&1 &
echo $! >"$IKE_DIR/charon.pid"
for i in $(seq 50); do
    [[ -S $IKE_DIR/charon.vici ]] && break
    kill -0 "$(<"$IKE_DIR/charon.pid")" 2>/dev/null || fail "charon exited"
    [[ $i == 50 ]] && fail "charon's vici socket did not appear"
    sleep 0.1
done
swanctl --load-all --file "$IKE_DIR/swanctl.conf" --uri "unix://$IKE_DIR/charon.vici" \
    >"$IKE_DIR/swanctl.log" 2>&1 || fail "swanctl --load-all failed"

setsid "$PYTHON" "$IKE_SRC/relay.py" --netns "/proc/$(<"$IKE_DIR/charon.pid")/ns/net" \
    --listen "$IKE_LAB_HOST" --ports "$IKE_PORT,$IKE_NAT_T_PORT" \
    </dev/null >"$IKE_DIR/relay.log" 2>&1 &
echo $! >"$IKE_DIR/relay.pid"

for i in $(seq 30); do
    ike_up && break
    [[ $i == 30 ]] && fail "no IKE answer on $IKE_LAB_HOST:$IKE_PORT"
    sleep 0.1
done
echo "ike/start.sh: charon (IKEv2 + IKEv1 aggressive PSK) up on $IKE_LAB_HOST:$IKE_PORT via the relay; run dir $IKE_DIR"
