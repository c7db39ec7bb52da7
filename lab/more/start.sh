#!/usr/bin/env bash
# Start the more-lab: one private dovecot (LMTP, ManageSieve), MariaDB, two
# nnrpd daemons (INN) and InspIRCd, each with its config, pid file, data and
# logs under $LAB_DIR/more (never a system service or system config). Uses the
# lab PKI (lab/start.sh makes it; made here only when missing). Running it
# again restarts everything from a fresh run directory. Exits non-zero, showing
# the server's log, if a target does not answer its protocol and complete a
# TLS handshake (after STARTTLS where that is the way in).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/more.sh"

for cmd in dovecot doveconf mariadbd mariadb-install-db my_print_defaults inspircd setpriv jq; do
    command -v "$cmd" >/dev/null || { echo "more/start.sh: $cmd missing; run lab/install.sh" >&2; exit 1; }
done
[[ -x $NNRPD ]] || { echo "more/start.sh: $NNRPD missing; run lab/install.sh" >&2; exit 1; }

bash "$MORE_SRC/stop.sh" >/dev/null
# After stop.sh nothing of ours listens: anything there now is someone else's.
while read -r name host port; do
    if timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
        echo "more/start.sh: $host:$port ($name) is taken by another process:" >&2
        ss -ltnp "sport = :$port" >&2 || true
        exit 1
    fi
done < <(more_targets)

[[ -s $PKI/rsa.chain.pem && -s $PKI/ffdhe2048.pem ]] || "$PYTHON" "$LAB_SRC/pki.py" "$LAB_DIR"

render() {  # TEMPLATE OUT
    sed -e "s|@RUN@|$MORE_DIR|g" -e "s|@PKI@|$PKI|g" "$1" >"$2"
}
fail() {  # WHAT LOG...
    echo "more/start.sh: $1 did not come up; its log:" >&2
    shift
    tail -n 25 "$@" >&2 || true
    bash "$MORE_SRC/stop.sh" >&2 || true  # leave nothing half-started
    exit 1
}

# Fresh state every start.
rm -rf "$MORE_DIR"
mkdir -p "$MORE_DIR"

# --- dovecot: LMTP and ManageSieve. The test user's home belongs to nobody
# (dovecot refuses root).
dv="$MORE_DIR/dovecot"
mkdir -p "$dv"/{run,state,home/labuser}
render "$MORE_SRC/dovecot.conf.in" "$dv/dovecot.conf"
render "$MORE_SRC/users.in" "$dv/users"
chown nobody:nogroup "$dv/home/labuser"
dovecot -c "$dv/dovecot.conf" >>"$dv/dovecot.log" 2>&1 || fail dovecot "$dv/dovecot.log"

# Servers run in sessions of their own (setsid), so stop.sh can signal a whole
# process group. -w: should setsid have to fork, it waits for the server, so
# $! lives exactly as long as the server does (start's liveness check); stop.sh
# signals the pid the server wrote itself.

# --- MariaDB: a throwaway datadir, then mariadbd in the foreground of its own
# session (it drops to user mysql itself; its copies of the key are mysql's).
my="$MORE_DIR/mariadb"
install -d -o mysql -g mysql -m 750 "$my"
install -o mysql -g mysql -m 600 "$PKI/rsa.key" "$my/rsa.key"
install -o mysql -g mysql -m 644 "$PKI/rsa.chain.pem" "$PKI/ca.pem" "$my/"
render "$MORE_SRC/my.cnf.in" "$my/my.cnf"
render "$MORE_SRC/init.sql.in" "$my/init.sql"
chmod 644 "$my/my.cnf" "$my/init.sql"
mariadb-install-db --defaults-file="$my/my.cnf" --auth-root-authentication-method=socket \
    --skip-test-db >"$my/install-db.log" 2>&1 || fail "mariadb-install-db" "$my/install-db.log"
setsid -w mariadbd --defaults-file="$my/my.cnf" --init-file="$my/init.sql" </dev/null >"$my/mariadbd.out" 2>&1 &
echo $! >"$my/pid"

