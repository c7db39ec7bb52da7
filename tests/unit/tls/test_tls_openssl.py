"""Our hellos and key shares against a real `openssl s_server` on loopback.

The server is OpenSSL's own, started per module with a throwaway certificate;
nothing is mocked. Skipped where the openssl command is missing.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tls_helpers import group_code, s_server, scheme_code, seeded_rng, suite_code

from pki_helpers import OPENSSL
from protoaudit.proto.tls import exchange as codec
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.proto.tls.hello import build_client_hello
from protoaudit.proto.tls.keyshare import make_key_share
from protoaudit.proto.tls.server import ServerHello, ServerKeyExchange

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")

TLS13_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384")
SCHEMES = ("ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256", "rsa_pkcs1_sha256")


@pytest.fixture(scope="module")
def ec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with s_server(tmp_path_factory.mktemp("ec")) as port:
        yield port


@pytest.fixture(scope="module")
def rsa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """An RSA server for DHE suites, with the ffdhe2048 parameters (its default is RFC 3526's)."""
    assert OPENSSL is not None
    directory = Path(tmp_path_factory.mktemp("rsa"))
    parameters = directory / "ffdhe2048.pem"
    subprocess.run(
        [
            *(OPENSSL, "genpkey", "-genparam", "-algorithm", "DH"),
            *("-pkeyopt", "group:ffdhe2048", "-out", str(parameters)),
        ],
        check=True,
        capture_output=True,
    )
    with s_server(directory, "-dhparam", str(parameters), key_kind="rsa") as port:
        yield port


def drive(port: int, record: bytes, stop_after: str) -> list[codec.Event]:
    """One probe connection: send the hello, feed replies until the exchange finishes."""
    exchange = codec.HelloExchange(record, stop_after=stop_after)
    events: list[codec.Event] = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(exchange.bytes_to_send())
        while not exchange.finished:
            data = connection.recv(65536)
            if not data:
                break
            exchange.receive_data(data)
            while (event := exchange.next_event()) is not None:
                events.append(event)
    return events


def tls13_hello(offered: list[int], shares: list[int], seed: int = 1) -> bytes:
    rng = seeded_rng(seed)
    return build_client_hello(
        version=ProtocolVersion.TLS1_3,
        cipher_suites=[suite_code(name) for name in TLS13_SUITES],
        random=bytes(32),
        session_id=bytes(32),
        server_name="test",
        groups=offered,
        key_shares=[(group, make_key_share(group, rng)) for group in shares],
        signature_algorithms=[scheme_code(name) for name in SCHEMES],
    )


@pytest.mark.parametrize(
    "name", ["x25519", "secp256r1", "ffdhe2048", "x448", "secp384r1", "secp521r1"]
)
def test_server_accepts_our_key_share(ec_server: int, name: str) -> None:
    # Given a hello offering only `name`, with a share for it
    group = group_code(name)
    events = drive(ec_server, tls13_hello([group], [group]), "server_hello")
    # Then the server answers with a ServerHello (not an alert, not a retry) in that group
    assert isinstance(events[0], codec.ServerHelloReceived), events
    hello: ServerHello = events[0].server_hello
    assert hello.selected_version == ProtocolVersion.TLS1_3
    assert hello.key_share_group == group
    assert hello.key_share is not None
    assert len(hello.key_share.key_exchange) == len(make_key_share(group, seeded_rng(1)))
    assert isinstance(events[-1], codec.ExchangeDone)


def test_server_asks_for_another_share_with_a_hello_retry_request(ec_server: int) -> None:
    # Given a hello that offers secp384r1 but carries only an x25519 share
    record = tls13_hello([group_code("secp384r1")], [])
    events = drive(ec_server, record, "server_hello_done")
    assert isinstance(events[0], codec.HelloRetryRequestReceived), events
    assert events[0].server_hello.key_share_group == group_code("secp384r1")
    assert isinstance(events[-1], codec.ExchangeDone)


def tls12_hello(suites: list[str], groups: list[str]) -> bytes:
    return build_client_hello(
        version=ProtocolVersion.TLS1_2,
        cipher_suites=[suite_code(name) for name in suites],
        random=bytes(range(32)),
        server_name="test",
        groups=[group_code(name) for name in groups],
        signature_algorithms=[scheme_code(name) for name in SCHEMES],
    )


def test_tls12_ecdhe_flight_up_to_server_hello_done(ec_server: int) -> None:
    # TLS 1.2 ties the certificate's curve to the offered groups too (RFC 8422 5.1.1),
    # so the P-256 certificate needs secp256r1 listed; the server takes our first choice.
    record = tls12_hello(["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"], ["secp384r1", "secp256r1"])
    events = drive(ec_server, record, "server_hello_done")
    assert [type(e).__name__ for e in events] == [
        "ServerHelloReceived",
        "CertificateReceived",
        "ServerKeyExchangeReceived",
        "ServerHelloDoneReceived",
        "ExchangeDone",
    ]
    ske = ServerKeyExchange.decode(
        events[2].body,  # type: ignore[union-attr]
        key_exchange="ECDHE",
        version=ProtocolVersion.TLS1_2,
    )
    assert ske.group == group_code("secp384r1")


def test_tls12_dhe_flight_names_an_ffdhe_group(rsa_server: int) -> None:
    record = tls12_hello(["TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"], [])
    events = drive(rsa_server, record, "server_hello_done")
    [body] = [e.body for e in events if isinstance(e, codec.ServerKeyExchangeReceived)]
    ske = ServerKeyExchange.decode(body, key_exchange="DHE", version=ProtocolVersion.TLS1_2)
    assert ske.dh_prime_bits == 2048
    assert ske.group == group_code("ffdhe2048")
    assert ske.signature_scheme is not None


def test_no_shared_suite_is_a_fatal_alert(ec_server: int) -> None:
    events = drive(ec_server, tls12_hello(["TLS_RSA_WITH_AES_128_CBC_SHA"], []), "server_hello")
    assert events == [codec.AlertReceived(level=2, description=40)]
