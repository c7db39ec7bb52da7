"""SSH and plaintext remote-login peers that misbehave, audited end to end through the scanner.

The issue's list: a 1 MB banner, lines before the identification (a few, and
endless), a KEXINIT whose name-lists overrun its packet, a server that
identifies and then says nothing, SSH-1 servers, a server that hangs up in
the middle of a key exchange or sends DISCONNECT, garbage on an ssh://
target, a telnet:// target that sends terminal escapes or floods IAC bytes,
an rsh:// target whose first byte is neither 0 nor 1, and a batch with one
hostile target among good ones. Beside them: the auth-methods query (our own
transport past NEWKEYS) meeting a server that stalls, closes, floods or sends
bytes that are not what the new keys make; asyncssh (its fallback, for servers
with no cipher or MAC of ours) meeting a hostile identification or key
exchange; a target deadline that must keep what finished, and a remote-login
server that stops accepting.

The SSH peers speak just enough SSH to be wrong in the way they mean to be:
identification, KEXINIT and a curve25519-sha256 reply signed with an Ed25519
host key, built with protoaudit's own encoders and `cryptography`. They never
send NEWKEYS, so the auth-methods probe always ends in a recorded failure
against them; what matters is that it ends, in time, as data.

Every audit must end within a bound, record what happened as observations
(never an internal error), and show nothing a terminal would act on.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
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
from protoaudit.observations import (
    ConnectionFailure,
    PlaintextLoginService,
    ProbeFailure,
    SshAlgorithms,
    SshAuthMethods,
    SshHostKey,
    SshIdentification,
)
from protoaudit.proto.ssh.constants import MessageNumber
from protoaudit.proto.ssh.encoding import mpint, string
from protoaudit.proto.ssh.kexinit import KexInit
from protoaudit.proto.ssh.keys import EdwardsKey, encode_public_key
from protoaudit.proto.ssh.messages import Disconnect
from protoaudit.proto.ssh.packet import encode_packet
from protoaudit.proto.ssh.signatures import Signature
from protoaudit.scan import AuditOptions, audit_targets
from protoaudit.targets import parse_target

Serve = Callable[[Handler], Peer]
Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
# What a peer does once it has read the client's KEXINIT
Misbehaviour = Callable[[Reader, Writer, "ClientFlight"], Awaitable[None]]
TIMEOUT = 0.5
MEGABYTE = 1 << 20
# The scan's reachability connect, then the survey: a peer that stops the survey sees no more.
SURVEY_ONLY = 2
ESCAPES = b"\x1b[2J\x1b]0;owned\x07\x1b[31mred\x9b1m\r\x00"


def audit(target: str) -> Audit:
    started = time.monotonic()
    result = asyncio.run(protoaudit.audit(target, timeout=TIMEOUT))
    return Audit(result, time.monotonic() - started)


def only_failure(seen: Audit) -> ConnectionFailure:
    """The audit's one connection failure, at the SSH stage; no internal error beside it."""
    seen.assert_no_internal_error()
    (failure,) = seen.of(ConnectionFailure)
    assert failure.stage == "ssh", failure
    return failure  # type: ignore[no-any-return]


def unsafe(character: str) -> bool:
    code = ord(character)
    return (code < 0x20 and character != "\n") or 0x7F <= code < 0xA0


# ---------------------------------------------------------------- speaking (some) SSH

HOST_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
HOST_KEY_BLOB = encode_public_key(
    "ssh-ed25519", EdwardsKey("ed25519", HOST_KEY.public_key().public_bytes_raw())
)
EPHEMERAL = x25519.X25519PrivateKey.from_private_bytes(bytes([8]) * 32)
IDENTIFICATION = b"SSH-2.0-Hostile_1.0"
KEX_INIT = KexInit(
    cookie=bytes(range(16)),
    kex_algorithms=("curve25519-sha256",),
    server_host_key_algorithms=("ssh-ed25519",),
    encryption_algorithms_client_to_server=("aes128-ctr",),
    encryption_algorithms_server_to_client=("aes128-ctr",),
    mac_algorithms_client_to_server=("hmac-sha2-256",),
    mac_algorithms_server_to_client=("hmac-sha2-256",),
    compression_algorithms_client_to_server=("none",),
    compression_algorithms_server_to_client=("none",),
)
# A MAC the auth-methods query lacks, so that the probe falls back to asyncssh.
FALLBACK_KEX_INIT = replace(
    KEX_INIT,
    mac_algorithms_client_to_server=("hmac-md5",),
    mac_algorithms_server_to_client=("hmac-md5",),
)


def packet(payload: bytes) -> bytes:
    return encode_packet(payload, bytes)  # zero padding is as good as any


def disconnect(description: str, reason_code: int = 2) -> bytes:
    return packet(Disconnect(reason_code, description).encode())


