# Shared by the DNSSEC sub-lab's scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=targets.env
source "$(dirname "${BASH_SOURCE[0]}")/targets.env"

DNS_SRC="$LAB_SRC/dns"
DNS_DIR="$LAB_DIR/dns"
DNS_TRUTH="$DNS_SRC/ground_truth.json"

# "name program pid-file address zone" of every server start.sh runs: pid
# files relative to DNS_DIR; zone = what status.sh asks each server for (the
# resolver recursively, with DNSSEC: it must come back validated).
DNS_SERVERS=(
    "root knotd root/pid $DNS_ROOT_ADDR ."
    "tld knotd tld/pid $DNS_TLD_ADDR test."
    "children knotd children/pid $DNS_CHILDREN_ADDR secure.test."
    "resolver unbound unbound/pid $DNS_RESOLVER_ADDR secure.test."
    "recursor unbound recursor/pid $DNS_RECURSOR_ADDR secure.test."
)

# The pid in FILE if that process is alive, its comm is COMM and its command
# line names this run directory: a stale pid file must never make us signal
# an unrelated process that reused the pid.
dns_live_pid() {  # FILE COMM
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -d ' \n' <"$1")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$2" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DNS_DIR/" || return 1
    echo "$pid"
}

# Does the server answer? Authoritative servers: an authoritative (aa) NOERROR
# SOA for their zone, without recursion. The resolver: a recursive SOA query
# for ZONE that comes back NOERROR with the AD flag, i.e. validated from the
# lab trust anchor down. The recursor: NOERROR (it does not validate).
dns_answers() {  # NAME ADDRESS ZONE
    local out
    if [[ $1 == resolver ]]; then
        out=$(dig +time=2 +tries=1 +dnssec -p "$DNS_PORT" "@$2" "$3" SOA 2>/dev/null) || return 1
        grep -q 'status: NOERROR' <<<"$out" && grep -qE '^;; flags:[a-z ]* ad[ ;]' <<<"$out"
    elif [[ $1 == recursor ]]; then
        out=$(dig +time=2 +tries=1 -p "$DNS_PORT" "@$2" "$3" SOA 2>/dev/null) || return 1
        grep -q 'status: NOERROR' <<<"$out"
    else
        out=$(dig +norec +time=1 +tries=1 -p "$DNS_PORT" "@$2" "$3" SOA 2>/dev/null) || return 1
        grep -q 'status: NOERROR' <<<"$out" && grep -qE '^;; flags:[a-z ]* aa[ ;]' <<<"$out"
    fi
}

# The listening sockets (UDP and TCP) that keep a server from binding
# ADDRESS:53: on that address, or on a wildcard address of port 53.
dns_port_taken() {  # ADDRESS
    { ss -Hlnpu "sport = :$DNS_PORT"; ss -Hlnpt "sport = :$DNS_PORT"; } 2>/dev/null |
        awk -v a="$1" '{ l = $4; sub(/:[0-9]+$/, "", l) }
            l == a || l == "0.0.0.0" || l == "*" || l == "[::]" { print }'
}

dns_descendants() {  # PID: its children, grandchildren, ...
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        dns_descendants "$c"
    done
}
