"""SOCKS peers that misbehave, probed directly (run_socks_probes with a ProbeContext).

Garbage instead of SOCKS, silence, a hang-up, a flood, a half message, a method
that was not offered, a "success" to an obviously fake pair, truncated replies
to a CONNECT, an answer of 0xFF to everything, a refused port. Every probe must
end within its bound, as observations (never an exception), and quote what the
peer sent only in escaped form. And, whatever the peer says, no CONNECT (or
anything else that asks a proxy to connect) is sent without a probe target.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime

from hostile_helpers import Handler, Peer, stall_until_hangup

from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Timeouts
from protoaudit.observations import ConnectionFailure, Observation, ProbeFailure
from protoaudit.observations_socks import (
    Socks4Detection,
    SocksConnect,
    SocksMethods,
    SocksUsernamePassword,
)
from protoaudit.policy.evaluate import evaluate
from protoaudit.policy.socks_rules import SOCKS_RULES
from protoaudit.probes.context import ProbeContext
from protoaudit.probes.socks import run_socks_probes

Serve = Callable[[Handler], Peer]
Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
TIMEOUT = 0.3
BOUND = 4 * TIMEOUT + 1  # two rounds of exchanges, each at most a read timeout, and slack
ESCAPES = b"\x1b[2J\x1b]0;owned\x07"


def probe(
    port: int, *, version: int = 5, target: tuple[str, int] | None = None
) -> tuple[list[Observation], float]:
    context = ProbeContext(
        host="127.0.0.1",
        address="127.0.0.1",
        port=port,
        server_name=None,
        timeouts=Timeouts(connect=TIMEOUT, read=TIMEOUT),
        limiter=Limiter(total=16, per_host=8),
        ca_file=None,
        now=datetime.now(UTC),
        retries=0,
    )
    sink: list[Observation] = []
    started = time.monotonic()
    asyncio.run(run_socks_probes(context, version, target, sink))
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, elapsed
    # Whatever the peer sent is kept only escaped: no raw control byte in any field.
    assert not any(char in text for text in strings(sink) for char in "\x1b\x07")
    return sink, elapsed


def strings(value: object) -> list[str]:
    """Every str inside observations, nested dataclasses and tuples included."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return strings([getattr(value, f.name) for f in dataclasses.fields(value)])
    if isinstance(value, list | tuple):
        return [text for item in value for text in strings(item)]
    return []


def failure(observations: list[Observation]) -> ConnectionFailure:
    (found,) = observations
    assert isinstance(found, ConnectionFailure), observations
    assert found.stage == "socks"
    assert "\x1b" not in found.detail
    return found


async def stall(reader: Reader, _writer: Writer) -> None:
    await reader.read(1)  # the client's first byte
    await stall_until_hangup(reader)


def test_garbage_instead_of_socks(serve: Serve) -> None:
    async def http(reader: Reader, writer: Writer) -> None:
        await reader.read(64)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n" + ESCAPES + b"\r\n\r\n")
        await writer.drain()

    found, _ = probe(serve(http).port)
    dead = failure(found)
    assert dead.reason == "no-socks"
    assert "HTTP/1.1 400" in dead.detail
    assert "\\x1b" in dead.detail  # shown escaped


def test_silence(serve: Serve) -> None:
    found, elapsed = probe(serve(stall).port)
    assert failure(found).reason == "timeout"
    assert elapsed < 3 * TIMEOUT + 0.5  # the exchanges wait at once, not one after another


def test_hang_up(serve: Serve) -> None:
    async def close(_reader: Reader, _writer: Writer) -> None:
        return

    assert failure(probe(serve(close).port)[0]).reason in ("closed", "reset")


def test_a_refused_port(free_port: int) -> None:
    assert failure(probe(free_port)[0]).reason == "refused"


def test_a_flood(serve: Serve) -> None:
    async def flood(reader: Reader, writer: Writer) -> None:
        await reader.read(64)
        for _ in range(64):
            writer.write(b"\x05" * 65536)
            await writer.drain()

    found, _ = probe(serve(flood).port)
    # \x05\x05 is a method reply choosing 0x05, which was not offered: refused at once.
    (methods,) = [o for o in found if isinstance(o, SocksMethods)]
    assert methods.accepted == ()
    assert all("not offered" in offer.detail for offer in methods.offers)


def test_half_a_reply_then_silence(serve: Serve) -> None:
    async def half(reader: Reader, writer: Writer) -> None:
        await reader.read(64)
        writer.write(b"\x05")
        await writer.drain()
        await stall_until_hangup(reader)

    assert failure(probe(serve(half).port)[0]).reason == "timeout"


def test_a_server_that_accepts_every_method_and_any_pair(serve: Serve) -> None:
    greetings: list[bytes] = []
    after_greeting: list[bytes] = []

    async def yes(reader: Reader, writer: Writer) -> None:
        greeting = await reader.read(64)
        greetings.append(greeting)
        if greeting[:1] == b"\x04":
            writer.write(b"\x00\x5a" + bytes(6))  # "granted", even to a bogus command
        else:
            writer.write(b"\x05" + greeting[2:3])  # the first method offered
            await writer.drain()
            rest = await reader.read(512)
            after_greeting.append(rest)
            if rest[:1] == b"\x01":
                writer.write(b"\x01\x00")  # any pair is fine
        await writer.drain()

    found, _ = probe(serve(yes).port)
    (password,) = [o for o in found if isinstance(o, SocksUsernamePassword)]
    assert password.fake_pair_accepted
    assert b"protoaudit-fake-user" in b"".join(after_greeting)
    ids = {finding.id for finding in evaluate(found, SOCKS_RULES)}
    assert {"socks.fake_credentials_accepted", "socks.open_proxy", "socks.socks4"} <= ids
    # No probe target, so no request ever asked it to connect anywhere.
    assert not [o for o in found if isinstance(o, SocksConnect)]
    socks4_requests = [c for c in greetings if c[:1] == b"\x04" and c[1:2] in (b"\x01", b"\x02")]
    socks5_requests = [c for c in after_greeting if c[:1] == b"\x05"]
    assert socks4_requests == []  # no SOCKS 4 CONNECT or BIND
    assert socks5_requests == []  # nothing but RFC 1929 followed a method choice