async def read_packet(reader: Reader) -> bytes:
    """One unencrypted packet's payload from the client."""
    length = int.from_bytes(await reader.readexactly(4), "big")
    assert length <= 35000, length
    body = await reader.readexactly(length)
    return body[1 : length - body[0]]


@dataclass(frozen=True)
class ClientFlight:
    identification: bytes  # without CR LF
    kex_init: bytes  # the KEXINIT payload
    server_kex_init: KexInit = KEX_INIT  # what the server sent, for the exchange hash

    @property
    def asyncssh(self) -> bool:
        """The auth-methods probe's fallback connection, not one of protoaudit's own codec."""
        return b"asyncssh" in self.identification.lower()

    @property
    def auth_query(self) -> bool:
        """The auth-methods query of our own codec: it alone offers compression "none" only."""
        offer = KexInit.decode(self.kex_init)
        return not self.asyncssh and offer.compression_algorithms_client_to_server == ("none",)


async def read_identification(reader: Reader) -> bytes:
    """The client's identification line, without CR LF."""
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("the client hung up")  # the scan's reachability check
    identification = line.rstrip(b"\r\n")
    assert identification.startswith(b"SSH-2.0-"), identification
    return identification


async def read_client(
    reader: Reader, identification: bytes, server_kex_init: KexInit = KEX_INIT
) -> ClientFlight:
    kex_init = await read_packet(reader)
    while kex_init[0] != MessageNumber.KEXINIT:  # asyncssh may send IGNORE first
        kex_init = await read_packet(reader)
    return ClientFlight(identification, kex_init, server_kex_init)


def kex_reply(client: ClientFlight, init: bytes, server_identification: bytes) -> bytes:
    """The curve25519-sha256 reply to `init` (KEX_ECDH_INIT), signed by HOST_KEY (RFC 8731)."""
    assert init[0] == MessageNumber.KEXDH_INIT, init[:1]
    length = int.from_bytes(init[1:5], "big")
    client_value = init[5 : 5 + length]
    server_value = EPHEMERAL.public_key().public_bytes_raw()
    secret = EPHEMERAL.exchange(x25519.X25519PublicKey.from_public_bytes(client_value))
    exchange_hash = hashlib.sha256(
        string(client.identification)
        + string(server_identification)
        + string(client.kex_init)
        + string(client.server_kex_init.encode())
        + string(HOST_KEY_BLOB)
        + string(client_value)
        + string(server_value)
        + mpint(int.from_bytes(secret, "big"))
    ).digest()
    signature = Signature("ssh-ed25519", HOST_KEY.sign(exchange_hash)).encode()
    payload = (
        bytes([MessageNumber.KEXDH_REPLY])
        + string(HOST_KEY_BLOB)
        + string(server_value)
        + string(signature)
    )
    return packet(payload)


def ssh_server(
    *,
    before: bytes = b"",
    identification: bytes = IDENTIFICATION,
    after_kex_init: Misbehaviour | None = None,
    to_asyncssh: bytes | None = None,
    kex_init: KexInit = KEX_INIT,
) -> Handler:
    """A server that sends `before`, its identification and KEXINIT, then by default
    answers one curve25519 key exchange and stops there (no NEWKEYS).

    `after_kex_init` replaces what it does once it has read the client's KEXINIT;
    `to_asyncssh`, when given, is all asyncssh (the auth-methods probe) gets instead.
    It reads the client's identification before it sends its own: both clients
    send theirs at once, without waiting.
    """

    async def handler(reader: Reader, writer: Writer) -> None:
        client_identification = await read_identification(reader)
        if to_asyncssh is not None and b"asyncssh" in client_identification.lower():
            await send(writer, to_asyncssh)
            await stall_until_hangup(reader)
            return
        await send(writer, before + identification + b"\r\n" + packet(kex_init.encode()))
        client = await read_client(reader, client_identification, kex_init)
        if after_kex_init is not None:
            await after_kex_init(reader, writer, client)
            return
        init = await read_packet(reader)
        await send(writer, kex_reply(client, init, identification))
        await stall_until_hangup(reader)

    return handler


async def write_forever(writer: Writer, chunk: bytes, *, limit: int | None = 64 * MEGABYTE) -> None:
    """Write `chunk` until the client hangs up, `limit` bytes are out, or a minute passed."""
    sent = 0
    until = time.monotonic() + 60
    while (limit is None or sent < limit) and time.monotonic() < until:
        if writer.is_closing():
            return
        writer.write(chunk)
        try:
            await writer.drain()
        except OSError:
            return
        sent += len(chunk)


# ---------------------------------------------------------------- a well-behaved start


