"""Peers that speak TLS, badly: impossible lengths, answers outside the offer, garbage.

Each must end in an observation that says what went wrong, within a bound,
reading no more than the byte limits allow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hostile_helpers import (
    ACCEPTED_SUITES,
    HANDSHAKE_FAILURE,
    RENEGOTIATION_INFO,
    TIMEOUT,
    UNRECOGNIZED_NAME,
    Handler,
    Peer,
    alert_record,
    audit,
    choose_suite,
    handshake_record,
    offered_versions,
    read_client_hello,
    refuse,
    send,
    server_hello,
    stall_bound,
    stall_until_hangup,
    takes_tls12,
)

from protoaudit.observations import (
    CertificateChain,
    CipherSuiteSupport,
    EphemeralKeyExchange,
    KeyExchangeGroups,
    ProbeFailure,
)
from protoaudit.proto.tls.constants import AlertLevel, HandshakeType, ProtocolVersion
from protoaudit.proto.tls.hello import extension
from protoaudit.proto.tls.records import encode_sslv2_record
from protoaudit.proto.tls.server import HELLO_RETRY_REQUEST_RANDOM
from protoaudit.proto.tls.sslv2 import SSLv2Error

Serve = Callable[[Handler], Peer]

# A hostile peer must never make the scanner hang: fail fast if it does.
pytestmark = pytest.mark.timeout(30)

TLS1_2 = ProtocolVersion.TLS1_2
TLS1_3 = ProtocolVersion.TLS1_3
SECP384R1 = 0x0018


def _tls12_only(reply: Callable[[int], bytes]) -> Handler:
    """A server that refuses every hello but the TLS 1.2 one, and answers that with `reply`."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hello = await read_client_hello(reader)
        if hello is None or not takes_tls12(hello):
            await refuse(writer)
            return
        suite = choose_suite(hello)
        if suite is None:
            await refuse(writer, HANDSHAKE_FAILURE)
            return
        await send(writer, reply(suite))

    return handler


# ------------------------------------------------------------- impossible lengths


async def _huge_record_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_client_hello(reader)
    await send(writer, b"\x16\x03\x03\xff\xff")  # a handshake record of 65535 bytes...
    await stall_until_hangup(reader)  # ...that never comes


def test_record_header_announcing_65535_bytes_then_stall(serve: Serve) -> None:
    peer = serve(_huge_record_header)
    result = audit(peer.port, timeout=3.0)
    # Then the header alone is refused: no one waits for 65535 bytes that TLS forbids
    assert result.elapsed < stall_bound(3.0)  # no hang; the detail above says how it stopped
    assert result.no_tls.detail == (
        "server sent '\\x16\\x03\\x03\\xff\\xff' (not TLS: length 65535 exceeds 18432)"
    )


async def _partial_record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_client_hello(reader)
    await send(writer, b"\x16\x03\x03\x3e\x80" + b"\x02\x00")  # 16000 bytes announced, 2 sent
    await stall_until_hangup(reader)


def test_partial_record_then_stall(serve: Serve) -> None:
    peer = serve(_partial_record)
    result = audit(peer.port, timeout=0.5)
    assert result.elapsed < stall_bound(0.5)
    assert result.no_tls.detail == (
        "timeout: no data within 0.5s; server sent '\\x16\\x03\\x03>\\x80\\x02\\x00',"
        " not one whole record"
    )


class _Sent:
    """How far each connection of a flooding peer got."""

    def __init__(self) -> None:
        self.finished = 0  # connections that delivered everything they meant to
        self.connections = 0


