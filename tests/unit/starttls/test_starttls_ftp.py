"""FTP AUTH TLS dialog against what vsftpd and ProFTPD really send; FtpCommand; PASV/EPSV."""

from __future__ import annotations

import pytest
from line_dialog_helpers import DialogSuite, assert_failed, byte_by_byte, converse

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls.base import Status
from protoaudit.proto.starttls.ftp import (
    FtpCommand,
    FtpStartTls,
    State,
    parse_epsv,
    parse_pasv,
)
from protoaudit.proto.starttls.lines import NOT_OFFERED, Reply

VSFTPD_FEAT = (
    b"211-Features:\r\n AUTH SSL\r\n AUTH TLS\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n PBSZ\r\n"
    b" PROT\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n"
)
GO_AHEAD = b"234 Proceed with negotiation.\r\n"


class TestVsftpd(DialogSuite):
    script = (
        (b"", b"220 (vsFTPd 3.0.3)\r\n"),
        (b"FEAT\r\n", VSFTPD_FEAT),
        (b"AUTH TLS\r\n", GO_AHEAD),
    )
    banner = "220 (vsFTPd 3.0.3)"
    capabilities = (
        "AUTH SSL",
        "AUTH TLS",
        "EPRT",
        "EPSV",
        "MDTM",
        "PASV",
        "PBSZ",
        "PROT",
        "REST STREAM",
        "SIZE",
        "TVFS",
        "UTF8",
    )
    offered = True
    plaintext_auth = ()
    endless = b" MDTM\r\n"
    endless_after = 1
    endless_prefix = b"211-Features:\r\n"

    def make(self) -> FtpStartTls:
        return FtpStartTls()


class TestProftpdMultiLineGreeting(DialogSuite):
    script = (
        (b"", b"220-Welcome to the lab\r\n220 ProFTPD Server (Debian) [::ffff:127.0.0.1]\r\n"),
        (
            b"FEAT\r\n",
            b"211-Features:\r\n AUTH TLS\r\n CCC\r\n EPSV\r\n LANG en-US*\r\n"
            b" MLST modify*;perm*;size*;type*;unique*;\r\n PBSZ\r\n PROT\r\n SSCN\r\n211 End\r\n",
        ),
        (b"AUTH TLS\r\n", b"234 AUTH TLS successful\r\n"),
    )
    banner = "220-Welcome to the lab\n220 ProFTPD Server (Debian) [::ffff:127.0.0.1]"
    capabilities = (
        "AUTH TLS",
        "CCC",
        "EPSV",
        "LANG en-US*",
        "MLST modify*;perm*;size*;type*;unique*;",
        "PBSZ",
        "PROT",
        "SSCN",
    )
    offered = True
    plaintext_auth = ()
    endless = b"220-and more\r\n"
    endless_after = 0

    def make(self) -> FtpStartTls:
        return FtpStartTls()


def test_the_states_follow_the_dialog() -> None:
    dialog = FtpStartTls()
    states = [dialog.state]
    for _, answer in TestVsftpd.script:
        dialog.receive_data(answer)
        states.append(dialog.state)
    assert states == [State.GREETING, State.FEAT, State.AUTH, State.READY]


def test_a_120_greeting_is_waited_out() -> None:
    dialog = FtpStartTls()
    dialog.receive_data(b"120 Service ready in 1 minutes.\r\n")
    assert (dialog.status, dialog.bytes_to_send()) == (Status.RUNNING, b"")
    dialog.receive_data(b"220 ready\r\n")
    assert dialog.bytes_to_send() == b"FEAT\r\n"


@pytest.mark.parametrize(
    "answer", [b"500 Unknown command.\r\n", b"502 Command not implemented\r\n"]
)
def test_without_feat_auth_tls_is_tried_blind(answer: bytes) -> None:
    dialog = FtpStartTls()
    converse(dialog, ((b"", b"220 ready\r\n"), (b"FEAT\r\n", answer), (b"AUTH TLS\r\n", GO_AHEAD)))
    assert dialog.status is Status.READY
    assert dialog.outcome.starttls_offered is None


def test_feat_without_auth_tls_gets_quit() -> None:
    dialog = FtpStartTls()
    converse(
        dialog,
        ((b"", b"220 ready\r\n"), (b"FEAT\r\n", b"211-Features:\r\n MDTM\r\n SIZE\r\n211 End\r\n")),
    )
    assert_failed(dialog, NOT_OFFERED)
    assert dialog.bytes_to_send() == b"QUIT\r\n"
    assert dialog.outcome.capabilities_before == ("MDTM", "SIZE")


@pytest.mark.parametrize(
    ("turns", "answer", "failure"),
    [
        (0, b"421 Too many users\r\n", "greeting refused: 421 Too many users"),
        (
            1,
            b"530 Please login with USER and PASS.\r\n",
            "FEAT refused: 530 Please login with USER and PASS.",
        ),
        (
            2,
            b"534 Request denied for policy reasons.\r\n",
            "STARTTLS refused: 534 Request denied for policy reasons.",
        ),
        (2, b"334 ADAT=base64\r\n", "unexpected STARTTLS reply: 334 ADAT=base64"),
    ],
)
def test_a_refusal_is_quoted_and_answered_with_quit(
    turns: int, answer: bytes, failure: str
) -> None:
    dialog = FtpStartTls()
    converse(dialog, TestVsftpd.script[:turns])
    dialog.bytes_to_send()
    dialog.receive_data(answer)
    assert_failed(dialog, failure)
    assert dialog.bytes_to_send() == b"QUIT\r\n"


