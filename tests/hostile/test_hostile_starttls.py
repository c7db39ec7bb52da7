"""STARTTLS peers that misbehave after the upgrade: the probes that talk over TLS must hold.

Each peer speaks real TLS (Python's ssl, a throwaway self-signed certificate)
once the plaintext dialog agreed, and is wrong in one way:

- an FTP server whose PASV names another host than the control connection's:
  that host must never be contacted (a listener there counts connections);
- an FTP server that agrees to AUTH TLS and then never starts TLS;
- an SMTP server that floods after STARTTLS, in clear or over TLS.

Every audit must end within a bound, record what went wrong as observations,
and have no internal error.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_helpers import Audit, Handler, Peer, send, stall_bound, stall_until_hangup

import protoaudit
from pki_helpers import make_certificate, make_key, write_pem
from protoaudit.observations import (
    FtpFacts,
    ProbeFailure,
    StartTlsDialog,
    StartTlsInjection,
)

Serve = Callable[[Handler], Peer]
TIMEOUT = 0.5
FEATURES = b"211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n EPSV\r\n211 End\r\n"
LISTING = b"hello.txt\r\nworld.txt\r\n"


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for localhost."""
    directory: Path = tmp_path_factory.mktemp("hostile-starttls")
    key = make_key()
    now = dt.datetime.now(dt.UTC)
    certificate = make_certificate(
        "localhost",
        key,
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=30),
        san_dns=("localhost",),
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(write_pem(directory / "cert.pem", certificate, key))
    return context


def audit(target: str) -> Audit:
    started = time.monotonic()
    result = asyncio.run(protoaudit.audit(target, timeout=TIMEOUT))
    return Audit(result, time.monotonic() - started)


async def upgrade(writer: asyncio.StreamWriter, context: ssl.SSLContext) -> bool:
    """Start TLS on this connection; False when the client's hello was not one we take.

    The audit's enumeration sends dozens of hellos Python's ssl refuses: expected.
    """
    try:
        await writer.start_tls(context, ssl_handshake_timeout=5)
    except (ssl.SSLError, OSError, TimeoutError):
        return False
    return True


# ---------------------------------------------------------------- FTP, PASV elsewhere


