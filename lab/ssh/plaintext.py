"""What the plaintext remote-login daemons answer to verify.py's probes.

ground_truth.py puts these facts into ground_truth.json; probe.py and
verify.py send the probes and compare the replies byte for byte.
"""

from __future__ import annotations

# The user the probes name: no such account exists. The r-services' daemons
# take at most 16 bytes of a name.
R_USER = "pa-nosuchuser"

# What each daemon sends to verify.py's probe, byte for byte (hex), with the
# source of each string in Debian 12's builds:
# - telnet: inetutils 2.4 telnetd opens with its option negotiation before any
#   text: WILL AUTHENTICATION, WILL ENCRYPT (Debian builds it with Kerberos), DO
#   TERMINAL-TYPE, TERMINAL-SPEED, X-DISPLAY-LOCATION, NEW-ENVIRON, OLD-ENVIRON.
# - rlogin: netkit rlogind answers a request from a reserved port (512-1023)
#   with a 0 byte (then PAM's password prompt); from any other port it refuses
#   with fatal(): 1 byte, "rlogind: Permission denied.\r\n".
# - rsh: netkit rshd answers a reserved-port request for an account that has
#   no .rhosts trust with error(): 1 byte, "Permission denied.\n"; from an
#   unreserved port it closes without a byte.
# - rexec: netkit rexecd reads its fields with getstr(): a user name longer
#   than its buffer gets error(): 1 byte, "username too long\n". (A wrong
#   password gets nothing: the connection closes after PAM fails.)
TELNET_OPTIONS = {
    "WILL": 0xFB,
    "DO": 0xFD,
    "AUTHENTICATION": 37,
    "ENCRYPT": 38,
    "TERMINAL-TYPE": 24,
    "TERMINAL-SPEED": 32,
    "X-DISPLAY-LOCATION": 35,
    "NEW-ENVIRON": 39,
    "OLD-ENVIRON": 36,
}
TELNET_NEGOTIATION = [
    "WILL AUTHENTICATION",
    "WILL ENCRYPT",
    "DO TERMINAL-TYPE",
    "DO TERMINAL-SPEED",
    "DO X-DISPLAY-LOCATION",
    "DO NEW-ENVIRON",
    "DO OLD-ENVIRON",
]


def telnet_bytes(options: list[str]) -> bytes:
    out = b""
    for item in options:
        verb, opt = item.split()
        out += bytes([0xFF, TELNET_OPTIONS[verb], TELNET_OPTIONS[opt]])
    return out


PLAINTEXT = {
    "telnet": {
        "server": "inetutils telnetd (Debian inetutils-telnetd)",
        "probes": [
            {
                "from": "any port",
                "send_hex": "",
                "reply_prefix_hex": telnet_bytes(TELNET_NEGOTIATION).hex(),
                "reply_decoded": TELNET_NEGOTIATION,
            }
        ],
        "confirmed_by": "telnet option negotiation before any text (IAC WILL AUTHENTICATION, "
        "IAC WILL ENCRYPT, IAC DO TERMINAL-TYPE ...)",
    },
    "rexec": {
        "server": "netkit in.rexecd (Debian rsh-server)",
        "probes": [
            {
                "from": "any port",
                "send_hex": (b"0\0" + b"u" * 300 + b"\0x\0true\0").hex(),
                "reply_hex": b"\x01username too long\n".hex(),
            }
        ],
        "confirmed_by": "rexecd's error reply (\\x01 + text) to an overlong user name",
    },
    "rlogin": {
        "server": "netkit in.rlogind (Debian rsh-server)",
        "probes": [
            {
                "from": "reserved port",
                "send_hex": f"\0protoaudit\0{R_USER}\0xterm/38400\0".encode().hex(),
                "reply_prefix_hex": "00",
            },
            {
                "from": "unreserved port",
                "send_hex": f"\0protoaudit\0{R_USER}\0xterm/38400\0".encode().hex(),
                "reply_hex": b"\x01rlogind: Permission denied.\r\n".hex(),
            },
        ],
        "confirmed_by": "the rlogin handshake: a 0 byte from a reserved source port, "
        "\\x01 + 'rlogind: Permission denied.' from any other",
    },
    "rsh": {
        "server": "netkit in.rshd (Debian rsh-server)",
        "probes": [
            {
                "from": "reserved port",
                "send_hex": f"0\0protoaudit\0{R_USER}\0true\0".encode().hex(),
                "reply_hex": b"\x01Permission denied.\n".hex(),
            },
            {
                "from": "unreserved port",
                "send_hex": f"0\0protoaudit\0{R_USER}\0true\0".encode().hex(),
                "reply_hex": "",
            },
        ],
        "confirmed_by": "rshd's \\x01 + 'Permission denied.' to a request from a reserved "
        "source port (from an unreserved port it closes silently)",
    },
}
