"""LDAP StartTLS: the request we send, and what real and broken servers answer."""

from __future__ import annotations

import pytest
from byte_dialog_helpers import chunks
from hypothesis import given, settings
from hypothesis import strategies as st

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls import ber
from protoaudit.proto.starttls.base import MAX_DIALOG_BYTES, Dialog, Status
from protoaudit.proto.starttls.ldap import (
    MAX_MESSAGE_LENGTH,
    NOTICE_OF_DISCONNECTION_OID,
    STARTTLS_OID,
    STARTTLS_REQUEST,
    ExtendedResponse,
    LdapStartTls,
    result_code_name,
)

# Captured from OpenLDAP slapd 2.5.13 (Debian 12) on loopback, configured with
# a certificate: success, and no responseName (RFC 4511 makes it optional).
OPENLDAP_SUCCESS = bytes.fromhex("300c02010178070a010004000400")
# The same slapd without TLS configured: StartTLS is not registered at all.
OPENLDAP_UNSUPPORTED = bytes.fromhex(
    "302a02010178250a01020400041e756e737570706f7274656420657874656e646564206f7065726174696f6e"
)
# A Notice of Disconnection as Active Directory writes it: every length in
# long form with four octets (0x84), messageID 0, responseName ...20036.
_AD_DIAGNOSTIC = b"00000057: LdapErr: DSID-0C090E3E, comment: Error decoding ldap message, data 0"
_AD_BODY = (
    bytes.fromhex("0a0102 0400")
    + bytes.fromhex("0484")
    + len(_AD_DIAGNOSTIC).to_bytes(4, "big")
    + _AD_DIAGNOSTIC
    + bytes.fromhex("8a16")
    + NOTICE_OF_DISCONNECTION_OID.encode()
)
_AD_OPERATION = bytes.fromhex("7884") + len(_AD_BODY).to_bytes(4, "big") + _AD_BODY
_AD_MESSAGE = bytes.fromhex("02840000000100") + _AD_OPERATION
AD_NOTICE = bytes.fromhex("3084") + len(_AD_MESSAGE).to_bytes(4, "big") + _AD_MESSAGE


def run(reply: bytes, piece: int | None = None) -> LdapStartTls:
    dialog = LdapStartTls()
    assert dialog.bytes_to_send() == STARTTLS_REQUEST
    for chunk in chunks(reply, piece):
        dialog.receive_data(chunk)
    return dialog


def test_the_request_is_byte_exact() -> None:
    assert (
        bytes.fromhex("30 1d 02 01 01 77 18 80 16") + b"1.3.6.1.4.1.1466.20037"
    ) == STARTTLS_REQUEST
    dialog = LdapStartTls()
    assert dialog.bytes_to_send() == STARTTLS_REQUEST
    assert dialog.bytes_to_send() == b""
    assert dialog.status is Status.RUNNING


def test_it_is_a_dialog() -> None:
    dialog: Dialog = LdapStartTls()
    assert dialog.protocol == "ldap"


@pytest.mark.parametrize("piece", [None, 1, 5])
def test_openldap_success_whole_and_in_pieces(piece: int | None) -> None:
    dialog = run(OPENLDAP_SUCCESS, piece)
    assert dialog.status is Status.READY
    outcome = dialog.outcome
    assert outcome.protocol == "ldap"
    assert outcome.starttls_offered is True
    assert outcome.failure is None
    assert outcome.transcript == (("C", STARTTLS_REQUEST), ("S", OPENLDAP_SUCCESS))
    assert dialog.buffered == 0


def test_openldap_refusal() -> None:
    dialog = run(OPENLDAP_UNSUPPORTED)
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == (
        "StartTLS refused: resultCode 2 (protocolError): unsupported extended operation"
    )
    assert dialog.outcome.starttls_offered is False


def test_unavailable_with_the_starttls_response_name() -> None:
    reply = ExtendedResponse(
        message_id=1,
        result_code=52,
        diagnostic_message=b"Could not initialize TLS",
        response_name=STARTTLS_OID,
    ).encode()
    dialog = run(reply)
    assert dialog.outcome.failure == (
        "StartTLS refused: resultCode 52 (unavailable): Could not initialize TLS"
    )


