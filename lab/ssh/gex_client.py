"""Ask an SSH server for a group-exchange prime with Debian's paramiko as the client.

    /usr/bin/python3 -I lab/ssh/gex_client.py HOST PORT KEX   # prints "min n max prime_bits"

verify.py uses it for the request OpenSSH's ssh never makes: paramiko 2.12
asks for (1024, 2048, 8192), as older and probing clients do. The prime's size
is read from paramiko's own group-exchange handler once the server's
KEX_DH_GEX_GROUP has been parsed; the key exchange then completes or fails,
either way the process exits.
"""

from __future__ import annotations

import socket
import sys

import paramiko
from paramiko.kex_gex import KexGex

seen: dict[str, tuple[int, ...]] = {}
parse_group = KexGex._parse_kexdh_gex_group


def record(self: KexGex, m: paramiko.Message) -> None:
    parse_group(self, m)
    seen["group"] = (self.min_bits, self.preferred_bits, self.max_bits, self.p.bit_length())


def main() -> int:
    host, port, kex = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    KexGex._parse_kexdh_gex_group = record
    transport = paramiko.Transport(socket.create_connection((host, port), timeout=10))
    try:
        transport.get_security_options().kex = (kex,)
        transport.start_client(timeout=10)
    except paramiko.SSHException as e:
        print(f"gex_client: {e}", file=sys.stderr)
    finally:
        transport.close()
    if "group" not in seen:
        return 1
    print(*seen["group"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
