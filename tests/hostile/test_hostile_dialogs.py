"""STARTTLS services that misbehave before TLS, audited end to end through the scanner.

The issue's list of bad plaintext peers: endless continuation lines, a 1 MB
greeting, a greeting and then nothing, a reply code the protocol does not
have, a server that hangs up right after agreeing to STARTTLS, and a banner
full of terminal escapes. Each is a real listener on 127.0.0.1; the audit
must end within a bound, record what happened as observations (never an
internal error), sanitise what it shows, and, in a batch, keep the other
targets' results.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from hostile_helpers import (
    Audit,
    Handler,
    Peer,
    assert_clean_exit,
    run_cli,
    send,
    stall_bound,
    stall_until_hangup,
)

import protoaudit
from protoaudit.observations import ConnectionFailure, StartTlsDialog
from protoaudit.scan import AuditOptions, audit_targets
from protoaudit.targets import parse_target

Serve = Callable[[Handler], Peer]
TIMEOUT = 0.5


def audit(target: str) -> Audit:
    started = time.monotonic()
    result = asyncio.run(protoaudit.audit(target, timeout=TIMEOUT))
    return Audit(result, time.monotonic() - started)


def failed_dialog(seen: Audit) -> tuple[StartTlsDialog, ConnectionFailure]:
    """The one dialog, failed, and the one connection failure that says why."""
    seen.assert_no_internal_error()
    (dialog,) = seen.of(StartTlsDialog)
    assert not dialog.upgraded
    (failure,) = seen.of(ConnectionFailure)
    assert failure.stage == "starttls"
    return dialog, failure


def smtp_then(after_greeting: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]):
    """An SMTP server that greets, reads EHLO and then does `after_greeting`."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await send(writer, b"220 hostile ESMTP\r\n")
        if await reader.readline():
            await after_greeting(reader, writer)  # type: ignore[misc]

    return handler


async def endless_continuation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for _ in range(200_000):  # 250- lines without a last line, far past every bound
        if writer.is_closing():
            return
        writer.write(b"250-PIPELINING\r\n" * 64)
        try:
            await writer.drain()
        except OSError:
            return


def test_endless_continuation_lines_end_at_the_line_bound(serve: Serve) -> None:
    peer = serve(smtp_then(endless_continuation))

    seen = audit(f"smtp://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    dialog, failure = failed_dialog(seen)
    assert "lines" in failure.detail or "bytes" in failure.detail, failure.detail
    assert len(dialog.capabilities_before) <= 1000


async def huge_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    del reader
    try:
        writer.write(b"220 " + b"A" * (1 << 20) + b"\r\n")
        await writer.drain()
    except OSError:
        return


def test_a_1_mb_greeting_ends_at_the_line_bound(serve: Serve) -> None:
    peer = serve(huge_greeting)

    seen = audit(f"smtp://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    dialog, failure = failed_dialog(seen)
    assert len(dialog.banner) <= 1024
    assert "line" in failure.detail or "bytes" in failure.detail, failure.detail


@pytest.mark.parametrize("scheme", ["smtp", "imap", "pop3", "ftp"])
def test_a_greeting_and_then_nothing_is_one_timeout(serve: Serve, scheme: str) -> None:
    greetings = {
        "smtp": b"220 quiet ESMTP\r\n",
        "imap": b"* OK quiet\r\n",
        "pop3": b"+OK quiet\r\n",
        "ftp": b"220 quiet FTP\r\n",
    }

    async def greet_then_stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await send(writer, greetings[scheme])
        await stall_until_hangup(reader)

    peer = serve(greet_then_stall)

    seen = audit(f"{scheme}://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    dialog, failure = failed_dialog(seen)
    assert failure.reason == "timeout", failure
    assert dialog.banner == greetings[scheme].decode().strip()
    # Whether STARTTLS was on offer is unknown: a failed connection, not a failed upgrade
    ids = {finding.id for finding in seen.result.findings}
    assert "tls.connection.failed" in ids
    assert "starttls.failed" not in ids or dialog.starttls_offered


async def odd_reply_code(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    del reader
    await send(writer, b"999 what is this\r\n")


def test_a_reply_code_smtp_does_not_have_fails_the_dialog(serve: Serve) -> None:
    peer = serve(smtp_then(odd_reply_code))

    seen = audit(f"smtp://127.0.0.1:{peer.port}")

    _, failure = failed_dialog(seen)
    assert "999" in failure.detail


async def agree_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await send(writer, b"250-hostile\r\n250 STARTTLS\r\n")
    if await reader.readline():
        await send(writer, b"220 2.0.0 Go ahead\r\n")
    writer.close()


def test_a_server_that_closes_after_starttls_is_a_failed_upgrade(serve: Serve) -> None:
    peer = serve(smtp_then(agree_then_close))

    seen = audit(f"smtp://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    seen.assert_no_internal_error()
    (dialog,) = seen.of(StartTlsDialog)
    assert dialog.starttls_offered is True
    assert "starttls.failed" in {finding.id for finding in seen.result.findings}


ESCAPES = b"\x1b[2J\x1b]0;owned\x07\x1b[31mred\x9b1m\r\x00"


async def escaping_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await send(writer, b"220 evil" + ESCAPES + b" ESMTP\r\n")
    while line := await reader.readline():
        if line.upper().startswith(b"EHLO"):
            await send(writer, b"250-evil" + ESCAPES + b"\r\n250 SIZE" + ESCAPES + b"\r\n")
        else:
            await send(writer, b"502 no\r\n")


def unsafe(character: str) -> bool:
    code = ord(character)
    return (code < 0x20 and character != "\n") or 0x7F <= code < 0xA0


def test_banners_and_capabilities_are_sanitised_on_the_terminal(serve: Serve) -> None:
    peer = serve(escaping_banner)

    run = run_cli(f"smtp://127.0.0.1:{peer.port}", "--timeout", str(TIMEOUT))

    assert_clean_exit(run)
    assert "evil" in run.stdout
    # Shown escaped (\x1b as four characters), never as the bytes a terminal acts on
    assert not any(unsafe(character) for character in run.stdout), run.stdout
    assert "\\x1b[2J" in run.stdout


def test_a_batch_keeps_the_good_target_when_one_misbehaves(serve: Serve) -> None:
    bad = serve(smtp_then(endless_continuation))
    quiet = serve(smtp_then(lambda reader, _writer: stall_until_hangup(reader)))
    notls = serve(escaping_banner)
    texts = [f"smtp://127.0.0.1:{peer.port}" for peer in (bad, quiet, notls)]

    async def run() -> list[str]:
        targets = [parse_target(text) for text in texts]
        options = AuditOptions(timeout=TIMEOUT)
        return [result.target.original async for result in audit_targets(targets, options)]

    started = time.monotonic()
    seen = asyncio.run(run())

    assert time.monotonic() - started < stall_bound(TIMEOUT)
    assert sorted(seen) == sorted(texts)
