#!/usr/bin/env bash
# Check lab/dns/ground_truth.json two ways: it must be what ground_truth.py
# derives from zones.py today, and the running servers must behave as it (and
# RUN/dns/zones.json, written at start) says, according to peer validators
# that share no code with protoaudit: delv, unbound-host, ldns-verify-zone,
# ldns-dane, and dig against the authoritative servers and the lab resolver
# (see verify.py). Every tool is pointed at the lab explicitly; nothing
# queries the real root or a public resolver. Prints a table and a count of
# checks and mismatches; exits non-zero on any mismatch.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/dns.sh"

for cmd in delv unbound-host ldns-verify-zone ldns-dane dig openssl; do
    command -v "$cmd" >/dev/null || { echo "dns/verify.sh: $cmd missing; run lab/dns/install.sh" >&2; exit 1; }
done
"$PYTHON" "$DNS_SRC/ground_truth.py" --check
bash "$DNS_SRC/status.sh" >/dev/null || {
    echo "dns/verify.sh: the DNS lab is not (fully) up; run lab/start.sh (or lab/dns/start.sh)" >&2
    bash "$DNS_SRC/status.sh" >&2 || true
    exit 1
}
PROTOAUDIT_LAB_DIR="$LAB_DIR" exec "$PYTHON" "$DNS_SRC/verify.py"