def test_a_minimal_server_is_audited_through_its_host_key(serve: Serve) -> None:
    # Given a server that answers one key exchange correctly and then stops
    peer = serve(ssh_server())

    # When it is audited
    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then its identification, algorithms and verified host key are all recorded,
    # and the auth-methods probe, which needs NEWKEYS, fails as data
    seen.assert_no_internal_error()
    (identification,) = seen.of(SshIdentification)
    assert identification.software == "Hostile_1.0"
    assert identification.pre_banner == ()
    (algorithms,) = seen.of(SshAlgorithms)
    assert algorithms.kex == ("curve25519-sha256",)
    (host_key,) = seen.of(SshHostKey)
    assert host_key.signature_valid, host_key
    assert host_key.key_type == "ssh-ed25519"
    (auth,) = seen.of(ProbeFailure)
    assert auth.probe == "ssh_auth_methods", auth
    assert not seen.of(ConnectionFailure)


# ---------------------------------------------------------------- the banner


# label: (the banner, the bound it meets)
HUGE_BANNERS = {
    "no-newline": (b"SSH-2.0-" + b"A" * MEGABYTE, "identification line longer than 255 bytes"),
    "identification-line": (
        b"SSH-2.0-" + b"A" * MEGABYTE + b"\r\n",
        "identification line longer than 255 bytes",
    ),
    "text-line": (b"A" * MEGABYTE + b"\r\n", "no 'SSH-' line within the first 8192 bytes"),
}


@pytest.mark.parametrize("label", sorted(HUGE_BANNERS))
def test_a_1_mb_banner_ends_at_the_line_bound(serve: Serve, label: str) -> None:
    banner, bound = HUGE_BANNERS[label]

    async def huge_banner(reader: Reader, writer: Writer) -> None:
        del reader
        try:
            await send(writer, banner)
        except OSError:
            return

    peer = serve(huge_banner)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT), label
    failure = only_failure(seen)
    assert failure.reason == "malformed", failure
    assert bound in failure.detail, failure.detail
    assert not seen.of(SshIdentification)
    assert peer.connections == SURVEY_ONLY


@pytest.mark.slow
def test_an_endless_banner_keeps_memory_bounded(serve: Serve, free_port: int) -> None:
    # Given the CLI's peak memory for a target that costs nothing
    baseline = run_cli(f"ssh://127.0.0.1:{free_port}", "--json", "-", "--timeout", str(TIMEOUT))

    # When it audits a server whose identification line never ends
    async def endless_identification(reader: Reader, writer: Writer) -> None:
        del reader
        await send(writer, b"SSH-2.0-")
        await write_forever(writer, b"A" * 65536)

    peer = serve(endless_identification)
    run = run_cli(f"ssh://127.0.0.1:{peer.port}", "--json", "-", "--timeout", str(TIMEOUT))

    # Then it stops at the line bound, and holds little more than the baseline
    assert_clean_exit(run)
    (target,) = run.json()["targets"]
    (failure,) = [o for o in target["observations"] if o["kind"] == "connection_failure"]
    assert "longer than 255 bytes" in failure["detail"], failure
    growth_kib = run.peak_rss_kib - baseline.peak_rss_kib
    assert growth_kib < 32 * 1024, (baseline.peak_rss_kib, run.peak_rss_kib)


def test_lines_before_the_identification_are_kept_and_the_audit_goes_on(serve: Serve) -> None:
    # Given a server that says three lines of text before a good identification
    lines = [b"Welcome to the hostile host", b"Authorised users only", b""]
    peer = serve(ssh_server(before=b"".join(line + b"\r\n" for line in lines)))

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then the lines are in the identification, and every probe ran as usual
    seen.assert_no_internal_error()
    (identification,) = seen.of(SshIdentification)
    assert identification.pre_banner == tuple(line.decode() for line in lines)
    assert identification.software == "Hostile_1.0"
    assert seen.of(SshAlgorithms)
    (host_key,) = seen.of(SshHostKey)
    assert host_key.signature_valid
    assert not seen.of(ConnectionFailure)


def lab_sshd_up() -> bool:
    """Whether lab/start.sh's hardened OpenSSH answers on 127.0.0.1:2222."""
    try:
        with socket.create_connection(("127.0.0.1", 2222), timeout=0.5) as sock:
            sock.settimeout(1)
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False


@pytest.mark.lab
def test_lines_before_a_real_sshd_keep_the_whole_audit(serve: Serve) -> None:
    # Given the lab's OpenSSH behind a proxy that first sends two lines of its own
    if not lab_sshd_up():
        pytest.skip("the lab's sshd on 127.0.0.1:2222 is not up (lab/start.sh)")

    async def proxy(reader: Reader, writer: Writer) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 2222)
        await send(writer, b"Hello from the proxy\r\nsecond line\r\n")

        async def pump(source: Reader, sink: Writer) -> None:
            while data := await source.read(65536):
                await send(sink, data)
            sink.close()

        try:
            await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))
        finally:
            upstream_writer.close()

    peer = serve(proxy)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then the lines are recorded, and both our codec and asyncssh got through them
    seen.assert_no_internal_error()
    (identification,) = seen.of(SshIdentification)
    assert identification.pre_banner == ("Hello from the proxy", "second line")
    assert identification.software.startswith("OpenSSH_")
    assert seen.of(SshHostKey)
    assert all(key.signature_valid for key in seen.of(SshHostKey))
    (auth,) = seen.of(SshAuthMethods)
    assert not auth.none_accepted
    assert not seen.of(ConnectionFailure)


