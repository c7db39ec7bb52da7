"""IRC STARTTLS dialog (IRCv3 tls: 670 / 691) against what InspIRCd and UnrealIRCd send."""

from __future__ import annotations

import pytest
from line_dialog_helpers import DialogSuite, assert_failed, converse

from protoaudit.proto.starttls.base import Status
from protoaudit.proto.starttls.irc import IrcStartTls, State
from protoaudit.proto.starttls.lines import NOT_OFFERED

HELLO = b"CAP LS 302\r\nSTARTTLS\r\n"
NOTICES = (
    b":irc.example.net NOTICE * :*** Looking up your hostname...\r\n"
    b":irc.example.net NOTICE * :*** Could not resolve your hostname; using your IP instead.\r\n"
)
CAPS = (
    b":irc.example.net CAP * LS :cap-notify multi-prefix sasl=PLAIN,EXTERNAL tls "
    b"userhost-in-names\r\n"
)
GO_AHEAD = b":irc.example.net 670 * :STARTTLS successful, go ahead with TLS handshake\r\n"


class TestInspircd(DialogSuite):
    script = ((HELLO, NOTICES + CAPS), (b"", GO_AHEAD))
    banner = ":irc.example.net NOTICE * :*** Looking up your hostname..."
    capabilities = (
        "cap-notify",
        "multi-prefix",
        "sasl=PLAIN,EXTERNAL",
        "tls",
        "userhost-in-names",
    )
    offered = True
    plaintext_auth = ("PLAIN",)
    endless = b":irc.example.net NOTICE * :*** still looking\r\n"
    endless_after = 0
    garbage = b":irc.example.net\r\n"

    def make(self) -> IrcStartTls:
        return IrcStartTls()


def test_the_state_is_one_wait() -> None:
    dialog = IrcStartTls()
    assert dialog.state is State.STARTTLS
    converse(dialog, TestInspircd.script)
    assert dialog.state is State.READY


def test_cap_ls_302_over_several_lines_and_message_tags() -> None:
    dialog = IrcStartTls()
    converse(
        dialog,
        (
            (
                HELLO,
                b":srv CAP * LS * :multi-prefix sasl\r\n:srv CAP * LS :tls\r\n"
                b"@time=2024-01-01T00:00:00.000Z :srv 670 * :go ahead\r\n",
            ),
        ),
    )
    assert dialog.status is Status.READY
    assert dialog.outcome.capabilities_before == ("multi-prefix", "sasl", "tls")
    assert dialog.outcome.plaintext_auth_offered == ()


def test_without_cap_ls_only_starttls_is_sent() -> None:
    dialog = IrcStartTls(cap_ls=False)
    converse(dialog, ((b"STARTTLS\r\n", GO_AHEAD),))
    assert dialog.status is Status.READY
    assert dialog.outcome.starttls_offered is None


def test_ping_is_answered_while_waiting() -> None:
    dialog = IrcStartTls(cap_ls=False)
    dialog.bytes_to_send()
    dialog.receive_data(b"PING :3141592\r\n")
    assert dialog.bytes_to_send() == b"PONG :3141592\r\n"
    dialog.receive_data(b"\r\n" + GO_AHEAD)
    assert dialog.status is Status.READY


@pytest.mark.parametrize(
    ("answer", "failure", "sent"),
    [
        (
            b":srv 691 * :STARTTLS failure\r\n",
            "STARTTLS refused: :srv 691 * :STARTTLS failure",
            b"QUIT\r\n",
        ),
        (b":srv 421 * STARTTLS :Unknown command\r\n", NOT_OFFERED, b"QUIT\r\n"),
        (b":srv 451 * :You have not registered\r\n", NOT_OFFERED, b"QUIT\r\n"),
        (
            b"ERROR :Closing link: (unknown@192.0.2.7) [Registration timeout]\r\n",
            "server sent ERROR: ERROR :Closing link: (unknown@192.0.2.7) [Registration timeout]",
            b"",
        ),
    ],
)
def test_a_refusal_is_recorded(answer: bytes, failure: str, sent: bytes) -> None:
    dialog = IrcStartTls()
    dialog.bytes_to_send()
    dialog.receive_data(answer)
    assert_failed(dialog, failure)
    assert dialog.bytes_to_send() == sent


def test_unknown_cap_is_not_a_refusal_of_starttls() -> None:
    dialog = IrcStartTls()
    dialog.bytes_to_send()
    dialog.receive_data(b":srv 421 * CAP :Unknown command\r\n" + GO_AHEAD)
    assert dialog.status is Status.READY
    assert dialog.outcome.starttls_offered is None


def test_caps_without_tls_say_not_offered() -> None:
    dialog = IrcStartTls()
    dialog.bytes_to_send()
    dialog.receive_data(b":srv CAP * LS :multi-prefix\r\n")
    assert dialog.outcome.starttls_offered is False
    dialog.receive_data(b":srv 421 * STARTTLS :Unknown command\r\n")
    assert_failed(dialog, NOT_OFFERED)


def test_hanging_up_names_what_was_awaited() -> None:
    dialog = IrcStartTls()
    dialog.receive_data(NOTICES)
    dialog.connection_closed()
    assert_failed(dialog, "connection closed by the server while waiting for the reply to STARTTLS")
