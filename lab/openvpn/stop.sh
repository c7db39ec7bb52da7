#!/usr/bin/env bash
# Stop the openvpn sub-lab's servers named by the pid files in $LAB_DIR/openvpn,
# and nothing else; then remove any of the lab's own tun devices (pa-ovpnN,
# from instances.py) that a killed server left behind. Safe in any state.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ovpn.sh"

pids=()
while read -r name _ _ _ _; do
    if pid=$(ovpn_live_pid "$OVPN_DIR/$name/pid"); then
        pids+=("$pid")
        echo "stopping openvpn $name (pid $pid)"
    fi
done < <(ovpn_targets)
if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    if ! wait_gone "${pids[@]}"; then
        echo "openvpn/stop.sh: servers left after TERM, sending KILL" >&2
        kill -KILL "${pids[@]}" 2>/dev/null || true
        wait_gone "${pids[@]}" || true
    fi
fi
while read -r name _ _ _ device; do
    rm -f "$OVPN_DIR/$name/pid"
    if ip link show dev "$device" >/dev/null 2>&1; then
        echo "openvpn/stop.sh: removing leftover tun device $device"
        ip link delete dev "$device" || true
    fi
done < <(ovpn_targets)