def test_endless_lines_before_the_identification_stop_at_the_bound(serve: Serve) -> None:
    async def endless_pre_banner(reader: Reader, writer: Writer) -> None:
        del reader
        await write_forever(writer, b"not yet\r\n" * 256)

    peer = serve(endless_pre_banner)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    failure = only_failure(seen)
    assert failure.reason == "malformed", failure
    assert "more than 16 lines" in failure.detail, failure.detail
    assert peer.connections == SURVEY_ONLY


# ---------------------------------------------------------------- the key exchange


def test_a_kex_init_whose_name_lists_overrun_its_packet_is_malformed(serve: Serve) -> None:
    # Given a KEXINIT whose first name-list claims 1 MB in a 64-byte packet
    overrun = bytes([MessageNumber.KEXINIT]) + bytes(16) + MEGABYTE.to_bytes(4, "big") + b"x" * 40

    async def overrunning(reader: Reader, writer: Writer) -> None:
        await send(writer, IDENTIFICATION + b"\r\n" + packet(overrun))
        await stall_until_hangup(reader)

    peer = serve(overrunning)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then the identification is kept, and the KEXINIT is refused by name, at once
    assert seen.elapsed < stall_bound(TIMEOUT)
    failure = only_failure(seen)
    assert failure.reason == "malformed", failure
    assert "kexinit.kex_algorithms" in failure.detail, failure.detail
    (identification,) = seen.of(SshIdentification)
    assert identification.software == "Hostile_1.0"
    assert not seen.of(SshAlgorithms)


def test_a_packet_longer_than_any_kex_init_is_refused_before_it_is_read(serve: Serve) -> None:
    async def huge_packet(reader: Reader, writer: Writer) -> None:
        del reader
        await send(writer, IDENTIFICATION + b"\r\n" + (MEGABYTE - 4).to_bytes(4, "big") + b"\x04")
        await write_forever(writer, bytes(65536), limit=2 * MEGABYTE)

    peer = serve(huge_packet)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    failure = only_failure(seen)
    assert failure.reason == "malformed", failure
    assert "packet_length" in failure.detail, failure.detail


def test_an_identification_and_then_nothing_is_one_timeout(serve: Serve) -> None:
    async def identify_then_stall(reader: Reader, writer: Writer) -> None:
        await send(writer, IDENTIFICATION + b"\r\n")
        await stall_until_hangup(reader)

    peer = serve(identify_then_stall)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then one connection, one timeout, and the identification it did send
    assert seen.elapsed < stall_bound(TIMEOUT)
    failure = only_failure(seen)
    assert failure.reason == "timeout", failure
    (identification,) = seen.of(SshIdentification)
    assert identification.line == IDENTIFICATION.decode()
    assert peer.connections == SURVEY_ONLY


@pytest.mark.parametrize("version", ["1.5", "1.3"])
def test_an_ssh1_only_server_is_identified_and_critical(serve: Serve, version: str) -> None:
    async def ssh1_only(reader: Reader, writer: Writer) -> None:
        # What an SSH-1 server says next is a binary packet the client never gets to read
        await send(writer, f"SSH-{version}-OldServer\n".encode() + bytes(range(32)))
        await stall_until_hangup(reader)

    peer = serve(ssh1_only)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    failure = only_failure(seen)
    assert failure.reason == "ssh1-only", failure
    (identification,) = seen.of(SshIdentification)
    assert (identification.protocol_version, identification.software) == (version, "OldServer")
    (finding,) = [f for f in seen.result.findings if f.id == "ssh.protocol1"]
    assert finding.severity.name.lower() == "critical"
    assert peer.connections == SURVEY_ONLY


def test_an_ssh1_and_ssh2_server_is_audited_and_flagged(serve: Serve) -> None:
    # Given "SSH-1.99-", which speaks SSH-2 as well
    peer = serve(ssh_server(identification=b"SSH-1.99-Both_1.0"))

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then the SSH-2 audit runs, and SSH-1 is a finding below critical
    seen.assert_no_internal_error()
    (identification,) = seen.of(SshIdentification)
    assert identification.protocol_version == "1.99"
    (host_key,) = seen.of(SshHostKey)
    assert host_key.signature_valid
    (finding,) = [f for f in seen.result.findings if f.id == "ssh.protocol1"]
    assert finding.severity.name.lower() == "high"