def test_success_with_the_response_name_is_ready() -> None:
    reply = ExtendedResponse(message_id=1, result_code=0, response_name=STARTTLS_OID).encode()
    assert reply == bytes.fromhex("3024020101781f0a0100040004008a16") + STARTTLS_OID.encode()
    assert run(reply).status is Status.READY


@pytest.mark.parametrize("piece", [None, 1, 7])
def test_active_directory_notice_of_disconnection(piece: int | None) -> None:
    dialog = run(AD_NOTICE, piece)
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == (
        "server sent a Notice of Disconnection: resultCode 2 (protocolError): "
        + _AD_DIAGNOSTIC.decode()
    )
    assert dialog.outcome.starttls_offered is None


def test_golden_decode_and_encode() -> None:
    assert ExtendedResponse.decode(OPENLDAP_SUCCESS) == ExtendedResponse(
        message_id=1, result_code=0
    )
    assert ExtendedResponse(message_id=1, result_code=0).encode() == OPENLDAP_SUCCESS
    refusal = ExtendedResponse.decode(OPENLDAP_UNSUPPORTED)
    assert refusal.diagnostic_message == b"unsupported extended operation"
    assert refusal.encode() == OPENLDAP_UNSUPPORTED
    notice = ExtendedResponse.decode(AD_NOTICE)
    assert notice.message_id == 0
    assert notice.response_name == NOTICE_OF_DISCONNECTION_OID


def test_trailing_bytes_after_success_are_injection() -> None:
    # Given a success response and, in the same read, plaintext that follows it
    dialog = run(OPENLDAP_SUCCESS + b"\x30\x05injected")
    # Then the dialog does not hand over to TLS
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure is not None
    assert dialog.outcome.failure.startswith("10 bytes after the StartTLS response")
    assert dialog.outcome.starttls_offered is True


def test_trailing_bytes_after_a_refusal_still_report_the_refusal() -> None:
    dialog = run(OPENLDAP_UNSUPPORTED + b"\x00\x01")
    assert dialog.outcome.failure is not None
    assert dialog.outcome.failure.startswith("StartTLS refused: resultCode 2")


def test_input_after_the_end_is_ignored() -> None:
    dialog = run(OPENLDAP_SUCCESS)
    dialog.receive_data(b"\x16\x03\x03")
    dialog.connection_closed()
    assert dialog.status is Status.READY


def _message(operation: bytes, message_id: int = 1, extra: bytes = b"") -> bytes:
    return ber.encode_sequence(ber.encode_integer(message_id), operation, extra)


_SUCCESS_BODY = bytes.fromhex("0a0100 0400 0400")


@pytest.mark.parametrize(
    ("reply", "failure"),
    [
        (
            _message(ber.encode_application(24, _SUCCESS_BODY), message_id=2),
            "server answered messageID 2; the request was 1",
        ),
        (
            _message(ber.encode_application(1, _SUCCESS_BODY)),
            "[APPLICATION 1], not an ExtendedResponse",
        ),
        (
            ExtendedResponse(message_id=1, result_code=0, response_name="1.2.3").encode(),
            "StartTLS response names '1.2.3'",
        ),
        (
            ExtendedResponse(
                message_id=0, result_code=51, response_name="1.3.6.1.4.1.4203.1.9.1.4"
            ).encode(),
            "unsolicited notification (1.3.6.1.4.1.4203.1.9.1.4): resultCode 51 (busy)",
        ),
        (
            _message(ber.encode_application(24, _SUCCESS_BODY + ber.encode_context(12, b""))),
            "unexpected [12]",
        ),
        (
            _message(ber.encode_application(24, _SUCCESS_BODY + bytes.fromhex("8a00 a300"))),
            "unexpected [3]",  # out of order
        ),
        (_message(ber.encode_application(24, bytes.fromhex("0a0100 0400"))), "needs resultCode"),
        (_message(ber.encode_application(24, bytes.fromhex("020100 0400 0400"))), "ENUMERATED"),
        (bytes.fromhex("3080 020101 0000"), "indefinite length"),
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not an LDAP message: 'HTTP/1.1"),
        (bytes.fromhex("3003 020201"), "not an LDAP message ('0\\x03"),
    ],
)
def test_broken_responses_fail_with_a_reason(reply: bytes, failure: str) -> None:
    dialog = run(reply)
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure is not None
    assert failure in dialog.outcome.failure


