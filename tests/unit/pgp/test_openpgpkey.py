"""openpgpkey: targets: the RFC 7929 owner name, the WKD URLs, the lookup and the fetch.

DNS: the DNSSEC unit tests' in-process authority (zone_server, 127.0.0.1-3) serves a signed
root and test. zone with OPENPGPKEY records (openpgpkey_zones); the validator walks it from
the root with its own trust anchor. WKD: a local http.server on 127.0.0.1. Nothing leaves
the loopback network.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from protoaudit.observations import Observation
from protoaudit.observations_dns import DnssecStatus
from protoaudit.observations_pgp import OpenPgpKeyRecord, PgpKey, PgpSource, WkdLookup
from protoaudit.pgp.reader import PgpInputError
from protoaudit.pgp_command import audit_openpgpkey
from protoaudit.probes.dnssec_settings import ValidationSettings
from protoaudit.probes.openpgpkey import (
    AddressError,
    fetch_wkd,
    openpgpkey_owner,
    split_address,
    wkd_urls,
    zbase32,
)
from unit.dnssec.dnssec_helpers import NOW
from unit.dnssec.zone_server import start_servers, stop_servers
from unit.pgp import pgp_builder as build
from unit.pgp.gpg_keys import GpgKeys
from unit.pgp.openpgpkey_zones import ROOT, OpenPgpKeyTree
from unit.pgp.openpgpkey_zones import build as build_tree


def test_owner_name_is_rfc_7929s_example() -> None:
    # RFC 7929 section 3: hugh@example.com
    assert openpgpkey_owner("hugh@example.com") == (
        "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._openpgpkey.example.com."
    )


def test_owner_name_keeps_the_local_part_and_lowers_the_domain() -> None:
    assert openpgpkey_owner("Hugh@EXAMPLE.com") != openpgpkey_owner("hugh@example.com")
    assert openpgpkey_owner("hugh@EXAMPLE.com") == openpgpkey_owner("hugh@example.com")


def test_wkd_urls_are_the_drafts_example() -> None:
    urls = wkd_urls("Joe.Doe@Example.ORG")
    assert urls.hashed == "iy9q119eutrkn8s1mk4r39qejnbu3n5q"
    assert urls.advanced == (
        "https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/"
        "iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"
    )
    assert urls.direct == (
        "https://example.org/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"
    )


def test_zbase32() -> None:
    assert zbase32(b"") == ""
    assert zbase32(b"\x00") == "yy"
    assert zbase32(b"\xff" * 5) == "9" * 8


def test_unicode_domain_and_local_part() -> None:
    local, domain = split_address("jörg@bücher.example")
    assert (local, domain) == ("jörg", "xn--bcher-kva.example")
    assert "?l=j%C3%B6rg" in wkd_urls("jörg@bücher.example").direct


@pytest.mark.parametrize(
    "address",
    [
        "nobody",
        "@example.com",
        "a@",
        "a@com",
        "a\n@example.com",
        "a@" + "x" * 400,
        "\udcff@example.com",
        "a@" + "x" * 70 + ".com",
    ],
)
def test_bad_addresses(address: str) -> None:
    with pytest.raises(AddressError):
        split_address(address)


def test_audit_rejects_a_bad_address_in_one_line() -> None:
    settings = ValidationSettings(server=("127.0.0.1", 9))
    with pytest.raises(PgpInputError, match="openpgpkey: 'nobody' is not an e-mail address"):
        asyncio.run(audit_openpgpkey("nobody", settings, timeout=0.1, now=NOW))


# --- DNS ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def records(gpg_keys: GpgKeys) -> dict[str, bytes]:
    small = build.certificate(build.Key(), [b"Small <small@example.test>"])
    return {
        "ed25519@example.test": gpg_keys.binary["ed25519"],  # too long for one answer line
        "small@example.test": small,  # fits in one answer line
        "other@example.test": gpg_keys.binary["rsa3072"],  # no user ID for the address
        "tampered@example.test": small,
        "replacement@example.test": gpg_keys.binary["nistp256"],
        "secret@example.test": gpg_keys.secret,
        "garbage@example.test": b"\x99\x00\x05not a key",
        "carol@insecure.test": small,
    }


@pytest.fixture(scope="module")
def tree(records: dict[str, bytes]) -> OpenPgpKeyTree:
    return build_tree(records, tamper=("tampered@example.test",))


def serve(tree: OpenPgpKeyTree, scenario: Callable[[int], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        port, servers = await start_servers(tree.layout)
        try:
            return await scenario(port)
        finally:
            await stop_servers(servers)

    return asyncio.run(main())


def lookup(tree: OpenPgpKeyTree, address: str, **options: Any) -> list[Observation]:
    async def scenario(port: int) -> list[Observation]:
        settings = ValidationSettings(root_servers=((ROOT, port),), trust_anchors=tree.anchors)
        return await audit_openpgpkey(
            address, settings, timeout=1.0, now=NOW, port=port, loopback_only=True, **options
        )

    result: list[Observation] = serve(tree, scenario)
    return result


def only(observations: list[Observation], kind: type[Any]) -> Any:
    (found,) = [item for item in observations if isinstance(item, kind)]
    return found


def test_secure_record_too_long_for_one_answer_line(
    tree: OpenPgpKeyTree, gpg_keys: GpgKeys
) -> None:
    observations = lookup(tree, "ed25519@example.test")
    record = only(observations, OpenPgpKeyRecord)
    status = only(observations, DnssecStatus)
    assert status.status == "secure"
    assert len(status.answer[0]) == 512  # cut by the validator: the key came from a second walk
    assert record.authenticated
    assert record.record_sizes == (len(gpg_keys.binary["ed25519"]),)
    assert record.problem is None
    key = only(observations, PgpKey)
    assert key.fingerprint == gpg_keys.fingerprints["ed25519"]
    assert key.origin == "openpgpkey"
    source = only(observations, PgpSource)
    assert (source.origin, source.address) == ("openpgpkey", "ed25519@example.test")
    assert source.name == record.owner
    wkd = only(observations, WkdLookup)
    assert not wkd.fetched
    assert wkd.fetches == ()


def test_secure_short_record(tree: OpenPgpKeyTree) -> None:
    observations = lookup(tree, "small@example.test")
    record = only(observations, OpenPgpKeyRecord)
    assert len(only(observations, DnssecStatus).answer[0]) < 512
    assert record.authenticated
    assert only(observations, PgpKey).user_ids[0].text == "Small <small@example.test>"


def test_tampered_record_is_bogus(tree: OpenPgpKeyTree, gpg_keys: GpgKeys) -> None:
    observations = lookup(tree, "tampered@example.test")
    record = only(observations, OpenPgpKeyRecord)
    assert (record.dnssec_status, record.dnssec_reason) == ("bogus", "signature_invalid")
    assert not record.authenticated
    # The substituted key is still read and shown: the report must say what was served.
    assert only(observations, PgpKey).fingerprint == gpg_keys.fingerprints["nistp256"]


def test_unsigned_zone_is_insecure(tree: OpenPgpKeyTree) -> None:
    record = only(lookup(tree, "carol@insecure.test"), OpenPgpKeyRecord)
    assert (record.dnssec_status, record.dnssec_reason) == ("insecure", "unsigned_delegation")
    assert not record.authenticated
    assert record.records == 1


def test_no_record(tree: OpenPgpKeyTree) -> None:
    observations = lookup(tree, "nobody@example.test")
    record = only(observations, OpenPgpKeyRecord)
    assert (record.dnssec_status, record.rcode, record.records) == ("secure", "NXDOMAIN", 0)
    assert record.problem == "no OPENPGPKEY record (NXDOMAIN)"
    assert not any(isinstance(item, PgpKey) for item in observations)


def test_record_that_is_not_a_key(tree: OpenPgpKeyTree) -> None:
    observations = lookup(tree, "garbage@example.test")
    record = only(observations, OpenPgpKeyRecord)
    assert record.dnssec_status == "secure"
    assert not record.authenticated
    assert record.problem is not None
    assert record.problem.startswith("record 1: not an OpenPGP key")
    assert not any(isinstance(item, PgpKey) for item in observations)


def test_published_secret_key_is_flagged(tree: OpenPgpKeyTree) -> None:
    assert only(lookup(tree, "secret@example.test"), PgpKey).secret


def test_dns_server_that_does_not_answer() -> None:
    settings = ValidationSettings(server=("127.0.0.1", 9))  # discard: nothing answers

    async def scenario() -> list[Observation]:
        return await audit_openpgpkey(
            "a@example.test", settings, timeout=0.2, deadline=1.0, now=NOW, loopback_only=True
        )

    record = only(asyncio.run(scenario()), OpenPgpKeyRecord)
    assert record.dnssec_status == "indeterminate"
    assert record.records == 0
    assert not record.authenticated


# --- WKD ----------------------------------------------------------------------------------


Routes = dict[str, tuple[int, dict[str, str], bytes]]


class WkdHandler(BaseHTTPRequestHandler):
    routes: ClassVar[Routes] = {}  # each test server gets its own (see wkd_server)

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path.split("?")[0], (404, {}, b"no"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def wkd_server() -> Iterator[tuple[str, Routes]]:
    routes: Routes = {}
    handler = type("Handler", (WkdHandler,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3].split("?", maxsplit=1)[0]


def test_wkd_fetch_falls_back_to_the_direct_method(
    tree: OpenPgpKeyTree, records: dict[str, bytes], wkd_server: Any
) -> None:
    base, routes = wkd_server
    urls = wkd_urls("small@example.test")
    routes[_path(urls.direct)] = (
        200,
        {"Content-Type": "application/octet-stream"},
        records["small@example.test"],
    )
    observations = lookup(tree, "small@example.test", fetch_wkd=True, wkd_base=base)
    wkd = only(observations, WkdLookup)
    assert wkd.fetched
    advanced, direct = wkd.fetches
    assert (advanced.method, advanced.status, advanced.key_read) == ("advanced", 404, False)
    assert (direct.method, direct.status, direct.key_read) == ("direct", 200, True)
    assert direct.content_type == "application/octet-stream"
    sources = [item for item in observations if isinstance(item, PgpSource)]
    assert [source.origin for source in sources] == ["openpgpkey", "wkd"]
    assert sources[1].name == direct.url
    assert direct.url.startswith(base)


def test_wkd_advanced_method_first(
    tree: OpenPgpKeyTree, records: dict[str, bytes], wkd_server: Any
) -> None:
    base, routes = wkd_server
    urls = wkd_urls("small@example.test")
    routes[_path(urls.advanced)] = (200, {}, records["small@example.test"])
    wkd = only(lookup(tree, "small@example.test", fetch_wkd=True, wkd_base=base), WkdLookup)
    assert [fetch.method for fetch in wkd.fetches] == ["advanced"]


def test_wkd_answer_that_is_not_a_key(tree: OpenPgpKeyTree, wkd_server: Any) -> None:
    base, routes = wkd_server
    urls = wkd_urls("small@example.test")
    routes[_path(urls.advanced)] = (200, {"Content-Type": "text/html"}, b"<html>hi</html>")
    wkd = only(lookup(tree, "small@example.test", fetch_wkd=True, wkd_base=base), WkdLookup)
    assert wkd.fetches[0].error is not None
    assert "OpenPGP key" in wkd.fetches[0].error
    assert not wkd.fetches[0].key_read


def _fetch(url: str, **options: Any) -> Any:
    return asyncio.run(fetch_wkd(url, timeout=2.0, **options))


def test_fetch_bounds_the_size(wkd_server: Any) -> None:
    base, routes = wkd_server
    routes["/big"] = (200, {}, b"x" * 300_000)
    response = _fetch(f"{base}/big", limit=100_000)
    assert (response.status, response.body) == (200, None)
    assert response.error == "larger than 100000 octets"


def test_fetch_refuses_redirects_off_http(wkd_server: Any) -> None:
    base, routes = wkd_server
    routes["/away"] = (302, {"Location": "file:///etc/passwd"}, b"")
    routes["/ftp"] = (302, {"Location": "ftp://127.0.0.1/key"}, b"")
    for path in ("/away", "/ftp"):
        response = _fetch(f"{base}{path}")
        assert response.body is None
        assert response.status == 302


def test_fetch_follows_a_few_redirects(wkd_server: Any) -> None:
    base, routes = wkd_server
    routes["/one"] = (302, {"Location": f"{base}/two"}, b"")
    routes["/two"] = (200, {}, b"key")
    assert _fetch(f"{base}/one").body == b"key"
    routes["/loop"] = (302, {"Location": f"{base}/loop"}, b"")
    assert _fetch(f"{base}/loop").body is None


def test_fetch_other_schemes_and_closed_ports() -> None:
    assert _fetch("file:///etc/passwd").error == "scheme 'file' is not fetched"
    refused = _fetch("http://127.0.0.1:9/")
    assert (refused.status, refused.body) == (None, None)
    assert refused.error


def test_zone_server_is_only_on_loopback(tree: OpenPgpKeyTree) -> None:
    assert all(address.startswith("127.") for address in tree.layout)
