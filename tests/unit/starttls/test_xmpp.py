"""XMPP STARTTLS: our stream header, Prosody's answers, and streams a hostile server builds."""

from __future__ import annotations

import pytest
from byte_dialog_helpers import chunks
from hypothesis import given, settings
from hypothesis import strategies as st

from protoaudit.proto.starttls.base import MAX_DIALOG_BYTES, Dialog, Status
from protoaudit.proto.starttls.xmpp import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_TEXT,
    STARTTLS_COMMAND,
    XmppStartTls,
    stream_header,
)

# Captured from Prosody 0.12.3 (Debian 12) on loopback, c2s_require_encryption = true.
PROSODY_REQUIRED = (
    b"<?xml version='1.0'?><stream:stream xml:lang='en' from='localhost' version='1.0' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='471d2ff1-eeb5-470f-935c-0c085d731ba1' "
    b"xmlns='jabber:client'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
    b"<required/></starttls></stream:features>"
)
# The same Prosody with c2s_require_encryption = false, allow_unencrypted_plain_auth = true.
PROSODY_PLAIN = (
    b"<?xml version='1.0'?><stream:stream xml:lang='en' xmlns='jabber:client' version='1.0' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='6ec69a1d-afd2-41cc-8396-7b2976204641' "
    b"from='localhost'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    b"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
    b"<mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"
)
# Its s2s port, to a stream header without `from` (hence to='').
PROSODY_S2S = (
    b"<?xml version='1.0'?><stream:stream to='' xml:lang='en' from='localhost' version='1.0' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='126410b2-94b4-459a-9152-5f1c7dc9a82e' "
    b"xmlns='jabber:server' xmlns:db='jabber:server:dialback'><stream:features>"
    b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    b"<dialback xmlns='urn:xmpp:features:dialback'/></stream:features>"
)
# Its c2s port, asked for a domain it does not serve.
PROSODY_HOST_UNKNOWN = (
    b"<?xml version='1.0'?><stream:stream xml:lang='en' from='unknown.example' version='1.0' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='4330065b-bb41-4ee7-a9eb-9637cde7b6bd' "
    b"xmlns='jabber:client'><stream:error><host-unknown "
    b"xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
    b"xmlns='urn:ietf:params:xml:ns:xmpp-streams'>This server does not serve unknown.example"
    b"</text></stream:error></stream:stream>"
)
PROSODY_PROCEED = b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
FAILURE = b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"

HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' version='1.0' "
    b"xmlns:stream='http://etherx.jabber.org/streams' from='example.org' id='x'>"
)


def run(
    features: bytes,
    answer: bytes | None = None,
    piece: int | None = None,
    *,
    dialog: XmppStartTls | None = None,
) -> XmppStartTls:
    """Our header, the server's header and features, our <starttls/>, its answer."""
    dialog = dialog or XmppStartTls(domain="localhost")
    assert dialog.bytes_to_send().startswith(b"<?xml")
    for chunk in chunks(features, piece):
        dialog.receive_data(chunk)
    if answer is not None:
        assert dialog.bytes_to_send() == STARTTLS_COMMAND
        for chunk in chunks(answer, piece):
            dialog.receive_data(chunk)
    return dialog


def test_stream_headers_are_byte_exact() -> None:
    assert stream_header("example.org") == (
        b"<?xml version='1.0'?><stream:stream to='example.org' version='1.0' "
        b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    )
    assert stream_header("example.org", server_to_server=True, from_domain="scanner.test") == (
        b"<?xml version='1.0'?><stream:stream to='example.org' from='scanner.test' "
        b"version='1.0' xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
        b"xmlns:db='jabber:server:dialback'>"
    )
    assert b"to='a&apos;b&lt;'" in stream_header("a'b<")
    assert STARTTLS_COMMAND == b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"


def test_it_is_a_dialog() -> None:
    dialog: Dialog = XmppStartTls(domain="example.org")
    assert dialog.protocol == "xmpp"
    assert XmppStartTls(domain="example.org", server_to_server=True).protocol == "xmpp-server"
    assert dialog.bytes_to_send() == stream_header("example.org")
    assert dialog.bytes_to_send() == b""


