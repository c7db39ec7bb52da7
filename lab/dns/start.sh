#!/usr/bin/env bash
# Start the DNSSEC sub-lab: three knotd instances (the lab root ".", the TLD
# "test.", the children of test.) and two unbound resolvers (validating, and
# a plain recursor for clients that validate by themselves), each on
# its own 127.0.53.x address, port 53 (targets.env), with its config, zones,
# pid file and log under $LAB_DIR/dns. Keys are made and every zone is signed
# afresh (build.py, with ldnsutils), signatures relative to now; the lab root
# KSK is the trust anchor (RUN/dns/trust-anchor.*). TLSA records come from
# the TLS lab's certificates in $LAB_DIR/pki (lab/start.sh makes them).
# Running it again restarts everything. Refuses to start if an address is
# taken by another process; exits non-zero, showing the log, if a server does
# not answer. Nothing here talks to any address outside 127.0.53.0/24.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/dns.sh"

for cmd in knotd unbound unbound-checkconf ldns-keygen ldns-signzone ldns-key2ds dig ss; do
    command -v "$cmd" >/dev/null || { echo "dns/start.sh: $cmd missing; run lab/install.sh (or lab/dns/install.sh)" >&2; exit 1; }
done
for leaf in rsa ecdsa expired self-signed intermediate ca; do
    [[ -s $LAB_DIR/pki/$leaf.pem ]] || {
        echo "dns/start.sh: $LAB_DIR/pki/$leaf.pem missing (the TLSA records are made from the lab PKI);" \
            "run lab/start.sh, or $PYTHON lab/pki.py $LAB_DIR" >&2
        exit 1
    }
done

bash "$DNS_SRC/stop.sh" >/dev/null
# After stop.sh nothing of ours listens: anything there now is someone else's.
for entry in "${DNS_SERVERS[@]}"; do
    read -r name _ _ addr _ <<<"$entry"
    taken=$(dns_port_taken "$addr")
    if [[ -n $taken ]]; then
        echo "dns/start.sh: $addr:$DNS_PORT ($name) is taken by another process:" >&2
        echo "$taken" >&2
        exit 1
    fi
done

fail() {  # WHAT LOG...
    echo "dns/start.sh: $1 did not come up; its log:" >&2
    shift
    tail -n 25 "$@" >&2 || true
    bash "$DNS_SRC/stop.sh" >&2 || true  # leave nothing half-started
    exit 1
}

# Fresh state every start: keys, zones, configs, logs.
rm -rf "$DNS_DIR"
mkdir -p "$DNS_DIR"
chmod 700 "$DNS_DIR"
"$PYTHON" "$DNS_SRC/build.py" "$DNS_DIR" "$LAB_DIR/pki"

# Servers run in sessions of their own (setsid, which here execs in place, so
# $! is the server), in the foreground, logging to stderr = their log file.
for server in root tld children; do
    dir="$DNS_DIR/$server"
    setsid knotd -c "$dir/knot.conf" </dev/null >"$dir/knotd.log" 2>&1 &
    echo $! >"$dir/pid"
done
# unbound: the validating resolver, and the recursor (no validation).
for server in unbound recursor; do
    dir="$DNS_DIR/$server"
    unbound-checkconf "$dir/unbound.conf" >"$dir/unbound.log" 2>&1 || fail "$server (config check)" "$dir/unbound.log"
    setsid unbound -d -c "$dir/unbound.conf" </dev/null >>"$dir/unbound.log" 2>&1 &
    echo $! >"$dir/pid"
done

# Every server must answer (at most ~10 s each); the resolver must validate.
for entry in "${DNS_SERVERS[@]}"; do
    read -r name _ pidfile addr zone <<<"$entry"
    for i in $(seq 100); do
        dns_answers "$name" "$addr" "$zone" && break
        # A server that has exited will not come up: fail at once.
        if [[ $i == 100 ]] || ! kill -0 "$(<"$DNS_DIR/$pidfile")" 2>/dev/null; then
            fail "$name ($addr:$DNS_PORT)" "$(dirname "$DNS_DIR/$pidfile")"/*.log
        fi
        sleep 0.1
    done
done
echo "dns/start.sh: knotd (root, tld, children) and unbound (resolver, recursor) up in $DNS_DIR; trust anchor $DNS_DIR/trust-anchor.ds"
