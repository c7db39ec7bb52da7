#!/usr/bin/env bash
# One line for the ike sub-lab: up when its address answers IKEv1 Main Mode
# and IKEv2 (ike-scan). Exit 1 if it is down.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ike.sh"

if ike_up; then
    printf '%-18s %s:%-5s %s\n' ike "$IKE_LAB_HOST" "$IKE_PORT" "up (IKEv1 and IKEv2 answer)"
else
    printf '%-18s %s:%-5s %s\n' ike "$IKE_LAB_HOST" "$IKE_PORT" "down"
    exit 1
fi