def test_a_server_that_closes_during_key_exchange_keeps_its_algorithms(serve: Serve) -> None:
    # Given a server that hangs up once the client has sent its KEXINIT
    peer = serve(ssh_server(after_kex_init=close_at_once))

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then the algorithms are recorded, and each probe after the survey says it was cut off
    assert seen.elapsed < stall_bound(TIMEOUT)
    seen.assert_no_internal_error()
    assert not seen.of(ConnectionFailure)
    (algorithms,) = seen.of(SshAlgorithms)
    assert algorithms.host_key == ("ssh-ed25519",)
    failures = {failure.probe: failure for failure in seen.of(ProbeFailure)}
    assert set(failures) == {"ssh_host_keys", "ssh_auth_methods"}, failures
    assert failures["ssh_host_keys"].reason in ("closed", "reset"), failures
    assert "ssh-ed25519" in failures["ssh_host_keys"].detail
    assert not seen.of(SshHostKey)


def test_a_disconnect_instead_of_a_kex_init_is_recorded_with_its_reason(serve: Serve) -> None:
    async def disconnecting(reader: Reader, writer: Writer) -> None:
        description = "go away" + ESCAPES.decode("latin-1")
        await send(writer, IDENTIFICATION + b"\r\n" + disconnect(description))
        await stall_until_hangup(reader)

    peer = serve(disconnecting)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    failure = only_failure(seen)
    assert failure.reason == "disconnect", failure
    assert "PROTOCOL_ERROR" in failure.detail or "protocol" in failure.detail.lower(), failure
    assert "go away" in failure.detail
    assert seen.of(SshIdentification)


def test_a_disconnect_in_reply_to_the_key_exchange_fails_the_host_key_probe(
    serve: Serve,
) -> None:
    async def refuse_kex(reader: Reader, writer: Writer, client: ClientFlight) -> None:
        del client
        await read_packet(reader)
        await send(writer, disconnect("key exchange refused", reason_code=3))

    peer = serve(ssh_server(after_kex_init=refuse_kex))

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    seen.assert_no_internal_error()
    assert seen.of(SshAlgorithms)
    (host_key_failure,) = [f for f in seen.of(ProbeFailure) if f.probe == "ssh_host_keys"]
    assert host_key_failure.reason == "disconnect", host_key_failure
    assert "key exchange refused" in host_key_failure.detail


# ---------------------------------------------------------------- not SSH at all


def test_random_bytes_on_an_ssh_target_are_not_ssh(serve: Serve) -> None:
    noise = bytes((index * 167 + 13) % 256 for index in range(4096))

    async def garbage(reader: Reader, writer: Writer) -> None:
        await send(writer, noise)
        await stall_until_hangup(reader)

    peer = serve(garbage)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    failure = only_failure(seen)
    assert failure.reason == "malformed", failure
    assert "binary data" in failure.detail, failure.detail
    assert not seen.of(SshIdentification)


HTTP_RESPONSE = (
    b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n"
    b"Content-Length: 5\r\nConnection: close\r\n\r\nbad\r\n"
)


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"", "closed"), (b"<b>\x1b[31m!</b>", "malformed")],
    ids=["plain", "escapes"],
)
def test_an_http_response_on_an_ssh_target_says_what_came(
    serve: Serve, body: bytes, reason: str
) -> None:
    # Given a web server that answers the SSH identification line as a bad request
    async def http(reader: Reader, writer: Writer) -> None:
        await reader.readline()
        await send(writer, HTTP_RESPONSE + body)

    peer = serve(http)

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then it closed (or sent binary) before any identification, and the failure quotes
    # its first bytes, escaped
    assert seen.elapsed < stall_bound(TIMEOUT)
    failure = only_failure(seen)
    assert failure.reason == reason, failure
    assert "it began b'HTTP/1.1 400 Bad Request\\r\\n" in failure.detail, failure.detail
    assert not any(unsafe(character) for character in failure.detail), failure.detail
    assert not seen.of(SshIdentification)


@pytest.mark.slow
def test_hostile_ssh_text_is_sanitised_in_json_and_on_the_terminal(serve: Serve) -> None:
    # Given a server whose pre-banner and identification carry C1 controls (valid UTF-8,
    # so the codec takes them) and whose DISCONNECT carries escapes
    async def escaping(reader: Reader, writer: Writer) -> None:
        pre_banner = b"evil \xc2\x9b2J banner\r\n"
        identification = b"SSH-2.0-Evil\xc2\x9b31m comment\xc2\x9b1m\r\n"
        description = "bye" + ESCAPES.decode("latin-1")
        await send(writer, pre_banner + identification + disconnect(description))
        await stall_until_hangup(reader)

    peer = serve(escaping)
    target = f"ssh://127.0.0.1:{peer.port}"

    terminal = run_cli(target, "--timeout", str(TIMEOUT))
    json_run = run_cli(target, "--timeout", str(TIMEOUT), "--json", "-", "-q")

    # Then the terminal shows them escaped, and the JSON holds no raw control character
    assert_clean_exit(terminal)
    assert "Evil" in terminal.stdout
    assert "bye" in terminal.stdout
    assert not any(unsafe(character) for character in terminal.stdout), terminal.stdout
    assert_clean_exit(json_run)
    assert not any(unsafe(character) for character in json_run.stdout), json_run.stdout
    (result,) = json_run.json()["targets"]
    (identification,) = [o for o in result["observations"] if o["kind"] == "ssh_identification"]
    assert identification["pre_banner"] == ["evil \x9b2J banner"]
    assert identification["software"] == "Evil\x9b31m"


