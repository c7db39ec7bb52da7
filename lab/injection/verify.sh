#!/usr/bin/env bash
# Check lab/injection/ground_truth.json two ways: it must be what
# ground_truth.py derives from responder.py today, and the running responder
# must behave as it says: every listed suite (and no other version) completes
# a handshake after STARTTLS, and a NOOP pipelined after STARTTLS is answered
# over TLS (the flaw it exists to show).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/inj.sh"

"$PYTHON" "$INJ_SRC/ground_truth.py" --check
bash "$INJ_SRC/status.sh" >/dev/null || {
    echo "injection/verify.sh: the responder is not up; run lab/start.sh" >&2
    exit 1
}
read -r _ host port < <(inj_targets)
t=$(jq -c '.targets["smtp-injection"]' "$INJ_TRUTH")
s_client() { timeout 5 openssl s_client -connect "$host:$port" -starttls smtp -servername localhost "$@" </dev/null 2>/dev/null; }

bad=0
for pair in "TLS 1.2:-tls1_2" "TLS 1.3:-tls1_3" "TLS 1.1:-tls1_1" "TLS 1.0:-tls1"; do
    version=${pair%%:*} flag=${pair#*:}
    listed=$(jq -r --arg v "$version" '.versions | index($v) != null' <<<"$t")
    if s_client "$flag" -cipher 'ALL:@SECLEVEL=0' | grep -q '^New, TLSv'; then works=true; else works=false; fi
    [[ $listed == "$works" ]] || { echo "injection/verify.sh: $version handshake $works, truth $listed" >&2; bad=1; }
done
while read -r name; do
    openssl_name=$(openssl ciphers -stdname 'ALL:@SECLEVEL=0' | awk -v n="$name" '$1 == n {print $3}')
    s_client -tls1_2 -cipher "$openssl_name" | grep -q "Cipher is $openssl_name" ||
        { echo "injection/verify.sh: TLS 1.2 suite $name refused" >&2; bad=1; }
done < <(jq -r '.cipher_suites["TLS 1.2"][].name' <<<"$t")
while read -r name; do
    s_client -tls1_3 -ciphersuites "$name" | grep -q "Cipher is $name" ||
        { echo "injection/verify.sh: TLS 1.3 suite $name refused" >&2; bad=1; }
done < <(jq -r '.cipher_suites["TLS 1.3"][].name' <<<"$t")

# The flaw: STARTTLS and NOOP in one write; the NOOP's 250 must come over TLS.
"$PYTHON" - "$host" "$port" <<'PY' || bad=1
import socket, ssl, sys

host, port = sys.argv[1], int(sys.argv[2])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
with socket.create_connection((host, port), timeout=5) as sock:
    reader = sock.makefile("rb")
    reader.readline()
    sock.sendall(b"EHLO verify.invalid\r\n")
    while not reader.readline().startswith(b"250 "):
        pass
    sock.sendall(b"STARTTLS\r\nNOOP\r\n")
    if not reader.readline().startswith(b"220"):
        sys.exit("injection/verify.sh: STARTTLS refused")
    with context.wrap_socket(sock) as tls:
        answer = tls.recv(4096)
if not answer.startswith(b"250"):
    sys.exit(f"injection/verify.sh: the pipelined NOOP was not answered over TLS: {answer!r}")
print("injection/verify.sh: NOOP pipelined after STARTTLS was answered over TLS (vulnerable, as meant)")
PY
((bad == 0)) || exit 1
echo "injection/verify.sh: truth matches the running responder"