@pytest.mark.parametrize("piece", [None, 1, 13])
def test_prosody_requiring_tls(piece: int | None) -> None:
    dialog = run(PROSODY_REQUIRED, PROSODY_PROCEED, piece)
    assert dialog.status is Status.READY
    outcome = dialog.outcome
    assert outcome.protocol == "xmpp"
    assert outcome.banner == (
        "<stream:stream xml:lang='en' from='localhost' version='1.0' "
        "id='471d2ff1-eeb5-470f-935c-0c085d731ba1'>"
    )
    assert outcome.capabilities_before == ("{urn:ietf:params:xml:ns:xmpp-tls}starttls required",)
    assert outcome.starttls_offered is True
    assert outcome.plaintext_auth_offered == ()
    assert outcome.failure is None
    assert outcome.transcript == (
        ("C", stream_header("localhost")),
        ("S", PROSODY_REQUIRED),
        ("C", STARTTLS_COMMAND),
        ("S", PROSODY_PROCEED),
    )


@pytest.mark.parametrize("piece", [None, 1, 13])
def test_prosody_offering_plain_before_tls(piece: int | None) -> None:
    dialog = run(PROSODY_PLAIN, PROSODY_PROCEED, piece)
    assert dialog.status is Status.READY
    assert dialog.outcome.capabilities_before == (
        "{urn:ietf:params:xml:ns:xmpp-tls}starttls",
        "{urn:ietf:params:xml:ns:xmpp-sasl}mechanisms PLAIN SCRAM-SHA-1",
    )
    assert dialog.outcome.plaintext_auth_offered == ("PLAIN",)


def test_prosody_server_to_server() -> None:
    dialog = run(
        PROSODY_S2S,
        PROSODY_PROCEED,
        dialog=XmppStartTls(domain="localhost", server_to_server=True),
    )
    assert dialog.status is Status.READY
    assert dialog.outcome.protocol == "xmpp-server"
    assert dialog.outcome.capabilities_before == (
        "{urn:ietf:params:xml:ns:xmpp-tls}starttls required",
        "{urn:xmpp:features:dialback}dialback",
    )


def test_a_client_stream_answered_as_server_to_server() -> None:
    # Given a client stream opened on Prosody's s2s port
    dialog = run(PROSODY_S2S)
    # Then the namespace mismatch is the failure, before any features are read
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == (
        "the server answered with a jabber:server stream; this dialog opened jabber:client"
    )


@pytest.mark.parametrize("piece", [None, 1])
def test_prosody_stream_error(piece: int | None) -> None:
    dialog = run(PROSODY_HOST_UNKNOWN, piece=piece, dialog=XmppStartTls(domain="unknown.example"))
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == (
        "stream error host-unknown: This server does not serve unknown.example"
    )
    assert dialog.outcome.starttls_offered is None


def test_failure_instead_of_proceed() -> None:
    dialog = run(PROSODY_PLAIN, FAILURE)
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == (
        "the server answered <starttls/> with <failure/> (RFC 6120 5.4.2.2)"
    )
    assert dialog.outcome.starttls_offered is True


def test_no_starttls_in_the_features() -> None:
    features = HEADER + (
        b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
        b"<mechanism>PLAIN</mechanism></mechanisms>"
        b"<auth xmlns='http://jabber.org/features/iq-auth'/></stream:features>"
    )
    dialog = run(features)
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == "server does not offer STARTTLS"
    assert dialog.outcome.starttls_offered is False
    assert dialog.outcome.plaintext_auth_offered == ("PLAIN", "iq-auth")
    assert dialog.bytes_to_send() == b""


def test_the_long_form_of_proceed_and_whitespace_keepalives() -> None:
    dialog = run(
        PROSODY_REQUIRED + b"\n \n",
        b"\n<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'></proceed>",
    )
    assert dialog.status is Status.READY


