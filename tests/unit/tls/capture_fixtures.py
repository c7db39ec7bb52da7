"""Re-capture the golden server replies in fixtures/ from a real `openssl s_server`.

Run by hand, on purpose, and review the diff:

    PYTHONPATH=src python3 tests/unit/tls/capture_fixtures.py

Each capture sends one of our ClientHellos (fixed random, session id and key
share, so the hello bytes are themselves golden) to `openssl s_server` on
loopback with a throwaway P-256 certificate, and saves everything the server
sent until it went quiet. The tests assert the fields below, so a new capture
from another OpenSSL version may need them updated.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2]))  # tests/, for pki_helpers

import tls_helpers
from tls_helpers import FIXTURES, exchange_with, s_server

from protoaudit.proto.tls import hello
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.proto.tls.keyshare import make_key_share

CLIENT_RANDOM = bytes(range(32))
SESSION_ID = bytes(range(0xA0, 0xC0))
TLS13_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
TLS12_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
)
SCHEMES = ("ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256", "rsa_pkcs1_sha256")


def tls13_client_hello() -> bytes:
    x25519 = tls_helpers.group_code("x25519")
    return hello.build_client_hello(
        version=ProtocolVersion.TLS1_3,
        cipher_suites=[tls_helpers.suite_code(name) for name in TLS13_SUITES],
        random=CLIENT_RANDOM,
        session_id=SESSION_ID,
        server_name="test",
        groups=[x25519, tls_helpers.group_code("secp256r1")],
        key_shares=[(x25519, make_key_share(x25519, tls_helpers.seeded_rng(1)))],
        signature_algorithms=[tls_helpers.scheme_code(name) for name in SCHEMES],
    )


def tls12_client_hello(suites: tuple[str, ...] = TLS12_SUITES) -> bytes:
    return hello.build_client_hello(
        version=ProtocolVersion.TLS1_2,
        cipher_suites=[tls_helpers.suite_code(name) for name in suites],
        random=CLIENT_RANDOM,
        server_name="test",
        groups=[tls_helpers.group_code("secp256r1"), tls_helpers.group_code("x25519")],
        signature_algorithms=[tls_helpers.scheme_code(name) for name in SCHEMES],
        extra_extensions=[
            hello.extension("renegotiation_info", hello.renegotiation_info_body()),
            hello.extension("extended_master_secret", hello.extended_master_secret_body()),
        ],
    )


def alert_client_hello() -> bytes:
    # Static RSA key exchange: impossible with an ECDSA certificate, so handshake_failure.
    return tls12_client_hello(("TLS_RSA_WITH_AES_128_CBC_SHA",))


CAPTURES = {
    "tls13": tls13_client_hello,
    "tls12_ecdhe": tls12_client_hello,
    "alert": alert_client_hello,
}


def write_hex(name: str, note: str, data: bytes) -> None:
    lines = [f"# {line}" for line in note.splitlines()]
    lines += [data[start : start + 32].hex() for start in range(0, len(data), 32)]
    (FIXTURES / name).write_text("\n".join(lines) + "\n")


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    today = datetime.now(UTC).date().isoformat()
    with tempfile.TemporaryDirectory() as directory, s_server(Path(directory)) as port:
        for name, build in CAPTURES.items():
            client_hello = build()
            reply = exchange_with(port, client_hello)
            write_hex(
                f"client_hello_{name}.hex",
                f"Our ClientHello record for the {name} capture (capture_fixtures.py).",
                client_hello,
            )
            write_hex(
                f"server_{name}.hex",
                f"openssl s_server reply to client_hello_{name}.hex, captured {today}\n"
                "by tests/unit/tls/capture_fixtures.py (throwaway P-256 certificate, CN=test).",
                reply,
            )
            print(f"{name}: sent {len(client_hello)} bytes, received {len(reply)} bytes")


if __name__ == "__main__":
    main()
