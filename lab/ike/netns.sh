#!/usr/bin/env bash
# Run inside `unshare -n -m` by start.sh: a network namespace with only
# loopback, and a mount namespace where /run is the lab's own directory, so
# that charon's fixed pid file (/var/run/charon.pid) never meets a system
# charon's. Then exec charon with the lab's strongswan.conf.
set -euo pipefail
RUN=$1
mount --make-rprivate /
mkdir -p "$RUN/run"
mount --bind "$RUN/run" /run
ip link set lo up
export STRONGSWAN_CONF="$RUN/strongswan.conf"
exec /usr/lib/ipsec/charon
