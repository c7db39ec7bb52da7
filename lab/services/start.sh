#!/usr/bin/env bash
# Start the services sub-lab: vsftpd (three instances), slapd, PostgreSQL and
# prosody, each a private instance whose config, pid file, data and logs live
# in $LAB_DIR/services (never the system services or their configs). Uses the
# PKI lab/start.sh made in $LAB_DIR/pki. Running it again restarts everything
# from a fresh run directory. Exits non-zero, showing the log, if any target
# does not complete a TLS handshake through its own dialog.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/svc.sh"

PKI="$LAB_DIR/pki"
if [[ ! -s $PKI/rsa.chain.pem ]]; then
    echo "services/start.sh: no lab PKI in $PKI; run lab/start.sh" >&2
    exit 1
fi
for cmd in vsftpd slapd slapadd prosody; do
    command -v "$cmd" >/dev/null || { echo "services/start.sh: $cmd missing; run lab/install.sh" >&2; exit 1; }
done
PGBIN=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1) ||
    { echo "services/start.sh: PostgreSQL missing; run lab/install.sh" >&2; exit 1; }

bash "$SVC_SRC/stop.sh" >/dev/null
while read -r name port _; do
    if lab_tcp_open "$port"; then
        echo "services/start.sh: 127.0.0.1:$port ($name) is taken by another process:" >&2
        ss -ltnp "sport = :$port" >&2 || true
        exit 1
    fi
done < <(svc_targets)

rm -rf "$SVC_DIR"
mkdir -p "$SVC_DIR"

render() {  # TEMPLATE... -> stdout, concatenated; @NAME@ is $NAME (vsftpd instance)
    sed -e "s|@RUN@|$SVC_DIR|g" -e "s|@PKI@|$PKI|g" -e "s|@NAME@|${NAME:-}|g" "$@"
}
# postgres and prosody refuse to run as root; they also get their own copies
# of the key, since they cannot read root's 0600 file.
as_user() {  # USER CMD...
    local user=$1
    shift
    (cd "$SVC_DIR" && setpriv --reuid="$user" --regid="$user" --init-groups "$@")
}
fail() {  # WHAT LOG...
    echo "services/start.sh: $1 did not come up; its log:" >&2
    shift
    tail -n 20 "$@" >&2 || true
    bash "$SVC_SRC/stop.sh" >&2 || true  # leave nothing half-started behind
    exit 1
}

# --- FTP: three vsftpd listeners sharing one directory with one file, and
# the lab user's login (see svc.sh) where tests look for it.
mkdir -p "$SVC_DIR/ftp/empty" "$SVC_DIR/ftp/pub"
echo "protoaudit lab file" >"$SVC_DIR/ftp/pub/hello.txt"
if ! id "$FTP_USER" >/dev/null 2>&1 || [[ ! -s $FTP_CREDENTIALS_STORE ]]; then
    echo "services/start.sh: FTP lab user $FTP_USER or its password missing; run lab/install.sh" >&2
    exit 1
fi
install -m 600 "$FTP_CREDENTIALS_STORE" "$FTP_CREDENTIALS"
for NAME in ftp-explicit ftps-implicit ftp-weak; do
    mkdir -p "$SVC_DIR/ftp/$NAME"
    render "$SVC_SRC/vsftpd-common.conf.in" "$SVC_SRC/$NAME.conf.in" >"$SVC_DIR/ftp/$NAME/vsftpd.conf"
    # background=NO + setsid: $! is the listener and its process group, which
    # holds the per-session children too (stop.sh signals the group).
    setsid vsftpd "$SVC_DIR/ftp/$NAME/vsftpd.conf" \
        </dev/null >"$SVC_DIR/ftp/$NAME/vsftpd.log" 2>&1 &
    echo $! >"$SVC_DIR/ftp/$NAME/pid"
done

# --- LDAP: slapd with a slapd.conf (no cn=config), one mdb database holding
# the suffix entry. -d keeps it in the foreground; "stats" is the lowest level
# that still logs why it failed (TLS setup errors included), plus one line per
# connection and operation.
mkdir -p "$SVC_DIR/ldap/db"
render "$SVC_SRC/slapd.conf.in" >"$SVC_DIR/ldap/slapd.conf"
slapadd -q -f "$SVC_DIR/ldap/slapd.conf" -l "$SVC_SRC/base.ldif" >"$SVC_DIR/ldap/slapadd.log" 2>&1 ||
    fail "slapadd (LDAP database)" "$SVC_DIR/ldap/slapadd.log"