# ---------------------------------------------------------------- the auth-methods probe


async def stall(reader: Reader, writer: Writer, client: ClientFlight) -> None:
    del writer, client
    await stall_until_hangup(reader)


async def ignore_flood(reader: Reader, writer: Writer, client: ClientFlight) -> None:
    del reader, client
    ignore = packet(bytes([MessageNumber.IGNORE]) + string(bytes(30000)))
    await write_forever(writer, ignore, limit=None)  # asyncssh reads them all: only time stops it


async def oversized_packet(reader: Reader, writer: Writer, client: ClientFlight) -> None:
    del client
    await send(writer, (1 << 31).to_bytes(4, "big") + bytes(64))
    await stall_until_hangup(reader)


async def zero_length_packet(reader: Reader, writer: Writer, client: ClientFlight) -> None:
    del client
    await send(writer, bytes(64))
    await stall_until_hangup(reader)


async def close_at_once(reader: Reader, writer: Writer, client: ClientFlight) -> None:
    del reader, writer, client


def hostile_to_asyncssh(misbehaviour: Misbehaviour) -> Handler:
    """A server well-behaved to protoaudit's own codec, and hostile to asyncssh (the
    auth-methods fallback) once it has its KEXINIT."""
    return hostile_to(misbehaviour, after_reply=False, kex_init=FALLBACK_KEX_INIT)


def hostile_to(
    misbehaviour: Misbehaviour, *, after_reply: bool, kex_init: KexInit = KEX_INIT
) -> Handler:
    """Answers every key exchange of the host-key probes; the auth-methods connection
    meets `misbehaviour` after its KEXINIT (asyncssh) or after the reply (our query)."""

    async def after_kex_init(reader: Reader, writer: Writer, client: ClientFlight) -> None:
        if client.asyncssh:
            await misbehaviour(reader, writer, client)
            return
        init = await read_packet(reader)
        await send(writer, kex_reply(client, init, IDENTIFICATION))
        if after_reply and client.auth_query:
            await misbehaviour(reader, writer, client)
        else:
            await stall_until_hangup(reader)

    return ssh_server(after_kex_init=after_kex_init, kex_init=kex_init)


def assert_auth_probe_failed(seen: Audit, reason: str, details: tuple[str, ...]) -> None:
    assert seen.elapsed < stall_bound(TIMEOUT)
    seen.assert_no_internal_error()
    (host_key,) = seen.of(SshHostKey)
    assert host_key.signature_valid
    (failure,) = seen.of(ProbeFailure)
    assert (failure.probe, failure.reason) == ("ssh_auth_methods", reason), failure
    assert any(words.lower() in failure.detail.lower() for words in details), failure


# label: (what asyncssh meets after its KEXINIT, the failure's reason, words its detail has)
AFTER_ASYNCSSH_KEX_INIT: dict[str, tuple[Misbehaviour, str, tuple[str, ...]]] = {
    "stall": (stall, "timeout", ("no answer",)),
    "ignore-flood": (ignore_flood, "timeout", ("no answer",)),
    "oversized-packet": (oversized_packet, "ssh", ("packet size",)),
    "zero-length-packet": (zero_length_packet, "ssh-client-error", ("PacketDecodeError",)),
    # A close with asyncssh's KEX_ECDH_INIT unread may reach it as a reset
    "close": (close_at_once, "ssh", ("connection lost", "connection reset")),
}


@pytest.mark.parametrize("label", sorted(AFTER_ASYNCSSH_KEX_INIT))
def test_the_auth_methods_probe_ends_in_time_on_a_hostile_key_exchange(
    serve: Serve, label: str
) -> None:
    misbehaviour, reason, details = AFTER_ASYNCSSH_KEX_INIT[label]
    peer = serve(hostile_to_asyncssh(misbehaviour))

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then the audit ends in the probe's own bound, its failure recorded as data,
    # and the host key from protoaudit's own key exchange is kept beside it
    assert_auth_probe_failed(seen, reason, details)


def sends(data: bytes, *, forever: bool = False) -> Misbehaviour:
    async def misbehaviour(reader: Reader, writer: Writer, client: ClientFlight) -> None:
        del client
        if forever:
            await write_forever(writer, data)
        else:
            await send(writer, data)
            await stall_until_hangup(reader)

    return misbehaviour


