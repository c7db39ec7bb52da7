"""A deliberately vulnerable SMTP responder: STARTTLS command injection (CVE-2011-0411 class).

    python3 lab/injection/responder.py --cert RUN/pki/rsa.chain.pem --key RUN/pki/rsa.key

PURPOSE-BUILT AND VULNERABLE ON PURPOSE. No server packaged in Debian still
has this flaw (Postfix fixed it in 2.8 / 2.7.3 in 2011; dovecot and vsftpd
refuse a command pipelined after STARTTLS), so the lab needs this small
responder to show protoaudit a server that has it. It is no mail server:
it speaks just enough SMTP for a STARTTLS audit and delivers nothing.

    220 greeting; EHLO/HELO -> 250 (STARTTLS listed before TLS only);
    NOOP, RSET -> 250; QUIT -> 221 and close; anything else -> 502.
    STARTTLS -> 220, then the SAME stream is upgraded with loop.start_tls
    (through StreamWriter.start_tls) while the StreamReader keeps whatever
    it had already read. A command that came in the same packet as STARTTLS
    is therefore read after the handshake and answered over TLS, as if the
    client had sent it under TLS protection. That is exactly the bug: a
    correct server discards its buffer at STARTTLS (RFC 3207 4.2).

Bounded so that scanners cannot wedge it: lines of at most 4 KiB, 100
commands and an idle timeout of 10 s per connection, a 10 s handshake.
Listens on 127.0.0.1 only. ground_truth.py reads the constants below.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import sys

HOST = "127.0.0.1"
PORT = 2528
SERVER_NAME = "localhost"
GREETING = f"220 {SERVER_NAME} ESMTP protoaudit lab responder (STARTTLS injection: VULNERABLE)"
# EHLO keywords, before and after TLS (the greeting line of the 250 reply not included).
CAPABILITIES_BEFORE = ("PIPELINING", "SIZE 1048576", "STARTTLS", "8BITMIME")
CAPABILITIES_AFTER = ("PIPELINING", "SIZE 1048576", "8BITMIME")
# TLS: what ground_truth.py expands with `openssl ciphers`.
MIN_VERSION = "TLS 1.2"
CIPHERS = "ECDHE+AESGCM"  # TLS 1.2 and below; TLS 1.3 keeps OpenSSL's default suites
ECDH_CURVE = "prime256v1"  # SSL_CTX_set_tmp_ecdh: in OpenSSL 3.0 the whole group list
# Python's server contexts set OP_CIPHER_SERVER_PREFERENCE.
SERVER_CIPHER_ORDER = True

MAX_LINE = 4096
MAX_COMMANDS = 100
IDLE_SECONDS = 10.0


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.set_ecdh_curve(ECDH_CURVE)
    context.load_cert_chain(cert, key)
    return context


def ehlo_reply(capabilities: tuple[str, ...]) -> bytes:
    lines = [SERVER_NAME, *capabilities]
    return b"".join(
        f"250{'-' if i < len(lines) - 1 else ' '}{line}\r\n".encode()
        for i, line in enumerate(lines)
    )


async def session(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, context: ssl.SSLContext
) -> None:
    tls = False
    writer.write(f"{GREETING}\r\n".encode())
    for _ in range(MAX_COMMANDS):
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), IDLE_SECONDS)
        if not line:
            return
        verb = line.strip().split(b" ", 1)[0].upper()
        if verb in (b"EHLO", b"HELO", b"LHLO"):
            writer.write(ehlo_reply(CAPABILITIES_AFTER if tls else CAPABILITIES_BEFORE))
        elif verb == b"STARTTLS" and not tls:
            writer.write(b"220 2.0.0 Ready to start TLS\r\n")
            await writer.drain()
            # THE BUG: reader's buffer is not emptied before the upgrade.
            await writer.start_tls(context, ssl_handshake_timeout=IDLE_SECONDS)
            tls = True
        elif verb == b"STARTTLS":
            writer.write(b"503 5.5.1 TLS already active\r\n")
        elif verb in (b"NOOP", b"RSET"):
            writer.write(b"250 2.0.0 Ok\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 2.0.0 Bye\r\n")
            await writer.drain()
            return
        else:
            writer.write(b"502 5.5.2 Error: command not implemented\r\n")


async def serve(host: str, port: int, context: ssl.SSLContext) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await session(reader, writer, context)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            pass  # scanners hang up, send odd hellos and over-long lines: all expected
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(handle, host, port, limit=MAX_LINE, reuse_address=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--cert", required=True, help="PEM chain, leaf first")
    parser.add_argument("--key", required=True)
    arguments = parser.parse_args()
    context = tls_context(arguments.cert, arguments.key)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments.host, arguments.port, context))
    return 0


if __name__ == "__main__":
    sys.exit(main())
