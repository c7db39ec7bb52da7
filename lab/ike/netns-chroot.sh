#!/usr/bin/env bash
# Run inside `unshare -n -m` by start.sh for the ike-pq target: a network
# namespace with only loopback, and a mount namespace in which the trixie
# image (ROOT) sees the run directory at /lab and RUN/run at /run (charon's
# fixed pid file), with a /proc of its own. Then exec the image's charon
# through chroot. All the mounts go with the namespace, i.e. with charon.
# PROTOAUDIT_IKE_RUN names the run directory in charon's environment, which is
# how stop.sh knows the pid is this lab's charon.
set -euo pipefail
RUN=$1 ROOT=$2
mount --make-rprivate /
mkdir -p "$RUN/run"
mount --bind "$RUN" "$ROOT/lab"
mount --bind "$RUN/run" "$ROOT/run"
mount -t proc proc "$ROOT/proc"
ip link set lo up
export PROTOAUDIT_IKE_RUN="$RUN"
export STRONGSWAN_CONF=/lab/strongswan.conf
exec chroot "$ROOT" /usr/lib/ipsec/charon