# --- INN: an empty news tree for nnrpd alone (no innd). makehistory -O makes
# the (empty) overview index nnrpd opens; it runs as news like nnrpd does
# after it has bound its port.
inn="$MORE_DIR/inn"
mkdir -p "$inn"/{etc,db,run,log,http,filter,sasl} "$inn"/spool/{articles,overview,incoming/tmp,outgoing,archive}
render "$MORE_SRC/inn.conf.in" "$inn/etc/inn.conf"
render "$MORE_SRC/readers.conf.in" "$inn/etc/readers.conf"
render "$MORE_SRC/storage.conf.in" "$inn/etc/storage.conf"
# Cyrus SASL reads INN.conf (its mech_list) from SASL_CONF_PATH, not /etc/sasl2.
render "$MORE_SRC/sasl.conf.in" "$inn/sasl/INN.conf"
cp /usr/lib/news/examples/active /usr/lib/news/examples/newsgroups "$inn/db/"
install -m 644 "$PKI/rsa.chain.pem" "$inn/etc/rsa.chain.pem"
install -m 600 "$PKI/rsa.key" "$inn/etc/rsa.key"
chown -R news:news "$inn"
export INNCONF="$inn/etc/inn.conf" SASL_CONF_PATH="$inn/sasl"
(cd "$inn" && setpriv --reuid=news --regid=news --init-groups \
    /usr/lib/news/bin/makehistory -O -x) >"$inn/log/makehistory.log" 2>&1 ||
    fail "makehistory (INN overview)" "$inn/log/makehistory.log"
# nnrpd logs only to syslog, which this machine lacks: -f keeps stderr here.
for spec in "starttls 1119" "implicit 1563 -S"; do
    read -r which port flag <<<"$spec"
    (cd "$inn" && exec setsid -w "$NNRPD" -D -f -b 127.0.0.1 -p "$port" ${flag:+"$flag"} \
        </dev/null >"$inn/log/nnrpd-$which.log" 2>&1) &
    echo $! >"$inn/run/$which.pid"
done
unset INNCONF SASL_CONF_PATH

# --- InspIRCd as the irc user (it warns against root), with copies of the
# certificate and key it can read.
irc="$MORE_DIR/irc"
install -d -o irc -g irc -m 750 "$irc"
install -o irc -g irc -m 600 "$PKI/rsa.key" "$irc/rsa.key"
install -o irc -g irc -m 644 "$PKI/rsa.chain.pem" "$irc/rsa.chain.pem"
render "$MORE_SRC/inspircd.conf.in" "$irc/inspircd.conf"
chmod 644 "$irc/inspircd.conf"
# InspIRCd 3.15 (Debian 12) ends with a segmentation fault on SIGTERM, after
# it has closed every socket and unloaded m_ssl_gnutls; it also raises its own
# core limit. A hard limit of 0 keeps it from leaving a core file behind.
(cd "$irc" && ulimit -c 0 && exec setsid -w setpriv --reuid=irc --regid=irc --init-groups \
    inspircd --config="$irc/inspircd.conf" --nofork </dev/null >"$irc/inspircd.out" 2>&1) &
echo $! >"$irc/pid"

# --- every target must answer its protocol and complete a TLS handshake.
declare -A LOGS=(
    [lmtp-starttls]="$dv/dovecot.log" [sieve-starttls]="$dv/dovecot.log"
    [mysql-ssl]="$my/error.log $my/mariadbd.out"
    [nntp-starttls]="$inn/log/nnrpd-starttls.log" [nntps-implicit]="$inn/log/nnrpd-implicit.log"
    [irc-starttls]="$irc/inspircd.out $irc/inspircd.log" [ircs-implicit]="$irc/inspircd.out $irc/inspircd.log"
)
# A server that has exited will not come up: fail at once rather than wait.
# (A pid file not written yet is not an exit: dovecot writes its own late.)
exited() {  # PIDFILE
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -d ' \n' <"$1")
    ! kill -0 "$pid" 2>/dev/null
}
declare -A PIDS=(
    [lmtp-starttls]="$dv/run/master.pid" [sieve-starttls]="$dv/run/master.pid"
    [mysql-ssl]="$my/pid" [nntp-starttls]="$inn/run/starttls.pid"
    [nntps-implicit]="$inn/run/implicit.pid" [irc-starttls]="$irc/pid" [ircs-implicit]="$irc/pid"
)
while read -r name host port; do
    for i in $(seq 200); do
        more_probe greet "$name" >/dev/null 2>&1 && break
        if [[ $i == 200 ]] || exited "${PIDS[$name]}"; then
            more_probe greet "$name" >&2 || true
            # shellcheck disable=SC2086  # LOGS entries are space-separated lists of files
            fail "$name ($host:$port)" ${LOGS[$name]}
        fi
        sleep 0.1
    done
done < <(more_targets)
echo "more/start.sh: LMTP, ManageSieve, MariaDB, NNTP and IRC up in $MORE_DIR"
