"""PostgreSQL SSLRequest: eight bytes out, one byte (or an error) back."""

from __future__ import annotations

import pytest
from byte_dialog_helpers import chunks
from hypothesis import given, settings
from hypothesis import strategies as st

from protoaudit.proto.starttls.base import MAX_DIALOG_BYTES, Dialog, Status
from protoaudit.proto.starttls.postgres import (
    MAX_ERROR_LENGTH,
    SSL_REQUEST,
    PostgresStartTls,
    encode_ssl_request,
    parse_error_fields,
)

# A protocol 3 ErrorResponse, as PostgreSQL 15 sends for a startup packet it cannot read.
ERROR_V3_FIELDS = b"SFATAL\x00VFATAL\x00C08P01\x00Minvalid length of startup packet\x00\x00"
ERROR_V3 = b"E" + (4 + len(ERROR_V3_FIELDS)).to_bytes(4, "big") + ERROR_V3_FIELDS
# The protocol 2 shape, as a server older than SSL support answered: 'E' and one C string.
ERROR_V2 = b"EFATAL:  unsupported frontend protocol\n\x00"


def run(reply: bytes, piece: int | None = None) -> PostgresStartTls:
    dialog = PostgresStartTls()
    assert dialog.bytes_to_send() == SSL_REQUEST
    for chunk in chunks(reply, piece):
        dialog.receive_data(chunk)
    return dialog


def test_the_request_is_byte_exact() -> None:
    assert bytes.fromhex("00000008 04d2162f") == SSL_REQUEST
    assert encode_ssl_request() == SSL_REQUEST
    dialog: Dialog = PostgresStartTls()
    assert dialog.protocol == "postgres"
    assert dialog.bytes_to_send() == SSL_REQUEST
    assert dialog.bytes_to_send() == b""


def test_s_is_ready() -> None:
    dialog = run(b"S")
    assert dialog.status is Status.READY
    assert dialog.outcome.starttls_offered is True
    assert dialog.outcome.failure is None
    assert dialog.outcome.transcript == (("C", SSL_REQUEST), ("S", b"S"))


def test_n_is_refused() -> None:
    dialog = run(b"N")
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == "server refuses SSL"
    assert dialog.outcome.starttls_offered is False


def test_bytes_after_s_are_the_cve_2021_23222_class() -> None:
    # Given an 'S' followed, in the same read, by a forged ErrorResponse
    dialog = run(b"S" + ERROR_V3)
    # Then no TLS handshake starts on top of injected plaintext
    assert dialog.status is Status.FAILED
    failure = dialog.outcome.failure or ""
    assert failure.startswith(f"{len(ERROR_V3)} bytes of unencrypted data after the server's 'S'")
    assert "CVE-2021-23222" in failure


@pytest.mark.parametrize("piece", [None, 1, 3])
def test_a_protocol_3_error(piece: int | None) -> None:
    dialog = run(ERROR_V3, piece)
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == (
        "server sent an error instead of answering SSLRequest: "
        "FATAL 08P01: invalid length of startup packet"
    )
    assert dialog.outcome.starttls_offered is False


@pytest.mark.parametrize("piece", [None, 1, 3])
def test_a_protocol_2_error(piece: int | None) -> None:
    dialog = run(ERROR_V2, piece)
    assert dialog.outcome.failure == (
        "server sent an error instead of answering SSLRequest: "
        "FATAL:  unsupported frontend protocol"
    )


def test_a_protocol_2_error_cut_short_by_the_close() -> None:
    dialog = run(b"EFATAL:  no pg_hba.conf entry")
    assert dialog.status is Status.RUNNING
    dialog.connection_closed()
    assert dialog.outcome.failure == (
        "server sent an error instead of answering SSLRequest: FATAL:  no pg_hba.conf entry"
    )


def test_error_fields() -> None:
    assert parse_error_fields(ERROR_V3_FIELDS) == {
        ord("S"): "FATAL",
        ord("V"): "FATAL",
        ord("C"): "08P01",
        ord("M"): "invalid length of startup packet",
    }
    assert parse_error_fields(b"Mno end\x00") is None
    assert parse_error_fields(b"Mtext") is None
    assert parse_error_fields(b"\x00\x00") is None


@pytest.mark.parametrize(
    ("reply", "failure"),
    [
        (b"E\x00\x00\x00\x04", "ErrorResponse length 4 is out of bounds"),
        (b"E\x00\x01\x00\x00", "ErrorResponse length 65536 is out of bounds"),
        (b"E\x00\x00\x00\x07Mx\x00", "malformed ErrorResponse"),
        (b"HTTP/1.1 400 Bad Request\r\n", "not a PostgreSQL answer to SSLRequest: 'HTTP/1.1"),
        (b"\x15\x03\x01\x00\x02\x02\x46", "not a PostgreSQL answer to SSLRequest: '\\x15"),
    ],
)
def test_broken_answers(reply: bytes, failure: str) -> None:
    dialog = run(reply)
    assert dialog.status is Status.FAILED
    assert failure in (dialog.outcome.failure or "")


def test_an_endless_protocol_2_error_is_cut_at_the_bound() -> None:
    dialog = PostgresStartTls()
    dialog.bytes_to_send()
    dialog.receive_data(b"E")
    for _ in range(MAX_ERROR_LENGTH // 100 + 2):
        dialog.receive_data(b"x" * 100)
        assert dialog.buffered <= MAX_ERROR_LENGTH + 1
    assert dialog.outcome.failure == f"error message after 'E' longer than {MAX_ERROR_LENGTH} bytes"


def test_the_server_speaking_first_is_not_postgresql() -> None:
    dialog = PostgresStartTls()
    dialog.receive_data(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    assert dialog.outcome.failure == (
        "not PostgreSQL: the server spoke first ('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n')"
    )


def test_closed_before_the_answer() -> None:
    dialog = run(b"")
    dialog.connection_closed()
    assert dialog.outcome.failure == "connection closed by the server before it answered SSLRequest"


def test_input_after_the_end_is_ignored() -> None:
    dialog = run(b"S")
    dialog.receive_data(b"\x16\x03\x03")
    dialog.connection_closed()
    assert dialog.status is Status.READY
    assert dialog.outcome.transcript == (("C", SSL_REQUEST), ("S", b"S"))


@settings(max_examples=300)
@given(st.binary(max_size=12000), st.integers(1, 500))
def test_arbitrary_bytes_never_raise_and_stay_bounded(data: bytes, piece: int) -> None:
    dialog = PostgresStartTls()
    dialog.bytes_to_send()
    for chunk in chunks(data, piece):
        dialog.receive_data(chunk)
        assert dialog.buffered <= MAX_ERROR_LENGTH + 1
    dialog.connection_closed()
    assert dialog.status is not Status.RUNNING
    assert sum(len(part) for _, part in dialog.outcome.transcript) <= MAX_DIALOG_BYTES


@given(st.sampled_from([b"E\x00", b"E"]), st.binary(max_size=200))
def test_arbitrary_errors_never_raise(prefix: bytes, data: bytes) -> None:
    dialog = run(prefix + data, piece=7)
    dialog.connection_closed()
    assert dialog.status is Status.FAILED
