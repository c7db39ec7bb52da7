"""Something other than TLS on the port: noise, an HTTP server, an SSH server.

Each must end in "no TLS on this port", with what the server sent instead
quoted (sanitised) in the detail.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import pytest
from hostile_helpers import (
    TIMEOUT,
    Audit,
    Handler,
    Peer,
    assert_clean_exit,
    audit,
    is_safe_text,
    run_cli,
    send,
    stall_bound,
)

import protoaudit
from protoaudit.observations import ServiceDetected, SshIdentification
from protoaudit.sanitize import quote_bytes

Serve = Callable[[Handler], Peer]

# A hostile peer must never make the scanner hang: fail fast if it does.
pytestmark = pytest.mark.timeout(30)

HTTP_400 = (
    b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2\r\n"
# What a terminal would act on: retitle, clear the screen, reverse the text.
ESCAPES = b"\x1b]0;pwned\x07\x1b[2J\xe2\x80\xaeevil"


def _answers(reply: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # whatever the client said first
        await send(writer, reply)

    return handler


async def _ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # An SSH server speaks first, then rejects a client that does not answer in kind.
    await send(writer, SSH_BANNER)
    await reader.read(1)
    await send(writer, b"Invalid SSH identification string.\r\n")


@pytest.mark.parametrize(
    "seed",
    [
        2,  # starts 0x73: not a content type, refused at the first byte
        0,  # starts 0xcd: an SSL 2.0 header announcing more than follows
        5,  # starts 0x45: not a content type either
    ],
)
def test_random_bytes(serve: Serve, seed: int) -> None:
    noise = random.Random(seed).randbytes(100)
    peer = serve(_answers(noise))
    result = audit(peer.port)
    result.assert_no_internal_error()
    detail = result.no_tls.detail
    assert f"server sent {quote_bytes(noise)}" in detail
    assert is_safe_text(detail), detail
    assert result.elapsed < stall_bound(3.0)  # no hang; the detail above says how it stopped


def test_http_server_on_the_tls_port(serve: Serve) -> None:
    peer = serve(_answers(HTTP_400))
    result = audit(peer.port)
    # 'H' (72) is no TLS content type; the first 40 bytes are quoted, escaped.
    assert result.no_tls.detail == (
        "server sent 'HTTP/1.1 400 Bad Request\\r\\nServer: nginx\\r'\u2026"
        " (not TLS: unknown content type 72)"
    )
    assert result.result.grade is None


def test_ssh_server_named_as_tls(serve: Serve) -> None:
    peer = serve(_ssh)
    started = time.monotonic()
    result = Audit(
        asyncio.run(protoaudit.audit(f"tls://127.0.0.1:{peer.port}", timeout=TIMEOUT)),
        time.monotonic() - started,
    )
    detail = result.no_tls.detail
    assert detail.startswith("server sent 'SSH-2.0-OpenSSH_9.2\\r\\n"), detail
    assert "(not TLS: unknown content type 83)" in detail  # 'S'


def test_ssh_server_on_a_bare_port_gets_the_ssh_audit(serve: Serve) -> None:
    # Given a bare host:port whose server greets with an SSH identification
    peer = serve(_ssh)
    result = audit(peer.port)
    # Then its greeting names SSH, and the SSH audit records what this one did
    (detected,) = result.of(ServiceDetected)
    assert detected.service == "ssh"
    (identification,) = result.of(SshIdentification)
    assert identification.software == "OpenSSH_9.2"
    result.assert_no_internal_error()


def test_http_server_from_the_cli(serve: Serve) -> None:
    peer = serve(_answers(HTTP_400))
    run = run_cli(f"127.0.0.1:{peer.port}", "--json", "-", "--timeout", str(TIMEOUT))
    assert_clean_exit(run, codes=(0,))
    (target,) = run.json()["targets"]
    (failure,) = [o for o in target["observations"] if o["kind"] == "connection_failure"]
    assert failure["reason"] == "no-tls"
    assert "server sent 'HTTP/1.1 400 Bad Request" in failure["detail"]
    assert target["findings"], "an unauditable target is a finding of its own"


def test_terminal_escapes_instead_of_tls(serve: Serve) -> None:
    # Given a server that answers with bytes a terminal would act on
    peer = serve(_answers(ESCAPES))
    # When the CLI prints its report to the terminal (captured here)
    run = run_cli(f"127.0.0.1:{peer.port}", "--timeout", str(TIMEOUT))
    # Then the report shows them, escaped, and contains none of them
    assert_clean_exit(run, codes=(0,))
    assert "\x1b" not in run.stdout
    assert "\u202e" not in run.stdout
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\xe2\\x80\\xaeevil" in run.stdout