def test_controls_after_the_response_are_accepted() -> None:
    controls = ber.encode_context(
        0, ber.encode_sequence(ber.encode_octet_string(b"1.2.3")), constructed=True
    )
    reply = _message(ber.encode_application(24, _SUCCESS_BODY), extra=controls)
    assert run(reply).status is Status.READY


def test_unregistered_result_codes_keep_their_number() -> None:
    assert result_code_name(4711) == "resultCode4711"
    reply = ExtendedResponse(message_id=1, result_code=4711).encode()
    assert run(reply).outcome.failure == "StartTLS refused: resultCode 4711 (resultCode4711)"


def test_a_huge_length_fails_from_the_header_without_buffering() -> None:
    dialog = run(bytes.fromhex("3084 7fffffff"))
    assert dialog.status is Status.FAILED
    assert "exceeds the bound" in (dialog.outcome.failure or "")
    assert dialog.buffered == 0


def test_a_message_at_the_bound_is_read() -> None:
    # A diagnosticMessage long enough to bring the message contents to the bound exactly.
    overhead = len(ExtendedResponse(message_id=1, result_code=1, diagnostic_message=b"").encode())
    padding = MAX_MESSAGE_LENGTH - overhead - 4
    reply = ExtendedResponse(
        message_id=1, result_code=1, diagnostic_message=b"x" * padding
    ).encode()
    assert ber.frame_length(reply, max_length=MAX_MESSAGE_LENGTH) == len(reply)
    assert (run(reply, piece=1000).outcome.failure or "").startswith("StartTLS refused")


def test_connection_closed() -> None:
    dialog = LdapStartTls()
    dialog.bytes_to_send()
    dialog.connection_closed()
    assert dialog.outcome.failure == "connection closed by the server before it answered StartTLS"
    dialog = run(OPENLDAP_SUCCESS[:5])
    dialog.connection_closed()
    assert dialog.outcome.failure == (
        "connection closed by the server in the middle of its response "
        "(5 bytes received: '0\\x0c\\x02\\x01\\x01')"
    )


def test_an_answer_before_the_request_was_sent_is_refused() -> None:
    dialog = LdapStartTls()
    dialog.receive_data(OPENLDAP_SUCCESS)
    assert dialog.outcome.failure == "server answered before the StartTLS request was sent"


def test_decode_raises_only_decode_error_on_leftovers() -> None:
    with pytest.raises(DecodeError):
        ExtendedResponse.decode(OPENLDAP_SUCCESS + b"\x00")


@settings(max_examples=300)
@given(st.binary(max_size=3000), st.integers(1, 64))
def test_arbitrary_bytes_never_raise_and_stay_bounded(data: bytes, piece: int) -> None:
    dialog = LdapStartTls()
    dialog.bytes_to_send()
    for chunk in chunks(data, piece):
        dialog.receive_data(chunk)
        assert dialog.buffered <= MAX_MESSAGE_LENGTH + 16
    dialog.connection_closed()
    assert dialog.status is not Status.RUNNING
    assert sum(len(part) for _, part in dialog.outcome.transcript) <= MAX_DIALOG_BYTES


@given(
    st.integers(0, 2**31 - 1),
    st.integers(0, 2**31 - 1),
    st.binary(max_size=50),
    st.binary(max_size=50),
    st.lists(st.binary(min_size=1, max_size=20), max_size=3),
    st.none() | st.sampled_from([STARTTLS_OID, NOTICE_OF_DISCONNECTION_OID]),
    st.none() | st.binary(max_size=20),
)
def test_response_round_trip(
    message_id: int,
    result_code: int,
    matched_dn: bytes,
    diagnostic: bytes,
    referral: list[bytes],
    response_name: str | None,
    response_value: bytes | None,
) -> None:
    response = ExtendedResponse(
        message_id=message_id,
        result_code=result_code,
        matched_dn=matched_dn,
        diagnostic_message=diagnostic,
        referral=tuple(referral),
        response_name=response_name,
        response_value=response_value,
    )
    assert ExtendedResponse.decode(response.encode()) == response
