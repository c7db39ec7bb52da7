#!/usr/bin/env bash
# Stop the services sub-lab's servers that this run dir's pid files name, and
# nothing else. Safe to run in any state.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/svc.sh"

# vsftpd, slapd and prosody were started by setsid: the pid in each file is
# also a process group (vsftpd's session children are in it). Signal the
# members that are ours: their command line names the run dir. A recycled
# pid in a stale file belongs to someone else and is left alone.
for file in "$SVC_DIR"/ftp/*/pid "$SVC_DIR/ldap/pid" "$SVC_DIR/xmpp/pid"; do
    [[ -s $file ]] || continue
    pgid=$(<"$file")
    members=()
    if [[ $pgid =~ ^[0-9]+$ ]]; then
        for p in $(pgrep -g "$pgid" 2>/dev/null); do
            svc_ours "$p" "$SVC_DIR" && members+=("$p")
        done
    fi
    if ((${#members[@]})); then
        kill -TERM "${members[@]}" 2>/dev/null || true
        if ! wait_gone "${members[@]}"; then
            echo "services/stop.sh: group $pgid ignored TERM, sending KILL" >&2
            kill -KILL "${members[@]}" 2>/dev/null || true
        fi
        echo "stopped ${file#"$LAB_DIR"/} group $pgid (${members[*]})"
    fi
    rm -f "$file"
done

# PostgreSQL: pg_ctl takes the postmaster and its children down. If that fails,
# signal the postmaster named in postmaster.pid, if it still is ours.
data="$SVC_DIR/postgres/data"
if [[ -s $data/postmaster.pid ]]; then
    pgbin=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1 || true)
    if (cd / && setpriv --reuid=postgres --regid=postgres --init-groups \
        "$pgbin/pg_ctl" stop -D "$data" -m fast -w -t 20) >/dev/null 2>&1; then
        echo "stopped postgres ($data)"
    else
        pid=$(head -n 1 "$data/postmaster.pid")
        if svc_ours "$pid" "$data"; then
            echo "services/stop.sh: pg_ctl stop failed, sending QUIT to postmaster $pid" >&2
            kill -QUIT "$pid" 2>/dev/null || true
            wait_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$data/postmaster.pid"
    fi
fi
