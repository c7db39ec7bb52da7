#!/usr/bin/env bash
# Start the injection sub-lab: the deliberately VULNERABLE SMTP responder
# (responder.py) on 127.0.0.1:2528, with the lab RSA leaf and chain. Its pid
# file and log live in $LAB_DIR/injection. Running it again restarts it.
# Fails, showing the log, if the responder does not complete STARTTLS.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/inj.sh"

bash "$INJ_SRC/stop.sh" >/dev/null

while read -r name host port; do
    if timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
        echo "injection/start.sh: $host:$port ($name) is taken by another process:" >&2
        ss -ltnp "sport = :$port" >&2 || true
        exit 1
    fi
done < <(inj_targets)

[[ -s $LAB_DIR/pki/rsa.chain.pem ]] || "$PYTHON" "$LAB_SRC/pki.py" "$LAB_DIR"
mkdir -p "$INJ_DIR"
: >"$INJ_LOG"

read -r name host port < <(inj_targets)
setsid "$PYTHON" "$INJ_SRC/responder.py" --host "$host" --port "$port" \
    --cert "$LAB_DIR/pki/rsa.chain.pem" --key "$LAB_DIR/pki/rsa.key" \
    </dev/null >>"$INJ_LOG" 2>&1 &
echo $! >"$INJ_PID"

for i in $(seq 100); do
    inj_tls_ok "$host" "$port" && break
    if [[ $i == 100 ]]; then
        echo "injection/start.sh: $name ($host:$port) did not come up; log:" >&2
        tail -n 20 "$INJ_LOG" >&2 || true
        bash "$INJ_SRC/stop.sh" >&2 || true
        exit 1
    fi
    sleep 0.1
done
echo "injection/start.sh: vulnerable SMTP responder up on $host:$port (pid $(<"$INJ_PID"))"
