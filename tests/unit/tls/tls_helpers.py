"""Helpers shared by the TLS codec tests: fixtures on disk, deterministic randomness."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pki_helpers
from protoaudit.proto.tls.constants import ContentType
from protoaudit.proto.tls.records import HandshakeBuffer, Record, RecordBuffer, SSLv2Record
from protoaudit.registry import tls as registry

FIXTURES = Path(__file__).parent / "fixtures"


def load_hex(name: str) -> bytes:
    """A fixture file: hex digits, whitespace ignored, lines starting with '#' are notes."""
    lines = (FIXTURES / name).read_text().splitlines()
    return bytes.fromhex("".join(line for line in lines if not line.lstrip().startswith("#")))


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    """The same bytes for the same seed: key shares in tests are replayable."""
    return random.Random(seed).randbytes


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def suite_code(name: str) -> int:
    """A cipher suite's code point by its IANA name (the registry keys suites by code)."""
    for code, suite in registry.cipher_suites().items():
        if suite.name == name:
            return code
    raise KeyError(name)


def group_code(name: str) -> int:
    return registry.group_by_name(name).code


def scheme_code(name: str) -> int:
    return registry.signature_scheme_by_name(name).code


def extension_code(name: str) -> int:
    return registry.extension_by_name(name).code


@contextmanager
def s_server(directory: Path, *extra: str, key_kind: str = "ec") -> Iterator[int]:
    """`openssl s_server` on 127.0.0.1 with a fresh self-signed certificate; yields its port.

    The certificate is for CN=test, its key "ec" (P-256) or "rsa" (2048 bits).
    """
    key = pki_helpers.make_key(key_kind)
    now = datetime.now(UTC)
    certificate = pki_helpers.make_certificate(
        "test", key, not_before=now, not_after=now + timedelta(days=2)
    )
    pki_helpers.write_pem(directory / "cert.pem", certificate)
    pki_helpers.write_pem(directory / "key.pem", key)
    with pki_helpers.s_server(directory, "-cert", "cert.pem", "-key", "key.pem", *extra) as port:
        yield port


def exchange_with(port: int, hello_record: bytes, *, idle: float = 0.5) -> bytes:
    """Send one hello to 127.0.0.1:port; every byte the server sends until it closes or idles."""
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(hello_record)
        connection.settimeout(idle)
        while len(received) < 1 << 20:
            try:
                data = connection.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            received += data
    return bytes(received)


def records_of(data: bytes, piece: int | None = None) -> list[Record | SSLv2Record]:
    """Every complete record in `data`, fed whole or `piece` bytes at a time."""
    buffer = RecordBuffer()
    found: list[Record | SSLv2Record] = []
    for part in [data] if piece is None else chunks(data, piece):
        buffer.feed(part)
        while (record := buffer.next_record()) is not None:
            found.append(record)
    return found


def messages_of(records: Sequence[Record | SSLv2Record]) -> list[tuple[int, bytes]]:
    handshake = HandshakeBuffer()
    found = []
    for record in records:
        assert isinstance(record, Record)
        if record.content_type != ContentType.HANDSHAKE:
            break
        handshake.feed(record.fragment)
        while (message := handshake.next_message()) is not None:
            found.append(message)
    return found