def _sixteen_megabyte_message(sent: _Sent, *, after_server_hello: bool) -> Handler:
    """A handshake message declaring 16 MiB, sent as 16 KiB records, all of it."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hello = await read_client_hello(reader)
        suite = choose_suite(hello) if hello is not None and takes_tls12(hello) else None
        if suite is None:
            await refuse(writer, HANDSHAKE_FAILURE)
            return
        sent.connections += 1
        length = (1 << 24) - 1
        first = server_hello(suite, extensions=RENEGOTIATION_INFO) if after_server_hello else b""
        kind = HandshakeType.CERTIFICATE if after_server_hello else HandshakeType.SERVER_HELLO
        header = bytes([kind]) + length.to_bytes(3, "big")
        await send(writer, handshake_record(first + header + bytes(16384 - len(header))))
        piece = handshake_record(bytes(16384))
        for _ in range(length // 16384):
            await send(writer, piece)
        sent.finished += 1

    return handler


def test_sixteen_megabyte_handshake_message(serve: Serve) -> None:
    sent = _Sent()
    peer = serve(_sixteen_megabyte_message(sent, after_server_hello=False))
    result = audit(peer.port, timeout=3.0)
    # Then the declared length is refused at once, and the rest is never read
    assert result.elapsed < stall_bound(3.0)  # no hang; the detail above says how it stopped
    assert result.versions()[TLS1_2].detail == (
        "malformed: tls: handshake.length at offset 1: message type 2 declares "
        "16777215 bytes, the limit is 262144"
    )
    assert "16777215 bytes" in result.no_tls.detail
    assert sent.connections == 1
    assert sent.finished == 0


def test_sixteen_megabyte_certificate_after_server_hello(serve: Serve) -> None:
    # Given a server whose ServerHello is fine and whose Certificate declares 16 MiB
    sent = _Sent()
    peer = serve(_sixteen_megabyte_message(sent, after_server_hello=True))
    result = audit(peer.port, timeout=1.0)
    # Then versions and suites are read off the ServerHellos...
    assert result.supported() == {TLS1_2}
    (suites,) = result.of(CipherSuiteSupport)
    assert set(suites.accepted) == set(ACCEPTED_SUITES)
    # ...the key exchange and certificate probes stop at the header and say so
    assert result.of(EphemeralKeyExchange) == []
    assert result.of(KeyExchangeGroups) == []  # not "no curves": nothing could be read
    failures = {o.probe: o.detail for o in result.of(ProbeFailure)}
    assert failures == {
        "key_exchange": "TLS 1.2: no ECDHE ServerKeyExchange could be read",
        "certificates": "default chain without SNI: excessive message size",  # OpenSSL's cap
    }
    assert result.of(CertificateChain) == []
    assert sent.connections >= 4
    assert sent.finished == 0
    assert result.elapsed < stall_bound(1.0)


# ------------------------------------------------------------- answers outside the offer


def test_cipher_suite_never_offered(serve: Serve) -> None:
    # Given a server that answers a TLS 1.2 hello with a TLS 1.3 suite, which it cannot offer
    peer = serve(_tls12_only(lambda _suite: handshake_record(server_hello(0x1301))))
    result = audit(peer.port)
    # Then TLS 1.2 is not taken as supported: a client would have aborted
    assert result.supported() == set()
    tls12 = result.versions()[TLS1_2]
    assert tls12.detail == (
        "malformed: tls: server_hello.cipher_suite at offset 0: "
        "the server chose 0x1301, which was not offered"
    )
    assert "0x1301, which was not offered" in result.no_tls.detail


async def _stubborn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Picks its favourite suite whether or not the client offered it."""
    hello = await read_client_hello(reader)
    if not takes_tls12(hello):
        await refuse(writer)
        return
    await send(writer, handshake_record(server_hello(ACCEPTED_SUITES[0])))


def test_cipher_suite_not_in_this_offer(serve: Serve) -> None:
    peer = serve(_stubborn)
    result = audit(peer.port)
    # The full offer has its favourite, so TLS 1.2 works; enumeration then catches it out
    assert result.supported() == {TLS1_2}
    failures = [o for o in result.of(ProbeFailure) if o.probe == "cipher_suites"]
    assert [(f.reason, f.detail) for f in failures] == [
        ("protocol-violation", "TLS 1.2: the server chose 0xC02F, which was not offered")
    ]
    assert result.of(CipherSuiteSupport) == []