urls=$(sed -n 's/^# urls: //p' "$SVC_SRC/slapd.conf.in")
setsid slapd -d stats -h "$urls" -f "$SVC_DIR/ldap/slapd.conf" \
    </dev/null >"$SVC_DIR/ldap/slapd.log" 2>&1 &
echo $! >"$SVC_DIR/ldap/pid"

# --- PostgreSQL: a throwaway cluster owned by postgres, our postgresql.conf.
pg="$SVC_DIR/postgres"
install -d -o postgres -g postgres -m 700 "$pg"
install -o postgres -g postgres -m 600 "$PKI/rsa.key" "$pg/rsa.key"
install -o postgres -g postgres -m 644 "$PKI/rsa.chain.pem" "$PKI/ffdhe2048.pem" "$pg/"
render "$SVC_SRC/postgresql.conf.in" >"$pg/postgresql.conf"
as_user postgres "$PGBIN/initdb" -D "$pg/data" -U postgres --no-sync \
    --auth-local=peer --auth-host=scram-sha-256 >"$pg/initdb.log" 2>&1 ||
    fail "initdb (PostgreSQL)" "$pg/initdb.log"
as_user postgres "$PGBIN/pg_ctl" start -D "$pg/data" -l "$pg/postgres.log" -w -t 30 \
    -o "-c config_file=$pg/postgresql.conf" >/dev/null 2>&1 ||
    fail "postgres" "$pg/postgres.log"

# --- XMPP: prosody as the prosody user (it will not run as root), with copies
# of the certificate named as its certificate finder expects.
x="$SVC_DIR/xmpp"
install -d -o prosody -g prosody -m 750 "$x" "$x/data" "$x/certs"
install -o prosody -g prosody -m 600 "$PKI/rsa.key" "$x/certs/localhost.key"
install -o prosody -g prosody -m 644 "$PKI/rsa.chain.pem" "$x/certs/localhost.crt"
render "$SVC_SRC/prosody.cfg.lua.in" >"$x/prosody.cfg.lua"
chmod 644 "$x/prosody.cfg.lua"
(cd "$x" && exec setsid setpriv --reuid=prosody --regid=prosody --init-groups \
    prosody --config "$x/prosody.cfg.lua" -F </dev/null >"$x/prosody.out" 2>&1) &
echo $! >"$x/pid"

# --- wait for every target to complete a handshake through its dialog
declare -A LOGS=(
    [ftp-explicit]="$SVC_DIR/ftp/ftp-explicit/vsftpd.log"
    [ftps-implicit]="$SVC_DIR/ftp/ftps-implicit/vsftpd.log"
    [ftp-weak]="$SVC_DIR/ftp/ftp-weak/vsftpd.log"
    [ldap-starttls]="$SVC_DIR/ldap/slapd.log"
    [ldaps-implicit]="$SVC_DIR/ldap/slapd.log"
    [postgres]="$pg/postgres.log"
    [xmpp-starttls]="$x/prosody.out $x/prosody.log"
    [xmpps-implicit]="$x/prosody.out $x/prosody.log"
)
# A server that has exited will not come up: fail at once rather than wait.
declare -A PIDS=(
    [ftp-explicit]="$SVC_DIR/ftp/ftp-explicit/pid"
    [ftps-implicit]="$SVC_DIR/ftp/ftps-implicit/pid"
    [ftp-weak]="$SVC_DIR/ftp/ftp-weak/pid"
    [ldap-starttls]="$SVC_DIR/ldap/pid"
    [ldaps-implicit]="$SVC_DIR/ldap/pid"
    [postgres]="$pg/data/postmaster.pid"
    [xmpp-starttls]="$x/pid"
    [xmpps-implicit]="$x/pid"
)
while read -r name port protocol tls_start; do
    for i in $(seq 150); do
        svc_tls_ok "$port" "$protocol" "$tls_start" && break
        if [[ $i == 150 ]] || ! kill -0 "$(head -n 1 "${PIDS[$name]}" 2>/dev/null)" 2>/dev/null; then
            # shellcheck disable=SC2086  # LOGS entries are space-separated lists of files
            fail "$name (127.0.0.1:$port)" ${LOGS[$name]}
        fi
        sleep 0.1
    done
done < <(svc_targets)
echo "services/start.sh: FTP, LDAP, PostgreSQL and XMPP up in $SVC_DIR"
