#!/usr/bin/env bash
# One line per ike sub-lab target: up when its address answers IKEv1 Main Mode
# and IKEv2 (ike-scan; the second target's IKEv2 answer must be a COOKIE; the
# third, ike-pq, answers IKEv2 only). Exit 1 if one is down (ike-pq without its
# image counts as down only under CI=true).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/ike.sh"

status=0
if ike_up; then
    printf '%-18s %s:%-5s %s\n' ike "$IKE_LAB_HOST" "$IKE_PORT" "up (IKEv1 and IKEv2 answer)"
else
    printf '%-18s %s:%-5s %s\n' ike "$IKE_LAB_HOST" "$IKE_PORT" "down"
    status=1
fi
if ike_cookie_up; then
    printf '%-18s %s:%-5s %s\n' ike-cookie "$IKE_COOKIE_HOST" "$IKE_PORT" "up (IKEv1 answers, IKEv2 asks for a COOKIE)"
else
    printf '%-18s %s:%-5s %s\n' ike-cookie "$IKE_COOKIE_HOST" "$IKE_PORT" "down"
    status=1
fi
if ike_pq_up; then
    printf '%-18s %s:%-5s %s\n' ike-pq "$IKE_PQ_HOST" "$IKE_PORT" "up (IKEv2 answers; strongSwan 6.0, ML-KEM in IKE_SA_INIT)"
elif ! ike_pq_image && [[ ${CI:-} != true ]]; then
    printf '%-18s %s:%-5s %s\n' ike-pq "$IKE_PQ_HOST" "$IKE_PORT" "not installed (lab/ike/install.sh builds $IKE_PQ_ROOT)"
else
    printf '%-18s %s:%-5s %s\n' ike-pq "$IKE_PQ_HOST" "$IKE_PORT" "down"
    status=1
fi
exit "$status"