class PassiveElsewhere:
    """An FTP server whose 227 names 127.0.0.2; its data listener is on the control address.

    A listener on 127.0.0.2 at the same port counts connections: there must be none.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.data_connections: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        self.foreign_connections = 0
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[asyncio.Server] = []

    async def _listen(self) -> None:
        """Bind the data port on 127.0.0.1 and the same port on 127.0.0.2 (retrying on clashes)."""
        self.data_connections = asyncio.Queue()

        async def data(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.data_connections.put((reader, writer))

        async def foreign(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.foreign_connections += 1
            writer.close()

        for _ in range(20):
            control_side = await asyncio.start_server(data, "127.0.0.1", 0)
            port = control_side.sockets[0].getsockname()[1]
            try:
                elsewhere = await asyncio.start_server(foreign, "127.0.0.2", port)
            except OSError:
                control_side.close()
                continue
            self.port = port
            self._servers = [control_side, elsewhere]
            return
        raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._servers:
            await self._listen()
        await send(writer, b"220 hostile FTP\r\n")
        tls = False
        protect = False
        while line := await reader.readline():
            verb, _, argument = line.strip().partition(b" ")
            verb = verb.upper()
            if verb == b"FEAT":
                await send(writer, FEATURES)
            elif verb == b"AUTH" and not tls:
                await send(writer, b"234 Proceed with negotiation.\r\n")
                if not await upgrade(writer, self.context):
                    return
                tls = True
            elif verb == b"USER":
                reply = b"331 Password please.\r\n" if tls else b"530 TLS required.\r\n"
                await send(writer, reply)
            elif verb == b"PASS":
                await send(writer, b"230 Logged in.\r\n")
            elif verb in (b"PBSZ", b"TYPE", b"NOOP"):
                await send(writer, b"200 OK.\r\n")
            elif verb == b"PROT":
                protect = argument.upper() == b"P"
                await send(writer, b"200 PROT set.\r\n")
            elif verb == b"EPSV":
                await send(writer, b"502 EPSV not here.\r\n")
            elif verb == b"PASV":
                high, low = divmod(self.port, 256)
                await send(
                    writer, f"227 Entering Passive Mode (127,0,0,2,{high},{low})\r\n".encode()
                )
            elif verb == b"NLST":
                await self._listing(writer, protect=protect)
            elif verb == b"QUIT":
                await send(writer, b"221 Bye.\r\n")
                return
            else:
                await send(writer, b"502 Not here.\r\n")

    async def _listing(self, writer: asyncio.StreamWriter, *, protect: bool) -> None:
        try:
            _, data_writer = await asyncio.wait_for(self.data_connections.get(), 5)
        except TimeoutError:
            await send(writer, b"425 No data connection.\r\n")
            return
        await send(writer, b"150 Here it comes.\r\n")
        if not protect or await upgrade(data_writer, self.context):
            data_writer.write(LISTING)
            with contextlib.suppress(OSError, ssl.SSLError):
                await data_writer.drain()
        data_writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await data_writer.wait_closed()
        await send(writer, b"226 Done.\r\n")


def _loopback_alias_works() -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.2", 0))
        except OSError:
            return False
    return True


@pytest.mark.skipif(not _loopback_alias_works(), reason="127.0.0.2 is not usable here")
def test_a_pasv_reply_naming_another_host_is_never_followed(
    serve: Serve, tls_context: ssl.SSLContext
) -> None:
    # Given an FTP server whose PASV replies name 127.0.0.2
    server = PassiveElsewhere(tls_context)
    peer = serve(server.handler)

    # When it is audited as ftp://
    seen = audit(f"ftp://127.0.0.1:{peer.port}")

    # Then nothing connected to 127.0.0.2, and the listings came from the control address
    seen.assert_no_internal_error()
    assert server.foreign_connections == 0
    (facts,) = seen.of(FtpFacts)
    assert facts.passive_host_named == "127.0.0.2"
    assert facts.plaintext_login is False
    assert facts.anonymous_login is True
    assert facts.clear_data is True
    assert facts.data_channel_tls is True, facts.notes
    assert facts.listing == ("hello.txt", "world.txt")
    ids = {finding.id for finding in seen.result.findings}
    assert {"starttls.ftp_clear_data", "starttls.ftp_anonymous"} <= ids
    assert "starttls.ftp_plaintext_login" not in ids


# ---------------------------------------------------------------- FTP, no TLS after AUTH TLS


async def stall_after_auth_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await send(writer, b"220 hostile FTP\r\n")
    while line := await reader.readline():
        verb = line.strip().split(b" ", 1)[0].upper()
        if verb == b"FEAT":
            await send(writer, FEATURES)
        elif verb == b"USER":
            await send(writer, b"331 Password please.\r\n")
        elif verb == b"AUTH":
            await send(writer, b"234 Proceed with negotiation.\r\n")
            await stall_until_hangup(reader)  # and never a ServerHello
            return
        else:
            await send(writer, b"502 Not here.\r\n")


@pytest.mark.slow
def test_a_server_that_stalls_after_auth_tls_costs_one_timeout_per_connection(
    serve: Serve,
) -> None:
    peer = serve(stall_after_auth_tls)

    seen = audit(f"ftp://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    seen.assert_no_internal_error()
    (dialog,) = seen.of(StartTlsDialog)
    assert dialog.upgraded
    assert dialog.capabilities_after is None  # never reached TLS
    (injection,) = seen.of(StartTlsInjection)
    assert injection.vulnerable is None
    assert "handshake" in injection.detail
    (facts,) = seen.of(FtpFacts)
    assert facts.plaintext_login is True  # 331 before AUTH TLS: that much was seen
    assert facts.anonymous_login is None
    assert facts.data_channel_tls is None
    assert any(f.probe == "ftp" and f.reason == "timeout" for f in seen.of(ProbeFailure))


# ---------------------------------------------------------------- SMTP, a flood after STARTTLS


def smtp_flooding(context: ssl.SSLContext, *, over_tls: bool) -> Handler:
    """SMTP that, after its STARTTLS go-ahead, floods: over TLS, or in clear instead of TLS."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await send(writer, b"220 hostile ESMTP\r\n")
        while line := await reader.readline():
            verb = line.strip().split(b" ", 1)[0].upper()
            if verb == b"EHLO":
                await send(writer, b"250-hostile\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                await send(writer, b"220 2.0.0 Go ahead\r\n")
                if over_tls and not await upgrade(writer, context):
                    return
                if not over_tls:
                    # Apart from the go-ahead, or the dialog already fails on it (a
                    # unit-tested case): the ClientHello is on its way when this starts.
                    await asyncio.sleep(0.05)
                await flood(writer)
                return
            else:
                await send(writer, b"502 Not here.\r\n")

    return handler


async def flood(writer: asyncio.StreamWriter) -> None:
    """Lines without end, paced by the client's reading (drain), until it hangs up."""
    chunk = b"x" * 1000 + b"\r\n"
    with contextlib.suppress(OSError, ssl.SSLError):
        for _ in range(20_000):  # 20 MB at most, far beyond every bound of ours
            if writer.is_closing():
                return
            writer.write(chunk)
            await writer.drain()


@pytest.mark.parametrize("over_tls", [True, False], ids=["over-tls", "in-clear"])
def test_a_flood_after_starttls_ends_within_the_bounds(
    serve: Serve, tls_context: ssl.SSLContext, over_tls: bool
) -> None:
    peer = serve(smtp_flooding(tls_context, over_tls=over_tls))

    seen = audit(f"smtp://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    seen.assert_no_internal_error()
    (dialog,) = seen.of(StartTlsDialog)
    assert dialog.capabilities_after is None  # a flood is no capability list
    for injection in seen.of(StartTlsInjection):
        # Unasked bytes are no answer to NOOP: never called an injection
        assert injection.vulnerable is not True, injection.detail
    assert "starttls.command_injection" not in {f.id for f in seen.result.findings}


def smtp_answering_in_clear(context: ssl.SSLContext) -> Handler:
    """Answers a command pipelined after STARTTLS in clear, then starts TLS correctly."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await send(writer, b"220 sloppy ESMTP\r\n")
        while line := await reader.readline():
            verb = line.strip().split(b" ", 1)[0].upper()
            if verb == b"EHLO":
                await send(writer, b"250-sloppy\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                await send(writer, b"220 2.0.0 Go ahead\r\n")
                # What came with STARTTLS is answered in clear, then thrown away: the
                # buffer is empty when TLS starts, which is what keeps this one safe.
                pipelined = bytes(reader._buffer)
                reader._buffer.clear()
                if pipelined:
                    await send(writer, b"250 2.0.0 Ok (in clear)\r\n")
                if not await upgrade(writer, context):
                    return
                while more := await reader.readline():
                    if more.strip().upper().startswith(b"EHLO"):
                        await send(writer, b"250-sloppy\r\n250 PIPELINING\r\n")
                    else:
                        await send(writer, b"250 2.0.0 Ok\r\n")
                return
            else:
                await send(writer, b"502 Not here.\r\n")

    return handler


def test_an_answer_in_clear_before_the_handshake_is_evidence_not_injection(
    serve: Serve, tls_context: ssl.SSLContext
) -> None:
    peer = serve(smtp_answering_in_clear(tls_context))

    seen = audit(f"smtp://127.0.0.1:{peer.port}")

    seen.assert_no_internal_error()
    (injection,) = seen.of(StartTlsInjection)
    assert injection.vulnerable is False, injection.detail
    assert injection.plaintext_answer == "250 2.0.0 Ok (in clear)"
    (dialog,) = seen.of(StartTlsDialog)
    assert dialog.capabilities_after == ("PIPELINING",)