NEWKEYS = packet(bytes([MessageNumber.NEWKEYS]))
# label: (what the query meets after the reply, the failure's reason, words its detail has)
AFTER_QUERY_REPLY: dict[str, tuple[Misbehaviour, str, tuple[str, ...]]] = {
    "stall": (stall, "timeout", ("0.5s",)),
    "close": (close_at_once, "closed", ("",)),
    "unexpected-message": (sends(packet(bytes([99, 1, 2, 3]))), "malformed", ("message 99",)),
    # Bytes that no key made: the length they decrypt to, or the MAC, gives them away
    "junk-under-new-keys": (sends(NEWKEYS + bytes(range(256)) * 4), "malformed", ("protected",)),
    "ignore-flood": (
        sends(packet(bytes([MessageNumber.IGNORE]) + string(b"x" * 100)), forever=True),
        "malformed",
        ("skipped messages",),
    ),
    "huge-plaintext-packet": (
        sends((1 << 31).to_bytes(4, "big") + bytes(64)),
        "malformed",
        ("limit",),
    ),
}


@pytest.mark.parametrize("label", sorted(AFTER_QUERY_REPLY))
def test_the_auth_methods_query_ends_in_time_after_a_hostile_reply(
    serve: Serve, label: str
) -> None:
    misbehaviour, reason, details = AFTER_QUERY_REPLY[label]
    peer = serve(hostile_to(misbehaviour, after_reply=True))

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    # Then the query ends within its bound as a recorded failure, and never asks asyncssh
    assert_auth_probe_failed(seen, reason, details)
    assert not seen.of(SshAuthMethods)


ASYNCSSH_GREETINGS = {
    "endless-lines": b"not yet\r\n" * 4096,
    "huge-line": b"A" * MEGABYTE,
    "binary": bytes(range(256)) * 4,
}
# What asyncssh makes of each: its own bounds on banner lines, or the probe's timeout
ASYNCSSH_REFUSALS = {
    "endless-lines": ("ssh", "Too many banner lines"),
    "huge-line": ("ssh", "Banner line too long"),
    "binary": ("timeout", "no answer to the auth request"),
}