def test_a_method_that_was_not_offered(serve: Serve) -> None:
    async def always_none(reader: Reader, writer: Writer) -> None:
        await reader.read(64)
        writer.write(b"\x05\x00")
        await writer.drain()

    found, _ = probe(serve(always_none).port)
    (methods,) = [o for o in found if isinstance(o, SocksMethods)]
    assert methods.accepted == (0,)
    gssapi = next(offer for offer in methods.offers if offer.offered == (1,))
    assert gssapi.selected == 0
    assert "not offered" in gssapi.detail


def test_connect_replies_that_break_off(serve: Serve) -> None:
    async def truncated(reader: Reader, writer: Writer) -> None:
        first = await reader.read(64)
        if first[:1] == b"\x04":
            writer.write(b"\x00\x5b")  # half a SOCKS 4 reply
            await writer.drain()
            await stall_until_hangup(reader)
            return
        writer.write(b"\x05\x00")
        await writer.drain()
        if await reader.read(512):
            # A domain of 255 bytes announced, 3 sent.
            writer.write(b"\x05\x00\x00\x03\xffabc")
            await writer.drain()
            await stall_until_hangup(reader)

    found, _ = probe(serve(truncated).port, target=("127.0.0.1", 9))
    (connect,) = [o for o in found if isinstance(o, SocksConnect)]
    assert not connect.succeeded
    assert connect.detail.startswith("timeout")
    (detection,) = [o for o in found if isinstance(o, Socks4Detection)]
    assert not detection.speaks_socks4


def test_no_acceptable_method_at_all(serve: Serve) -> None:
    async def never(reader: Reader, writer: Writer) -> None:
        await reader.read(64)
        writer.write(b"\x05\xff")
        await writer.drain()

    found, _ = probe(serve(never).port, target=("127.0.0.1", 9))
    (methods,) = [o for o in found if isinstance(o, SocksMethods)]
    assert methods.accepted == ()
    assert methods.preferred == 0xFF
    assert not [o for o in found if isinstance(o, SocksConnect | SocksUsernamePassword)]
    assert evaluate(found, SOCKS_RULES) == ()


def test_a_socks4_target_that_answers_garbage(serve: Serve) -> None:
    async def garbage(reader: Reader, writer: Writer) -> None:
        await reader.read(64)
        writer.write(ESCAPES)
        await writer.drain()

    dead = failure(probe(serve(garbage).port, version=4)[0])
    assert dead.reason == "no-socks"


def test_a_bound_address_full_of_terminal_escapes(serve: Serve) -> None:
    # Given an open proxy whose CONNECT reply names, as BND.ADDR, a "domain" of escapes
    async def escapes(reader: Reader, writer: Writer) -> None:
        first = await reader.read(64)
        if first[:1] != b"\x05":
            return
        writer.write(b"\x05\x00")
        await writer.drain()
        if await reader.read(512):
            writer.write(b"\x05\x00\x00\x03" + bytes([len(ESCAPES)]) + ESCAPES + b"\x00\x50")
            await writer.drain()

    # When the probe CONNECTs to the user's target, Then the bound address is kept escaped
    found, _ = probe(serve(escapes).port, target=("127.0.0.1", 9))
    (connect,) = [o for o in found if isinstance(o, SocksConnect)]
    assert connect.succeeded
    assert connect.bound_address is not None
    assert "\\x1b" in connect.bound_address


def test_a_probe_target_socks_cannot_name_is_a_recorded_failure(serve: Serve) -> None:
    # A 70-octet label: a host name the target parser takes, which IDNA (and DNS) refuse.
    async def open_proxy(reader: Reader, writer: Writer) -> None:
        first = await reader.read(64)
        writer.write(b"\x00\x5b" + bytes(6) if first[:1] == b"\x04" else b"\x05\x00")
        await writer.drain()
        await stall_until_hangup(reader)

    found, _ = probe(serve(open_proxy).port, target=("a" * 70 + ".example", 80))
    failures = [o for o in found if isinstance(o, ProbeFailure)]
    assert [f.reason for f in failures] == ["unsupported-target"] * 2  # SOCKS 5 and 4A
    assert not [o for o in found if isinstance(o, SocksConnect)]


def test_a_proxy_that_trickles_its_replies(serve: Serve) -> None:
    # Given an open proxy that sends every message one byte at a time, each just inside the
    # read timeout, and a CONNECT reply naming a 255-octet domain (a minute of trickling)
    async def trickle(writer: Writer, data: bytes) -> None:
        for index in range(len(data)):
            writer.write(data[index : index + 1])
            await writer.drain()
            await asyncio.sleep(TIMEOUT * 0.6)

    async def slow(reader: Reader, writer: Writer) -> None:
        first = await reader.read(64)
        if first[:1] != b"\x05":
            return
        await trickle(writer, b"\x05\x00")
        if await reader.read(512):
            await trickle(writer, b"\x05\x00\x00\x03\xff" + b"a" * 255 + b"\x00\x50")

    # When it is probed with a target, Then each exchange ends at its own deadline
    found, _ = probe(serve(slow).port, target=("127.0.0.1", 9))
    (connect,) = [o for o in found if isinstance(o, SocksConnect)]
    assert not connect.succeeded
    assert connect.detail.startswith("timeout: the exchange took over")