def test_ask_capabilities_false_skips_feat() -> None:
    dialog = FtpStartTls(ask_capabilities=False)
    converse(dialog, ((b"", b"220 ready\r\n"), (b"AUTH TLS\r\n", GO_AHEAD)))
    assert dialog.status is Status.READY


def test_auth_with_several_mechanisms_on_one_line() -> None:
    dialog = FtpStartTls()
    converse(
        dialog,
        (
            (b"", b"220 ready\r\n"),
            (b"FEAT\r\n", b"211-Extensions:\r\n AUTH SSL;TLS\r\n211 END\r\n"),
        ),
    )
    assert dialog.outcome.starttls_offered is True
    assert dialog.bytes_to_send() == b"AUTH TLS\r\n"


def test_hanging_up_names_what_was_awaited() -> None:
    dialog = FtpStartTls()
    converse(dialog, TestVsftpd.script[:2])
    dialog.connection_closed()
    assert_failed(dialog, "connection closed by the server while waiting for the reply to AUTH TLS")


# One command at a time over the TLS connection.


@pytest.mark.parametrize(
    ("command", "answer", "code"),
    [("PBSZ 0", b"200 PBSZ set to 0.\r\n", 200), ("PROT P", b"200 PROT now Private.\r\n", 200)],
)
def test_a_command_and_its_reply(command: str, answer: bytes, code: int) -> None:
    for split in (None, byte_by_byte):
        exchange = FtpCommand(command)
        assert exchange.bytes_to_send() == command.encode() + b"\r\n"
        assert exchange.bytes_to_send() == b""
        for piece in [answer] if split is None else split(answer):
            exchange.receive_data(piece)
        assert exchange.status is Status.READY
        assert exchange.reply == Reply(code, (answer[4:-2].decode(),))
        assert exchange.failure is None


def test_preliminary_replies_come_before_the_final_one() -> None:
    exchange = FtpCommand("LIST")
    exchange.receive_data(b"150 Here comes the directory listing.\r\n")
    assert exchange.status is Status.RUNNING
    exchange.receive_data(b"226-Directory send OK.\r\n226 Bye\r\n")
    assert exchange.preliminary == (Reply(150, ("Here comes the directory listing.",)),)
    assert exchange.reply == Reply(226, ("Directory send OK.", "Bye"))


def test_a_command_fails_on_bytes_after_its_reply_and_on_hang_up() -> None:
    exchange = FtpCommand("PROT P")
    exchange.receive_data(b"200 ok\r\n200 again\r\n")
    assert (exchange.status, exchange.failure) == (
        Status.FAILED,
        "server sent bytes after its reply to PROT P",
    )
    exchange = FtpCommand("PBSZ 0")
    exchange.receive_data(b"200 ok\r\n")
    exchange.receive_data(b"x")
    assert exchange.status is Status.FAILED
    exchange = FtpCommand("PBSZ 0")
    exchange.receive_data(b"20")
    exchange.connection_closed()
    assert (
        exchange.failure == "connection closed by the server while waiting for the reply to PBSZ 0"
    )


def test_a_command_fails_on_garbage_and_floods() -> None:
    exchange = FtpCommand("PBSZ 0")
    exchange.receive_data(b"hello\r\n")
    assert exchange.failure == "not a valid FTP reply: 'hello'"
    exchange = FtpCommand("PBSZ 0")
    exchange.receive_data(b"200-x\r\n" + b" more\r\n" * 300)
    assert exchange.failure == "more than 200 lines in one reply"
    exchange.receive_data(b"200 ok\r\n")
    assert exchange.status is Status.FAILED


@pytest.mark.parametrize("command", ["", "PROT P\r\nDELE x", "CWD caf\u00e9"])
def test_a_command_that_does_not_fit_a_line_is_our_error(command: str) -> None:
    with pytest.raises(ValueError, match="command"):
        FtpCommand(command)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Entering Passive Mode (192,168,1,2,19,137).", ("192.168.1.2", 5001)),
        ("=127,0,0,1,255,255", ("127.0.0.1", 65535)),
    ],
)
def test_parse_pasv(text: str, address: tuple[str, int]) -> None:
    assert parse_pasv(Reply(227, (text,))) == address


@pytest.mark.parametrize(
    "reply",
    [
        Reply(227, ("Entering Passive Mode (192,168,1,256,19,137)",)),
        Reply(227, ("Entering Passive Mode",)),
        Reply(200, ("(192,168,1,2,19,137)",)),
    ],
)
def test_parse_pasv_refuses(reply: Reply) -> None:
    with pytest.raises(DecodeError, match="not a PASV reply"):
        parse_pasv(reply)


@pytest.mark.parametrize(
    ("text", "port"),
    [("Entering Extended Passive Mode (|||6446|)", 6446), ("ok (!!!65535!)", 65535)],
)
def test_parse_epsv(text: str, port: int) -> None:
    assert parse_epsv(Reply(229, (text,))) == port


@pytest.mark.parametrize(
    "reply",
    [
        Reply(229, ("(|||0|)",)),
        Reply(229, ("(|||65536|)",)),
        Reply(229, ("(|!|6446|)",)),
        Reply(227, ("(|||6446|)",)),
    ],
)
def test_parse_epsv_refuses(reply: Reply) -> None:
    with pytest.raises(DecodeError, match="not an EPSV reply"):
        parse_epsv(reply)
