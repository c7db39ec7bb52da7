# Shared by the ike sub-lab's scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=targets.env
source "$(dirname "${BASH_SOURCE[0]}")/targets.env"

IKE_SRC="$LAB_SRC/ike"
IKE_DIR="$LAB_DIR/ike"
IKE_COOKIE_DIR="$IKE_DIR/cookie"  # the second charon's run directory
IKE_PQ_DIR="$IKE_DIR/pq"          # the third's (ike-pq, in the trixie chroot)
# The ike-pq image: a Debian 13 (trixie) chroot with strongSwan 6.0, built once by
# install.sh. Its packages (no ML-KEM provider among them: Debian builds neither
# the ml, botan nor wolfssl plugin, and its openssl plugin has no ML-KEM).
IKE_PQ_ROOT=${IKE_PQ_ROOT:-/var/cache/protoaudit/ike-trixie}
IKE_PQ_SUITE=trixie
IKE_PQ_MIRROR=http://deb.debian.org/debian
IKE_PQ_PACKAGES=strongswan-charon,strongswan-swanctl,libstrongswan-standard-plugins,libstrongswan-extra-plugins
IKE_TRUTH="$IKE_SRC/ground_truth.json"
CHARON=/usr/lib/ipsec/charon
# The first IKEv1 suite of swanctl-cookie.conf.in, as ike-scan writes a transform
# (Camellia/192, SHA2-512, PSK, MODP 3072): the second charon accepts only such.
IKE_COOKIE_TRANS='8/192,6,1,15'

# The pid in FILE if that process is alive, its comm is COMM and its command
# line or its environment names this run directory.
ike_live_pid() {  # FILE COMM
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -d ' \n' <"$1")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$2" ]] || return 1
    { tr '\0' ' ' <"/proc/$pid/cmdline"; tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null |
        grep -qF -e "$IKE_DIR" -e "$IKE_SRC/relay.py" || return 1
    echo "$pid"
}

# 0 when the first target answers both IKE versions on its host address
# (ike-scan with a random source port: the relay holds port 500 on the lab address).
ike_up() {
    local out
    out=$(timeout 5 ike-scan -s 0 -r 1 -t 300 -M "$IKE_LAB_HOST" 2>/dev/null) || return 1
    grep -q 'Main Mode Handshake returned' <<<"$out" || return 1
    out=$(timeout 5 ike-scan -s 0 -r 1 -t 300 --ikev2 "$IKE_LAB_HOST" 2>/dev/null) || return 1
    grep -qE 'IKEv2 SA_INIT Handshake returned|INVALID_KE_PAYLOAD' <<<"$out"
}

# 0 when the second target answers IKEv1 Main Mode for its uncommon suite and
# IKEv2 with a COOKIE notify. Each Main Mode message 1 leaves one more half-open
# IKE_SA in that charon, which is what keeps it demanding cookies (the first
# call after start.sh is the seed).
ike_cookie_up() {
    local out
    out=$(timeout 5 ike-scan -s 0 -r 1 -t 300 -M "--trans=$IKE_COOKIE_TRANS" "$IKE_COOKIE_HOST" 2>/dev/null) ||
        return 1
    grep -q 'Main Mode Handshake returned' <<<"$out" || return 1
    out=$(timeout 5 ike-scan -s 0 -r 1 -t 300 --ikev2 "$IKE_COOKIE_HOST" 2>/dev/null) || return 1
    grep -q 'Notify message 16390 (COOKIE)' <<<"$out"
}

# The ike-pq image exists (install.sh built it).
ike_pq_image() {
    [[ -x $IKE_PQ_ROOT$CHARON && -d $IKE_PQ_ROOT/lab ]]
}

# The strongSwan version in the ike-pq image, from its dpkg database.
ike_pq_version() {
    # shellcheck disable=SC2016  # ${Version} is dpkg-query's, not the shell's
    chroot "$IKE_PQ_ROOT" dpkg-query -W -f='strongswan-charon ${Version}' strongswan-charon 2>/dev/null ||
        echo "strongswan-charon not installed"
}

# 0 when the third target answers IKEv2 on its host address. ike-scan offers no
# transform it accepts (it cannot send additional key exchanges, and its
# default groups are not configured there): NO_PROPOSAL_CHOSEN is the answer.
ike_pq_up() {
    local out
    out=$(timeout 5 ike-scan -s 0 -r 1 -t 300 --ikev2 "$IKE_PQ_HOST" 2>/dev/null) || return 1
    grep -qE 'IKEv2 SA_INIT Handshake returned|Notify message 14 \(NO_PROPOSAL_CHOSEN\)|INVALID_KE_PAYLOAD' <<<"$out"
}