@pytest.mark.parametrize("label", sorted(ASYNCSSH_GREETINGS))
def test_the_auth_methods_probe_ends_in_time_on_a_hostile_identification(
    serve: Serve, label: str
) -> None:
    # Given a server that greets protoaudit's own codec properly, and asyncssh with junk
    peer = serve(ssh_server(to_asyncssh=ASYNCSSH_GREETINGS[label], kex_init=FALLBACK_KEX_INIT))

    seen = audit(f"ssh://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT), label
    seen.assert_no_internal_error()
    (host_key,) = seen.of(SshHostKey)
    assert host_key.signature_valid
    (failure,) = seen.of(ProbeFailure)
    assert failure.probe == "ssh_auth_methods", failure
    assert (failure.reason, failure.detail) == ASYNCSSH_REFUSALS[label], failure


@pytest.mark.slow
def test_a_target_deadline_keeps_the_probes_that_finished(serve: Serve) -> None:
    # Given a server whose host key comes at once and whose auth probe stalls, and a
    # target deadline shorter than the read timeout
    peer = serve(hostile_to_asyncssh(stall))

    started = time.monotonic()
    result = asyncio.run(
        protoaudit.audit(f"ssh://127.0.0.1:{peer.port}", timeout=5, target_deadline=1)
    )
    seen = Audit(result, time.monotonic() - started)

    # Then the audit stops at the deadline, says so, and keeps the host key it had
    assert seen.elapsed < 4
    seen.assert_no_internal_error()
    (deadline,) = seen.of(ProbeFailure)
    assert (deadline.probe, deadline.reason) == ("target", "deadline"), deadline
    (host_key,) = seen.of(SshHostKey)
    assert host_key.signature_valid


# ---------------------------------------------------------------- telnet, rsh


@pytest.mark.slow
def test_a_telnet_target_with_terminal_escapes_and_no_iac_is_not_confirmed(serve: Serve) -> None:
    async def escapes_only(reader: Reader, writer: Writer) -> None:
        await send(writer, b"login: " + ESCAPES + b"\r\n")
        await stall_until_hangup(reader)

    peer = serve(escapes_only)
    target = f"telnet://127.0.0.1:{peer.port}"

    seen = audit(target)
    run = run_cli(target, "--timeout", str(TIMEOUT))

    assert seen.elapsed < stall_bound(TIMEOUT)
    seen.assert_no_internal_error()
    (failure,) = seen.of(ConnectionFailure)
    assert (failure.stage, failure.reason) == ("remote-login", "not-confirmed"), failure
    assert "login:" in failure.detail
    assert not seen.of(PlaintextLoginService)
    assert_clean_exit(run)
    assert not any(unsafe(character) for character in run.stdout), run.stdout


IAC_FLOODS = {
    # label: (what is sent again and again, whether it confirms telnet)
    "iac-iac": (b"\xff" * 4096, False),  # IAC IAC: data byte 255, no negotiation
    "iac-nop": (b"\xff\xf1" * 2048, False),
    # A subnegotiation that never ends proves nothing: it could be any binary data
    "iac-sb-unended": (b"\xff\xfa\x18" + b"\x01" * 4093, False),
    "iac-do": (b"\xff\xfd\x18" * 1365, True),
}


@pytest.mark.parametrize("label", sorted(IAC_FLOODS))
def test_a_telnet_target_that_floods_iac_is_read_within_the_bound(serve: Serve, label: str) -> None:
    chunk, confirmed = IAC_FLOODS[label]

    async def iac_flood(reader: Reader, writer: Writer) -> None:
        del reader
        await write_forever(writer, chunk, limit=None)

    peer = serve(iac_flood)

    seen = audit(f"telnet://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT), label
    seen.assert_no_internal_error()
    if confirmed:
        (service,) = seen.of(PlaintextLoginService)
        assert service.protocol == "telnet"
        assert len(service.banner) <= 200
    else:
        (failure,) = seen.of(ConnectionFailure)
        assert failure.reason == "not-confirmed", failure
        assert len(failure.detail) <= 300


@pytest.mark.parametrize("first", [b"\x02", b"SSH-2.0-OpenSSH_9.2\r\n", b"\xff\xfd\x18"])
def test_an_rsh_target_whose_first_byte_is_not_0_or_1_is_not_confirmed(
    serve: Serve, first: bytes
) -> None:
    async def wrong_status(reader: Reader, writer: Writer) -> None:
        await reader.read(1024)
        await send(writer, first + ESCAPES + b"\n")
        await stall_until_hangup(reader)

    peer = serve(wrong_status)

    seen = audit(f"rsh://127.0.0.1:{peer.port}")

    assert seen.elapsed < stall_bound(TIMEOUT)
    seen.assert_no_internal_error()
    (failure,) = seen.of(ConnectionFailure)
    assert (failure.stage, failure.reason) == ("remote-login", "not-confirmed"), failure
    assert not seen.of(PlaintextLoginService)
    assert not any(unsafe(character) for character in failure.detail), failure.detail


@pytest.fixture
def never_accepts() -> Iterator[int]:
    """A port whose listener takes one connection into its queue and never accepts any.

    The scan's reachability connect fills the queue; every later SYN is dropped, so
    the probe's own connect times out, as with a server that stopped accepting.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("scheme", ["telnet", "rlogin", "rsh", "rexec"])
def test_a_server_that_stops_accepting_is_one_connect_timeout(
    never_accepts: int, scheme: str
) -> None:
    seen = audit(f"{scheme}://127.0.0.1:{never_accepts}")

    # Then one timeout: as root, rlogin and rsh do not go on to the next reserved port
    assert seen.elapsed < stall_bound(TIMEOUT)
    seen.assert_no_internal_error()
    (failure,) = seen.of(ConnectionFailure)
    assert (failure.stage, failure.reason) == ("connect", "timeout"), failure
    assert failure.detail.startswith(f"{scheme}: "), failure


# ---------------------------------------------------------------- a batch


def test_a_batch_keeps_every_target_when_one_misbehaves(serve: Serve) -> None:
    good = serve(ssh_server())
    stalling = serve(ssh_server(after_kex_init=stall))

    async def telnet(reader: Reader, writer: Writer) -> None:
        await send(writer, b"\xff\xfd\x18\xff\xfd\x20login: ")
        await stall_until_hangup(reader)

    telnetd = serve(telnet)

    async def flood_banner(reader: Reader, writer: Writer) -> None:
        del reader
        await write_forever(writer, b"A" * 65536)

    flooding = serve(flood_banner)
    texts = [
        f"ssh://127.0.0.1:{good.port}",
        f"ssh://127.0.0.1:{stalling.port}",
        f"telnet://127.0.0.1:{telnetd.port}",
        f"ssh://127.0.0.1:{flooding.port}",
    ]

    async def run() -> dict[str, Audit]:
        targets = [parse_target(text) for text in texts]
        options = AuditOptions(timeout=TIMEOUT)
        return {
            result.target.original: Audit(result, 0.0)
            async for result in audit_targets(targets, options)
        }

    started = time.monotonic()
    seen = asyncio.run(run())

    assert time.monotonic() - started < stall_bound(TIMEOUT)
    assert sorted(seen) == sorted(texts)
    for result in seen.values():
        result.assert_no_internal_error()
    assert seen[texts[0]].of(SshHostKey)
    assert seen[texts[1]].of(SshAlgorithms)
    assert seen[texts[2]].of(PlaintextLoginService)
    assert only_failure(seen[texts[3]]).reason == "malformed"