async def _tls13_in_legacy_version(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Claims TLS 1.3 the way TLS 1.3 forbids: in legacy_version, with no supported_versions."""
    hello = await read_client_hello(reader)
    if hello is None:
        return
    await send(writer, handshake_record(server_hello(hello.cipher_suites[0], version=TLS1_3)))


def test_version_never_offered(serve: Serve) -> None:
    peer = serve(_tls13_in_legacy_version)
    result = audit(peer.port)
    # Then no version counts as supported, TLS 1.3 least of all
    assert result.supported() == set()
    versions = result.versions()
    for version in (ProtocolVersion.SSL3, ProtocolVersion.TLS1_0, TLS1_2, TLS1_3):
        assert versions[version].detail == (
            "malformed: tls: server_hello.version at offset 0: "
            "the server chose TLS 1.3, which was not offered"
        )


async def _always_tls12(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every hello with TLS 1.2, whatever it offered."""
    hello = await read_client_hello(reader)
    if hello is None:
        return
    # Below TLS 1.2 the offer has none of its (GCM) suites: it takes the first one then.
    suite = choose_suite(hello) or (None if takes_tls12(hello) else hello.cipher_suites[0])
    if suite is None:
        await refuse(writer, HANDSHAKE_FAILURE)
        return
    await send(writer, handshake_record(server_hello(suite)))


def test_version_above_the_offer(serve: Serve) -> None:
    peer = serve(_always_tls12)
    result = audit(peer.port)
    assert result.supported() == {TLS1_2}
    versions = result.versions()
    # TLS 1.0 offered nothing above itself: answering 1.2 breaks the negotiation...
    assert versions[ProtocolVersion.TLS1_0].detail.endswith(
        "the server chose TLS 1.2, which was not offered"
    )
    # ...while a TLS 1.3 hello allows 1.2 through its legacy_version: a plain "no"
    assert versions[TLS1_3].detail == "server answered with TLS 1.2"
    (suites,) = result.of(CipherSuiteSupport)
    assert set(suites.accepted) == set(ACCEPTED_SUITES)


# ------------------------------------------------------------- garbage and odd flights


def test_server_hello_with_trailing_garbage(serve: Serve) -> None:
    # Given a ServerHello whose body has five bytes after its extensions
    peer = serve(
        _tls12_only(
            lambda suite: handshake_record(
                server_hello(suite, extensions=RENEGOTIATION_INFO, trailing=b"junk!")
            )
        )
    )
    result = audit(peer.port)
    assert result.supported() == set()
    assert result.versions()[TLS1_2].detail == (
        "malformed: tls: server_hello at offset 45: 5 bytes left over"
    )


def test_garbage_after_the_server_hello(serve: Serve) -> None:
    # Given a ServerHello that is fine, followed in its record by bytes that are not
    peer = serve(_tls12_only(lambda suite: handshake_record(server_hello(suite), b"\xff" * 9)))
    result = audit(peer.port)
    # Then what the ServerHellos said stands; the key exchange, read further, found nothing
    assert result.supported() == {TLS1_2}
    (suites,) = result.of(CipherSuiteSupport)
    assert set(suites.accepted) == set(ACCEPTED_SUITES)
    assert result.of(EphemeralKeyExchange) == []
    unread = [o for o in result.of(ProbeFailure) if o.probe == "key_exchange"]
    assert [o.detail for o in unread] == ["TLS 1.2: no ECDHE ServerKeyExchange could be read"]
    result.assert_no_internal_error()


def test_warning_alert_before_the_server_hello(serve: Serve) -> None:
    # Given a server that warns unrecognized_name before answering (older Java and Apache did)
    warning = alert_record(UNRECOGNIZED_NAME, level=AlertLevel.WARNING)
    peer = serve(_tls12_only(lambda suite: warning + handshake_record(server_hello(suite))))
    result = audit(peer.port)
    # Then the warning is passed over, as a client would, and TLS 1.2 is seen
    assert result.supported() == {TLS1_2}
    (suites,) = result.of(CipherSuiteSupport)
    assert set(suites.accepted) == set(ACCEPTED_SUITES)


def _hello_retry_request(suite: int) -> bytes:
    extensions = (
        extension("supported_versions", TLS1_3.to_bytes(2, "big")),
        extension("key_share", SECP384R1.to_bytes(2, "big")),
    )
    return handshake_record(
        server_hello(suite, extensions=extensions, random=HELLO_RETRY_REQUEST_RANDOM)
    )


async def _retry_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Every ClientHello gets a HelloRetryRequest, the second one too."""
    while True:
        hello = await read_client_hello(reader)
        if hello is None or TLS1_3 not in offered_versions(hello):
            await refuse(writer)
            return
        suite = next((s for s in hello.cipher_suites if s >> 8 == 0x13), None)
        if suite is None:
            await refuse(writer, HANDSHAKE_FAILURE)
            return
        await send(writer, _hello_retry_request(suite))


def test_hello_retry_request_forever(serve: Serve) -> None:
    peer = serve(_retry_forever)
    result = audit(peer.port, timeout=1.0)
    result.assert_no_internal_error()
    assert result.elapsed < stall_bound(1.0)
    # A HelloRetryRequest for TLS 1.3 is TLS 1.3 answering; the group it asks for is named
    assert result.supported() == {TLS1_3}
    (groups,) = result.of(KeyExchangeGroups)
    assert groups.accepted == (SECP384R1,)
    # No handshake can ever finish, so no certificate, and the report says why
    assert result.of(CertificateChain) == []
    assert [o for o in result.of(ProbeFailure) if o.probe == "certificates"]


async def _sslv2_error_then_stall(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    hello = await read_client_hello(reader)
    if hello is not None:
        await refuse(writer)
        return
    await send(writer, encode_sslv2_record(SSLv2Error(1).encode()))  # NO-CIPHER-ERROR
    await stall_until_hangup(reader)


def test_sslv2_error_then_stall(serve: Serve) -> None:
    # Given an SSL 2.0 server that refuses with ERROR and keeps the connection open
    peer = serve(_sslv2_error_then_stall)
    result = audit(peer.port, timeout=3.0)
    # Then the ERROR is the answer: nobody waits for the read timeout
    assert result.elapsed < stall_bound(3.0)  # no hang; the detail above says how it stopped
    assert result.versions()[ProtocolVersion.SSL2].detail == "SSL 2.0 ERROR 0x0001"


@pytest.mark.parametrize("count", [1, 5])
def test_a_few_warning_alerts_are_passed_over(serve: Serve, count: int) -> None:
    warnings = alert_record(UNRECOGNIZED_NAME, level=AlertLevel.WARNING) * count
    peer = serve(_tls12_only(lambda suite: warnings + handshake_record(server_hello(suite))))
    result = audit(peer.port)
    assert result.supported() == {TLS1_2}


def _server_hello_then_stall() -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hello = await read_client_hello(reader)
        suite = choose_suite(hello) if hello is not None and takes_tls12(hello) else None
        if suite is None:
            await refuse(writer, HANDSHAKE_FAILURE)
            return
        await send(writer, handshake_record(server_hello(suite, extensions=RENEGOTIATION_INFO)))
        await stall_until_hangup(reader)

    return handler


@pytest.mark.slow
def test_server_hello_then_silence(serve: Serve) -> None:
    # Given a server that answers the hello and then says nothing more, ever
    peer = serve(_server_hello_then_stall())
    result = audit(peer.port)
    # Then what the ServerHellos told is kept, and every later wait ended at its timeout
    assert result.elapsed < stall_bound(TIMEOUT)
    assert result.supported() == {TLS1_2}
    failures = {o.probe: o for o in result.of(ProbeFailure)}
    assert failures["key_exchange"].detail == "TLS 1.2: no ECDHE ServerKeyExchange could be read"
    assert failures["certificates"].reason == "timeout"
    result.assert_no_internal_error()
