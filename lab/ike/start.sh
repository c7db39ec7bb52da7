#!/usr/bin/env bash
# Start the ike sub-lab: three strongSwan charons, each in a network namespace of
# its own (unshare -n -m: only loopback, and nothing outlives its processes),
# their connections loaded with swanctl, and a relay.py per charon bridging UDP
# 500 and 4500 on its host loopback address into its namespace:
#   ike         $IKE_LAB_HOST     strongswan.conf.in, swanctl.conf.in (run dir $IKE_DIR)
#   ike-cookie  $IKE_COOKIE_HOST  strongswan-cookie.conf.in, swanctl-cookie.conf.in
#                                 (run dir $IKE_COOKIE_DIR; seeded below so that it
#                                 always asks IKEv2 initiators for a COOKIE)
#   ike-pq      $IKE_PQ_HOST      strongswan-pq.conf.in, swanctl-pq.conf.in (run dir
#                                 $IKE_PQ_DIR): strongSwan 6.0 of the trixie image
#                                 $IKE_PQ_ROOT (install.sh builds it), chrooted by
#                                 netns-chroot.sh. Without the image it is skipped
#                                 with a warning, or fails the start under CI=true.
# Running it again restarts everything. Exits non-zero, showing the logs, if a
# target does not answer as it should.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ike.sh"

for cmd in "$CHARON" swanctl ike-scan unshare ip "$PYTHON"; do
    command -v "$cmd" >/dev/null || { echo "ike/start.sh: $cmd missing; run lab/install.sh" >&2; exit 1; }
done

pq=1
if ! ike_pq_image; then
    [[ ${CI:-} == true ]] && { echo "ike/start.sh: no ike-pq image at $IKE_PQ_ROOT; run lab/ike/install.sh" >&2; exit 1; }
    echo "ike/start.sh: warning: no ike-pq image at $IKE_PQ_ROOT (lab/ike/install.sh builds it); ike-pq not started" >&2
    pq=0
fi

bash "$IKE_SRC/stop.sh" >/dev/null
hosts=("$IKE_LAB_HOST" "$IKE_COOKIE_HOST")
((pq)) && hosts+=("$IKE_PQ_HOST")
for host in "${hosts[@]}"; do
    if ss -Hlun "( sport = :$IKE_PORT or sport = :$IKE_NAT_T_PORT )" | grep -qE "$host:|0\.0\.0\.0:|\*:"; then
        echo "ike/start.sh: UDP $IKE_PORT/$IKE_NAT_T_PORT on $host is taken:" >&2
        ss -Hlunp "( sport = :$IKE_PORT or sport = :$IKE_NAT_T_PORT )" >&2 || true
        exit 1
    fi
done

fail() {  # WHAT
    echo "ike/start.sh: $1; logs:" >&2
    tail -n 25 "$IKE_DIR"/*.log "$IKE_COOKIE_DIR"/*.log "$IKE_PQ_DIR"/*.log >&2 || true
    bash "$IKE_SRC/stop.sh" >&2 || true
    exit 1
}

rm -rf "$IKE_DIR"
mkdir -p "$IKE_DIR/run" "$IKE_COOKIE_DIR/run" "$IKE_PQ_DIR/run"
chmod 700 "$IKE_DIR"
render() {  # TEMPLATE RUN_DIR NAME
    sed "s|@RUN@|$2|g" "$IKE_SRC/$1" >"$2/$3"
}
render strongswan.conf.in "$IKE_DIR" strongswan.conf
render swanctl.conf.in "$IKE_DIR" swanctl.conf
render strongswan-cookie.conf.in "$IKE_COOKIE_DIR" strongswan.conf
render swanctl-cookie.conf.in "$IKE_COOKIE_DIR" swanctl.conf
# ike-pq's charon sees its run directory at /lab (netns-chroot.sh binds it there).
sed "s|@RUN@|/lab|g" "$IKE_SRC/strongswan-pq.conf.in" >"$IKE_PQ_DIR/strongswan.conf"
cp "$IKE_SRC/swanctl-pq.conf.in" "$IKE_PQ_DIR/swanctl.conf"

# The charons start at once. setsid execs in place, unshare, netns.sh,
# netns-chroot.sh and chroot exec too, so $! is charon.
runs=("$IKE_DIR" "$IKE_COOKIE_DIR")
for run in "${runs[@]}"; do
    setsid unshare -n -m -- bash "$IKE_SRC/netns.sh" "$run" </dev/null >"$run/charon.out.log" 2>&1 &
    echo $! >"$run/charon.pid"
done
if ((pq)); then
    setsid unshare -n -m -- bash "$IKE_SRC/netns-chroot.sh" "$IKE_PQ_DIR" "$IKE_PQ_ROOT" \
        </dev/null >"$IKE_PQ_DIR/charon.out.log" 2>&1 &
    echo $! >"$IKE_PQ_DIR/charon.pid"
    runs+=("$IKE_PQ_DIR")
fi
for run in "${runs[@]}"; do
    for i in $(seq 50); do
        [[ -S $run/charon.vici ]] && break
        kill -0 "$(<"$run/charon.pid")" 2>/dev/null || fail "charon ($run) exited"
        [[ $i == 50 ]] && fail "charon's vici socket did not appear in $run"
        sleep 0.1
    done
    swanctl --load-all --file "$run/swanctl.conf" --uri "unix://$run/charon.vici" \
        >"$run/swanctl.log" 2>&1 || fail "swanctl --load-all failed ($run)"
done

relay() {  # RUN_DIR HOST
    setsid "$PYTHON" "$IKE_SRC/relay.py" --netns "/proc/$(<"$1/charon.pid")/ns/net" \
        --listen "$2" --ports "$IKE_PORT,$IKE_NAT_T_PORT" \
        </dev/null >"$1/relay.log" 2>&1 &
    echo $! >"$1/relay.pid"
}
relay "$IKE_DIR" "$IKE_LAB_HOST"
relay "$IKE_COOKIE_DIR" "$IKE_COOKIE_HOST"
((pq)) && relay "$IKE_PQ_DIR" "$IKE_PQ_HOST"

for i in $(seq 30); do
    ike_up && break
    [[ $i == 30 ]] && fail "no IKE answer on $IKE_LAB_HOST:$IKE_PORT"
    sleep 0.1
done
# The first successful ike_cookie_up is the seed: its Main Mode message 1 leaves
# the half-open IKE_SA that makes that charon demand cookies from then on.
for i in $(seq 30); do
    ike_cookie_up && break
    [[ $i == 30 ]] && fail "$IKE_COOKIE_HOST:$IKE_PORT does not answer IKEv1, or IKEv2 without a COOKIE"
    sleep 0.1
done
if ((pq)); then
    for i in $(seq 30); do
        ike_pq_up && break
        [[ $i == 30 ]] && fail "no IKEv2 answer on $IKE_PQ_HOST:$IKE_PORT"
        sleep 0.1
    done
fi
echo "ike/start.sh: charon (IKEv2 + IKEv1 aggressive PSK) up on $IKE_LAB_HOST:$IKE_PORT," \
    "charon (IKEv2 COOKIE, uncommon IKEv1 suites) on $IKE_COOKIE_HOST:$IKE_PORT," \
    "$( ((pq)) && echo "charon 6.0 (ML-KEM in IKE_SA_INIT) on $IKE_PQ_HOST:$IKE_PORT," || echo "no ike-pq,")" \
    "via relays; run dir $IKE_DIR"
