#!/usr/bin/env bash
# Start the mail lab: one private postfix and two private dovecot instances, all
# configs, pid files, sockets and logs under $LAB_DIR/mail. Uses the lab PKI
# (lab/start.sh makes it; made here only when missing). Running it again
# restarts. Fails, showing the server's log, if a target does not greet (or,
# for STARTTLS targets, does not complete the upgrade).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/../lib.sh"
HERE="$LAB_SRC/mail"
MAIL="$LAB_DIR/mail"

bash "$HERE/stop.sh" >/dev/null

# After stop.sh nothing of ours listens: anything there now is someone else's.
while read -r name host port; do
    if timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
        echo "mail/start.sh: $host:$port ($name) is taken by another process:" >&2
        ss -ltnp "sport = :$port" >&2 || true
        exit 1
    fi
done < <(jq -r '.targets[] | "\(.name) \(.host) \(.port)"' "$HERE/ground_truth.json")

[[ -s $LAB_DIR/pki/rsa.chain.pem ]] || "$PYTHON" "$LAB_SRC/pki.py" "$LAB_DIR"

render() {  # TEMPLATE OUT
    sed "s|@RUN@|$LAB_DIR|g" "$1" >"$2"
}

# Fresh state every start: a leftover queue or auth state could change behaviour.
rm -rf "$MAIL"
mkdir -p "$MAIL"/{dovecot,dovecot-plain}/{run,state} "$MAIL/postfix"/{conf,queue,data} "$MAIL/home/labuser"
render "$HERE/dovecot-common.conf.in" "$MAIL/common.conf"
render "$HERE/dovecot.conf.in" "$MAIL/dovecot/dovecot.conf"
render "$HERE/dovecot-plain.conf.in" "$MAIL/dovecot-plain/dovecot.conf"
render "$HERE/users.in" "$MAIL/users"
render "$HERE/postfix/main.cf.in" "$MAIL/postfix/conf/main.cf"
render "$HERE/postfix/master.cf.in" "$MAIL/postfix/conf/master.cf"
# The test user's mail runs as nobody; dovecot refuses root.
chown nobody:nogroup "$MAIL/home/labuser"
# Postfix's daemons (user postfix) write here; its queue layout is made by
# `postfix check` (post-install) with the right owners.
chown postfix:postfix "$MAIL/postfix/data"
: >"$MAIL/postfix/postfix.log"

fail() {  # WHAT LOG...
    echo "mail/start.sh: $1 did not come up; log:" >&2
    shift
    tail -n 25 "$@" >&2 || true
    bash "$HERE/stop.sh" >&2 || true  # leave nothing half-started
    exit 1
}

# Dovecot first: postfix's AUTH asks its sockets.
for inst in dovecot dovecot-plain; do
    dovecot -c "$MAIL/$inst/dovecot.conf" >>"$MAIL/$inst/dovecot.log" 2>&1 ||
        fail "$inst" "$MAIL/$inst/dovecot.log"
done
pf=(postfix -c "$MAIL/postfix/conf")
"${pf[@]}" check >>"$MAIL/postfix/postfix.log" 2>&1 || fail "postfix check" "$MAIL/postfix/postfix.log"
"${pf[@]}" start >>"$MAIL/postfix/postfix.log" 2>&1 || fail postfix "$MAIL/postfix/postfix.log"

# Each target must greet (through TLS for the implicit ones) and complete
# STARTTLS where that is the way in.
declare -A LOG=([postfix]="$MAIL/postfix/postfix.log" [dovecot]="$MAIL/dovecot/dovecot.log"
    [dovecot-plain]="$MAIL/dovecot-plain/dovecot.log")
while read -r name inst; do
    for i in $(seq 100); do
        "$PYTHON" "$HERE/mailprobe.py" greet "$name" >/dev/null 2>&1 && break
        if [[ $i == 100 ]]; then
            "$PYTHON" "$HERE/mailprobe.py" greet "$name" >&2 || true
            fail "$name" "${LOG[$inst]}"
        fi
        sleep 0.1
    done
done < <(jq -r '.targets[] | "\(.name) \(.instance)"' "$HERE/ground_truth.json")
echo "mail/start.sh: mail lab up in $MAIL"
