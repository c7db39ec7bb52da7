#!/usr/bin/env bash
# Stop the DNSSEC sub-lab's servers named by the pid files in $LAB_DIR/dns,
# and nothing else: each pid must still run the program that wrote it, with
# this run directory on its command line. Safe to run in any state
# (idempotent). The run directory stays for its logs; start.sh replaces it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/dns.sh"

# All servers get TERM at once, then we wait for all: knotd and unbound each
# take a second or two to shut down.
all=()
for entry in "${DNS_SERVERS[@]}"; do
    read -r name comm file _ <<<"$entry"
    file="$DNS_DIR/$file"
    if pid=$(dns_live_pid "$file" "$comm"); then
        mapfile -t procs < <(echo "$pid"; dns_descendants "$pid")
        kill -TERM "${procs[@]}" 2>/dev/null || true
        all+=("${procs[@]}")
        echo "stopped dns $name (pid $pid)"
    fi
    rm -f "$file"
done
if ((${#all[@]})) && ! wait_gone "${all[@]}"; then
    echo "dns/stop.sh: servers left processes after TERM, sending KILL" >&2
    kill -KILL "${all[@]}" 2>/dev/null || true
    wait_gone "${all[@]}" || true
fi