@pytest.mark.parametrize(
    "after",
    [b"<message/>", b" ", b"\x16\x03\x01"],
)
def test_bytes_after_proceed_are_injection(after: bytes) -> None:
    dialog = run(PROSODY_REQUIRED, PROSODY_PROCEED + after)
    assert dialog.status is Status.FAILED
    assert (dialog.outcome.failure or "").startswith(
        f"{len(after)} bytes after <proceed/>, before the TLS handshake"
    )


def test_a_quoted_angle_bracket_does_not_hide_injected_bytes() -> None:
    proceed = b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls' x='>'/>"
    dialog = run(PROSODY_REQUIRED, proceed + b"AB")
    assert (dialog.outcome.failure or "").startswith("2 bytes after <proceed/>")
    assert run(PROSODY_REQUIRED, proceed).status is Status.READY


def test_anything_but_proceed_after_starttls() -> None:
    dialog = run(PROSODY_REQUIRED, b"<b/>")
    assert dialog.outcome.failure == "unexpected {jabber:client}b while waiting for <proceed/>"


def test_proceed_before_we_asked() -> None:
    dialog = XmppStartTls(domain="localhost")
    dialog.bytes_to_send()
    dialog.receive_data(PROSODY_REQUIRED + PROSODY_PROCEED)
    assert dialog.status is Status.FAILED
    assert dialog.outcome.failure == "the server sent <proceed/> before we asked for STARTTLS"


@pytest.mark.parametrize(
    ("reply", "failure"),
    [
        (
            b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            b"xmlns:stream='http://etherx.jabber.org/streams' from='old.example'>",
            "no version in the stream header: a server before XMPP 1.0",
        ),
        (
            b"<stream:stream xmlns='jabber:client' version='0.9' "
            b"xmlns:stream='http://etherx.jabber.org/streams'>",
            "version '0.9' in the stream header",
        ),
        (
            b"<stream:stream version='1.0' xmlns:stream='http://etherx.jabber.org/streams'>",
            "declares no content namespace",
        ),
        (b"<html><body>", "the server's first element is html, not <stream:stream>"),
        (b"HTTP/1.1 400 Bad Request\r\n", "not a well-formed XML stream: not well-formed"),
        (
            b"<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY lol 'lol'>]>",
            "the server sent a DTD",
        ),
        (HEADER + b"<!-- hello -->", "an XML comment"),
        (HEADER + b"<?php echo 1; ?>", "a processing instruction"),
        (HEADER + b"&lol;", "not a well-formed XML stream: undefined entity"),
        (HEADER + b"hello", "text between stream elements: 'hello'"),
        (HEADER + b"<message/>", "unexpected {jabber:client}message while waiting for stream"),
        (HEADER + b"</stream:stream>", "the server closed the stream before STARTTLS"),
        (
            HEADER + b"<stream:features><a/></stream:features>",
            "server does not offer STARTTLS",
        ),
        (
            HEADER + b"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            b"</stream:error>",
            "stream error conflict",
        ),
        (HEADER + b"<stream:error></stream:error>", "stream error (no condition)"),
        (
            HEADER
            + b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
            + b"<mechanism>PL<b/>AIN</mechanism>",
            "an element ({urn:ietf:params:xml:ns:xmpp-sasl}b) inside text-only content",
        ),
        (HEADER + b"\xff\xfe", "not a well-formed XML stream"),
    ],
)
def test_refused_streams(reply: bytes, failure: str) -> None:
    dialog = run(reply)
    assert dialog.status is Status.FAILED
    assert failure in (dialog.outcome.failure or "")


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    entities = "".join(f"<!ENTITY lol{i} '{f'&lol{i - 1};' * 10}'>" for i in range(1, 10))
    bomb = (
        f"<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY lol0 'lol'>{entities}]>"
        "<stream:stream>&lol9;"
    ).encode()
    dialog = run(bomb)
    assert dialog.outcome.failure == "the server sent a DTD, which an XML stream must not contain"


def test_depth_is_bounded() -> None:
    dialog = run(HEADER + b"<stream:features>" + b"<a>" * MAX_DEPTH)
    assert dialog.outcome.failure == f"elements nested more than {MAX_DEPTH} deep"


