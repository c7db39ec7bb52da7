"""Finding the OpenPGP key published for an e-mail address: DNS (OPENPGPKEY) and WKD.

Theory of operation. RFC 7929 puts a key at `<SHA2-256 of the local part, truncated to
28 octets, hex>._openpgpkey.<domain>` as an OPENPGPKEY record; only a DNSSEC-secure answer
authenticates it (RFC 7929 section 7), so the lookup goes through the project's validator
(`probes.dnssec.validate_name`), whose DnssecStatus is kept as the evidence. That status
carries the answer as presentation lines cut at 512 characters, too short for almost any
key, so when a line was cut the full RRset is asked for again through the same validating
resolver, and the key is taken as authenticated only when both walks were secure and the
second RRset presents exactly as the first.

The Web Key Directory (draft-koch-openpgp-webkey-service) names two URLs per address,
from the z-base-32 of SHA-1 of the lower-cased local part: the advanced method on
`openpgpkey.<domain>` and the direct method on the domain itself. They are always
computed; they are fetched only when the caller allows it, with the standard library,
a timeout, a deadline for the whole body and a size bound, following at most three
redirects and only to HTTPS (or plain HTTP when the URL itself was; tests only).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from http.client import HTTPMessage, HTTPResponse
from typing import IO

import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset

from protoaudit.observations_dns import DnssecStatus
from protoaudit.probes.dnssec import default_root_servers, validate_name
from protoaudit.probes.dnssec_report import MAX_RECORD_TEXT, present
from protoaudit.probes.dnssec_resolver import Resolver
from protoaudit.probes.dnssec_state import MAX_CNAMES, Budget, Stop
from protoaudit.probes.dnssec_transport import Server
from protoaudit.proto.dnssec import reasons
from protoaudit.proto.dnssec.anchors import TrustAnchors, iana_root_anchors
from protoaudit.proto.dnssec.messages import ANSWER, CNAME, DNAME
from protoaudit.sanitize import for_terminal

__all__ = [
    "MAX_WKD_BYTES",
    "AddressError",
    "OpenPgpKeyAnswer",
    "WkdResponse",
    "WkdUrls",
    "fetch_wkd",
    "lookup_openpgpkey",
    "openpgpkey_owner",
    "split_address",
    "wkd_urls",
    "zbase32",
]

MAX_ADDRESS = 320
MAX_WKD_BYTES = 1024 * 1024  # a WKD answer is one key; 1 MiB is generous
MAX_REDIRECTS = 3
_ZBASE32 = "ybndrfg8ejkmcpqxot1uwisza345h769"
_BACKSTOP = 1.0


class AddressError(ValueError):
    """Not an e-mail address we can look up; the message says why."""


def split_address(address: str) -> tuple[str, str]:
    """(local part, domain in lower-case ASCII) of `user@example.com`."""
    text = address.strip()
    if len(text) > MAX_ADDRESS:
        raise AddressError(f"longer than {MAX_ADDRESS} characters")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise AddressError(f"{text!r} is not an e-mail address (user@domain)")
    if any(ord(character) < 0x20 or character == "\x7f" for character in local):
        raise AddressError("control characters in the local part")
    try:
        local.encode("utf-8")
    except UnicodeEncodeError:
        raise AddressError("the local part is not valid Unicode") from None
    try:
        name = dns.name.from_unicode(domain.rstrip("."))
    except (dns.exception.DNSException, UnicodeError, ValueError) as error:
        raise AddressError(f"bad domain {domain!r}: {error}") from None
    if len(name.labels) < 3:  # two labels and the root: no mail to a bare TLD
        raise AddressError(f"bad domain {domain!r}")
    return local, name.to_text(omit_final_dot=True).lower()


def openpgpkey_owner(address: str) -> str:
    """RFC 7929 section 3: the OPENPGPKEY owner name for `address`, absolute."""
    local, domain = split_address(address)
    digest = hashlib.sha256(local.encode("utf-8")).digest()[:28]
    return f"{digest.hex()}._openpgpkey.{domain}."


def zbase32(data: bytes) -> str:
    """z-base-32 (as used by WKD): 5 bits per character, most significant first."""
    bits = int.from_bytes(data, "big")
    count = (len(data) * 8 + 4) // 5
    bits <<= count * 5 - len(data) * 8
    return "".join(_ZBASE32[(bits >> (5 * (count - 1 - index))) & 31] for index in range(count))


@dataclass(frozen=True, slots=True)
class WkdUrls:
    local_part: str
    domain: str
    hashed: str
    advanced: str
    direct: str


def wkd_urls(address: str) -> WkdUrls:
    local, domain = split_address(address)
    lowered = "".join(
        character.lower() if "A" <= character <= "Z" else character for character in local
    )
    hashed = zbase32(hashlib.sha1(lowered.encode("utf-8"), usedforsecurity=False).digest())
    query = urllib.parse.urlencode({"l": local})
    return WkdUrls(
        local_part=local,
        domain=domain,
        hashed=hashed,
        advanced=(
            f"https://openpgpkey.{domain}/.well-known/openpgpkey/{domain}/hu/{hashed}?{query}"
        ),
        direct=f"https://{domain}/.well-known/openpgpkey/hu/{hashed}?{query}",
    )


# --- DNS --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenPgpKeyAnswer:
    owner: str
    status: DnssecStatus
    keys: tuple[bytes, ...]  # each OPENPGPKEY record's key data, whole
    authenticated: bool  # secure, and `keys` are the records that validated
    problem: str | None  # why there are no keys, or why they are not authenticated
    second_status: str | None  # the second walk's status, when one was needed


def _record_key(line: str) -> bytes | None:
    """The key data of one presentation line `owner ttl IN OPENPGPKEY base64…`."""
    fields = line.split(None, 4)
    if len(fields) != 5 or fields[3].upper() != "OPENPGPKEY":
        return None
    try:
        record = dns.rdata.from_text("IN", "OPENPGPKEY", fields[4])
    except (dns.exception.DNSException, ValueError):
        return None
    key: bytes = record.key  # type: ignore[attr-defined]
    return key


async def _full_rrset(
    qname: dns.name.Name,
    *,
    server: tuple[str, int] | None,
    root_servers: Sequence[tuple[str, int]] | None,
    trust_anchors: TrustAnchors | None,
    port: int,
    timeout: float,
    deadline: float,
    now: datetime,
    loopback_only: bool,
) -> tuple[str, dns.rrset.RRset | None]:
    """(status, the OPENPGPKEY RRset) from a second validated walk, CNAMEs followed."""
    loop = asyncio.get_running_loop()
    roots = root_servers if root_servers is not None else default_root_servers(port)
    resolver = Resolver(
        anchors=trust_anchors if trust_anchors is not None else iana_root_anchors(),
        root_servers=[Server(address, server_port) for address, server_port in roots],
        single_server=Server(*server) if server is not None else None,
        port=port,
        timeout=timeout,
        now=now,
        budget=Budget(deadline=loop.time() + deadline),
        loopback_only=loopback_only,
        check_cds=False,
    )
    status, name = reasons.SECURE, qname
    try:
        async with asyncio.timeout(deadline + _BACKSTOP):
            for _ in range(MAX_CNAMES + 1):
                answer = await resolver.resolve(name, dns.rdatatype.OPENPGPKEY)
                status = reasons.worst(status, answer.status)
                if answer.kind in (CNAME, DNAME) and answer.target is not None:
                    name = answer.target
                    continue
                if answer.kind == ANSWER and answer.rrset is not None:
                    return status, answer.rrset.rrset
                return status, None
    except Stop as stop:
        return stop.status, None
    except TimeoutError:
        return reasons.INDETERMINATE, None
    except Exception:  # noqa: BLE001 (hostile records: the validator's own rule)
        return reasons.INDETERMINATE, None
    return reasons.INDETERMINATE, None


async def lookup_openpgpkey(
    address: str,
    *,
    server: tuple[str, int] | None = None,
    root_servers: Sequence[tuple[str, int]] | None = None,
    trust_anchors: TrustAnchors | None = None,
    port: int = 53,
    timeout: float = 3.0,
    deadline: float = 20.0,
    now: datetime,
    loopback_only: bool = False,
) -> OpenPgpKeyAnswer:
    """The OPENPGPKEY records for `address`, validated; AddressError for a bad address."""
    owner = openpgpkey_owner(address)
    status = await validate_name(
        owner,
        "OPENPGPKEY",
        server=server,
        root_servers=root_servers,
        trust_anchors=trust_anchors,
        port=port,
        timeout=timeout,
        deadline=deadline,
        now=now,
        loopback_only=loopback_only,
        check_cds=False,
    )
    secure = status.status == reasons.SECURE
    problem: str | None
    if not status.answer:
        problem = f"no OPENPGPKEY record ({status.rcode or status.reason or status.status})"
        return OpenPgpKeyAnswer(owner, status, (), False, problem, None)
    if all(len(line) < MAX_RECORD_TEXT for line in status.answer):
        keys = [_record_key(line) for line in status.answer]
        found = tuple(key for key in keys if key is not None)
        problem = None if found else "the OPENPGPKEY records could not be read"
        return OpenPgpKeyAnswer(owner, status, found, secure and bool(found), problem, None)
    second, rrset = await _full_rrset(
        dns.name.from_text(owner),
        server=server,
        root_servers=root_servers,
        trust_anchors=trust_anchors,
        port=port,
        timeout=timeout,
        deadline=deadline,
        now=now,
        loopback_only=loopback_only,
    )
    if rrset is None:
        problem = f"the full records could not be fetched again ({second})"
        return OpenPgpKeyAnswer(owner, status, (), False, problem, second)
    found = tuple(record.key for record in rrset)
    same = present(rrset) == status.answer
    authenticated = secure and second == reasons.SECURE and same
    problem = None if same else "the second lookup answered differently from the validated one"
    return OpenPgpKeyAnswer(owner, status, found, authenticated, problem, second)


# --- WKD --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WkdResponse:
    url: str
    status: int | None
    content_type: str | None
    body: bytes | None  # None when nothing usable came (see error)
    error: str | None


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def __init__(self, allow_http: bool) -> None:
        super().__init__()
        self.allow_http = allow_http

    def redirect_request(  # noqa: PLR0917 - urllib's signature
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        scheme = urllib.parse.urlsplit(newurl).scheme.lower()
        if scheme != "https" and not (scheme == "http" and self.allow_http):
            raise urllib.error.HTTPError(newurl, code, f"redirect to {scheme}:", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Watched:
    """Every socket one fetch opens, kept as a duplicate so that its deadline can shut it.

    A shutdown ends a read blocked on the original, TLS-wrapped or not: a server that
    trickles its handshake, status line or headers a byte at a time (each read within
    `timeout`) cannot hold the worker thread, nor the event loop that waits for it at exit.
    """

    def __init__(self) -> None:
        self.copies: list[socket.socket] = []
        self.expired = False

    def create_connection(
        self,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        if self.expired:
            raise TimeoutError("the deadline passed")
        sock = socket.create_connection(address, timeout, source_address)
        self.copies.append(sock.dup())
        return sock

    def cut(self) -> None:
        self.expired = True
        for copy in self.copies:
            with contextlib.suppress(OSError):
                copy.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        for copy in self.copies:
            copy.close()


def _opener(allow_http: bool, watched: _Watched) -> urllib.request.OpenerDirector:
    class Http(http.client.HTTPConnection):
        def connect(self) -> None:
            self._create_connection = watched.create_connection
            super().connect()

    class Https(http.client.HTTPSConnection):
        def connect(self) -> None:
            self._create_connection = watched.create_connection
            super().connect()

    class HttpHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> HTTPResponse:
            return self.do_open(Http, req)

    class HttpsHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> HTTPResponse:
            return self.do_open(Https, req)

    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), HttpHandler, HttpsHandler, _Redirects(allow_http)
    )


def _fetch_blocking(url: str, timeout: float, deadline: float, limit: int) -> WkdResponse:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("https", "http"):
        return WkdResponse(url, None, None, None, f"scheme {scheme!r} is not fetched")
    watched = _Watched()
    timer = threading.Timer(max(deadline - time.monotonic(), 0.0), watched.cut)
    timer.start()
    try:
        return _get(url, _opener(scheme == "http", watched), timeout, limit, watched)
    finally:
        timer.cancel()
        watched.close()


# What a server can make urllib and http.client raise: a refusal, a reset, a status line
# or header that is not HTTP (BadStatusLine, LineTooLong), a chunk that is not one.
_FETCH_ERRORS = (urllib.error.URLError, OSError, ValueError, http.client.HTTPException)


def _get(
    url: str,
    opener: urllib.request.OpenerDirector,
    timeout: float,
    limit: int,
    watched: _Watched,
) -> WkdResponse:
    def failed(status: int | None, content_type: str | None, error: object) -> WkdResponse:
        words = "too slow: the deadline passed" if watched.expired else for_terminal(f"{error}")
        return WkdResponse(url, status, content_type, None, words)

    request = urllib.request.Request(url, headers={"User-Agent": "protoaudit"})  # noqa: S310 (scheme checked above)
    try:
        response: HTTPResponse = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        return failed(error.code, None, f"HTTP {error.code} {error.reason}")
    except _FETCH_ERRORS as error:
        return failed(None, None, getattr(error, "reason", error))
    with response:
        content_type = response.headers.get("Content-Type")
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.read(64 * 1024):
                size += len(chunk)
                if size > limit:
                    return failed(response.status, content_type, f"larger than {limit} octets")
                chunks.append(chunk)
        except _FETCH_ERRORS as error:
            return failed(response.status, content_type, error)
        if watched.expired or response.length:  # cut off, or shorter than Content-Length
            return failed(response.status, content_type, f"{response.length} octets missing")
    return WkdResponse(url, response.status, content_type, b"".join(chunks), None)


async def fetch_wkd(
    url: str, *, timeout: float, deadline: float = 20.0, limit: int = MAX_WKD_BYTES
) -> WkdResponse:
    """GET one WKD URL in a worker thread; every failure is a WkdResponse with an error."""
    ends = time.monotonic() + deadline
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(_fetch_blocking, url, timeout, ends, limit), deadline + _BACKSTOP
        )
    except TimeoutError:
        return WkdResponse(url, None, None, None, "the deadline passed")
