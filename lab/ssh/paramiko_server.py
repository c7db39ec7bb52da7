"""A tiny SSH server on Debian's paramiko 2.12: the lab's Terrapin-positive target.

    /usr/bin/python3 -I lab/ssh/paramiko_server.py --host 127.0.0.1 --port 2225 \
        --host-key RUN/ssh/keys/paramiko/ssh_host_ed25519_key

Run it with Debian's /usr/bin/python3 (package python3-paramiko), never the
project's interpreter: the point is the packaged library. paramiko 2.12.0-2
(Debian 12) predates the fix for CVE-2023-48795 (paramiko 3.4.0): it neither
sends kex-strict-s-v00@openssh.com nor resets sequence numbers after NEWKEYS.
With CBC ciphers and encrypt-then-MAC MACs on offer (paramiko 2.12 has no
chacha20-poly1305) that is the Terrapin "CBC-EtM" case. Debian's dropbear and
asyncssh carry the strict-kex backport, so neither could serve here.

The KEXINIT lists are the constants below, set on each Transport's security
options; ground_truth.py reads these constants (with ast, without importing
paramiko). What paramiko adds or drops itself, as a server (transport.py
_send_kex_init): nothing is added to the kex list (no ext-info-s, no strict
kex marker), group-exchange kex is dropped when no moduli file is loaded (none
is offered here), and the host-key list is paramiko's preferred-key order
filtered by the keys added (one ed25519 key: "ssh-ed25519").

Every login fails: the server lists AUTH_METHODS for any user and accepts no
password or key, and opens no channel. Each connection gets at most
SESSION_SECONDS, and at most MAX_CONNECTIONS run at once.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time

import paramiko

KEX = ("curve25519-sha256@libssh.org", "diffie-hellman-group14-sha256")
# CBC first; CTR too, so that default OpenSSH clients (no CBC) still connect.
CIPHERS = ("aes128-cbc", "aes256-cbc", "aes128-ctr", "aes256-ctr")
MACS = (
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
)
COMPRESSION = ("none",)
AUTH_METHODS = "publickey,password"
SESSION_SECONDS = 30.0
MAX_CONNECTIONS = 32

log = logging.getLogger("paramiko_server")


class NoLogin(paramiko.ServerInterface):
    def get_allowed_auths(self, username: str) -> str:
        return AUTH_METHODS

    def check_auth_none(self, username: str) -> int:
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def serve_one(
    conn: socket.socket,
    peer: tuple[str, int],
    host_key: paramiko.PKey,
    slots: threading.BoundedSemaphore,
) -> None:
    transport = None
    try:
        transport = paramiko.Transport(conn)
        options = transport.get_security_options()
        options.kex = KEX
        options.ciphers = CIPHERS
        options.digests = MACS
        options.compression = COMPRESSION
        transport.add_server_key(host_key)
        transport.start_server(server=NoLogin())
        deadline = time.monotonic() + SESSION_SECONDS
        while transport.is_active() and time.monotonic() < deadline:
            time.sleep(0.2)
    except (paramiko.SSHException, OSError, EOFError) as e:
        log.info("%s:%d: %s", *peer, e)
    finally:
        if transport is not None:
            transport.close()
        conn.close()
        slots.release()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host-key", required=True)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    host_key = paramiko.Ed25519Key.from_private_key_file(args.host_key)
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    listener = socket.create_server((args.host, args.port), backlog=64)
    log.info("paramiko %s listening on %s:%d", paramiko.__version__, args.host, args.port)
    while True:
        conn, peer = listener.accept()
        if not slots.acquire(blocking=False):
            conn.close()  # over the limit: refuse rather than queue
            continue
        threading.Thread(target=serve_one, args=(conn, peer, host_key, slots), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