def test_element_count_is_bounded() -> None:
    dialog = run(HEADER + b"<stream:features>" + b"<a/>" * MAX_ELEMENTS)
    assert dialog.outcome.failure == (
        f"more than {MAX_ELEMENTS} elements before STARTTLS could start"
    )


def test_text_is_bounded() -> None:
    features = (
        HEADER + b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
        b"<mechanism>" + b"A" * (MAX_TEXT + 1)
    )
    dialog = run(features, piece=1000)
    assert dialog.outcome.failure == f"more than {MAX_TEXT} characters of text in one element"


def test_the_byte_budget_holds() -> None:
    dialog = XmppStartTls(domain="localhost")
    dialog.bytes_to_send()
    dialog.receive_data(HEADER)
    for _ in range(MAX_DIALOG_BYTES // 1000 + 1):
        dialog.receive_data(b" " * 1000)  # whitespace keepalives, forever
        assert dialog.buffered <= MAX_DIALOG_BYTES
    assert (
        dialog.outcome.failure == f"more than {MAX_DIALOG_BYTES} bytes before STARTTLS could start"
    )


@pytest.mark.parametrize(
    ("received", "failure"),
    [
        (b"", "connection closed by the server before its stream header"),
        (HEADER, "connection closed by the server before its stream features"),
        (HEADER + b"<stream:features>", "before the end of its stream features"),
    ],
)
def test_closed_connections(received: bytes, failure: str) -> None:
    dialog = run(received)
    dialog.connection_closed()
    assert failure in (dialog.outcome.failure or "")


def test_closed_while_waiting_for_proceed() -> None:
    dialog = run(PROSODY_REQUIRED, b"")
    dialog.connection_closed()
    assert (
        dialog.outcome.failure == "connection closed by the server before its answer to <starttls/>"
    )


def test_input_after_the_end_is_ignored() -> None:
    dialog = run(PROSODY_REQUIRED, PROSODY_PROCEED)
    dialog.receive_data(b"\x16\x03\x03")
    dialog.connection_closed()
    assert dialog.status is Status.READY
    assert dialog.bytes_to_send() == b""


@settings(max_examples=300)
@given(st.binary(max_size=3000), st.integers(1, 64))
def test_arbitrary_bytes_never_raise_and_stay_bounded(data: bytes, piece: int) -> None:
    dialog = XmppStartTls(domain="localhost")
    dialog.bytes_to_send()
    for chunk in chunks(data, piece):
        dialog.receive_data(chunk)
        assert dialog.buffered <= MAX_DIALOG_BYTES
    dialog.connection_closed()
    assert dialog.status is not Status.RUNNING


_PIECES = st.sampled_from(
    [
        HEADER,
        b"<stream:features>",
        b"</stream:features>",
        b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>",
        b"<required/>",
        b"</starttls>",
        b"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>",
        b"<mechanism>PLAIN</mechanism>",
        b"</mechanisms>",
        PROSODY_PROCEED,
        FAILURE,
        b"<stream:error>",
        b"</stream:error>",
        b"</stream:stream>",
        b" ",
        b"<x a='>'>",
        b"</x>",
    ]
)


@given(st.lists(_PIECES, max_size=20), st.integers(1, 40))
def test_stream_shaped_input_never_raises(pieces: list[bytes], piece: int) -> None:
    # Given plausible stream fragments in any order, fed in any sizes, with our
    # <starttls/> sent whenever the dialog has it ready
    dialog = XmppStartTls(domain="localhost")
    dialog.bytes_to_send()
    for chunk in chunks(b"".join(pieces), piece):
        dialog.receive_data(chunk)
        dialog.bytes_to_send()
    dialog.connection_closed()
    # Then it ends READY only with an answer to a <starttls/> it sent
    assert dialog.status is not Status.RUNNING
    if dialog.status is Status.READY:
        assert ("C", STARTTLS_COMMAND) in dialog.outcome.transcript
