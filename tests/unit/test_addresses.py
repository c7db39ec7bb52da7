"""Targets by IPv6 address and address-family choice, against a real openssl s_server on ::1."""

from __future__ import annotations

import asyncio
import datetime
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import protoaudit
from pki_helpers import OPENSSL, make_certificate, make_key, s_server, write_pem
from protoaudit.observations import ConnectionFailure, TlsVersionSupport
from protoaudit.scan import AuditOptions


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


pytestmark = [
    pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command"),
    pytest.mark.skipif(not _has_ipv6_loopback(), reason="no ::1 on this machine"),
    pytest.mark.timeout(60),
]


@pytest.fixture(scope="module")
def ipv6_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    directory: Path = tmp_path_factory.mktemp("ipv6")
    key = make_key()
    now = datetime.datetime.now(datetime.UTC)
    certificate = make_certificate(
        "localhost",
        key,
        not_before=now - datetime.timedelta(days=1),
        not_after=now + datetime.timedelta(days=30),
        san_ip=["::1"],
    )
    write_pem(directory / "cert.pem", certificate)
    write_pem(directory / "key.pem", key)
    with s_server(directory, "-cert", "cert.pem", "-key", "key.pem", host="[::1]") as port:
        yield port


def test_bracketed_ipv6_target_is_audited_on_that_address(ipv6_server: int) -> None:
    result = asyncio.run(protoaudit.audit(f"[::1]:{ipv6_server}", timeout=3.0))
    assert result.address == "::1"
    supported = {
        o.version for o in result.observations if isinstance(o, TlsVersionSupport) and o.supported
    }
    assert 0x0304 in supported
    assert not [o for o in result.observations if isinstance(o, ConnectionFailure)]


def test_ipv4_only_refuses_an_ipv6_literal_in_one_observation(ipv6_server: int) -> None:
    options = AuditOptions(family=socket.AF_INET, timeout=3.0)
    result = asyncio.run(protoaudit.audit(f"[::1]:{ipv6_server}", options=options))
    (failure,) = result.observations
    assert isinstance(failure, ConnectionFailure)
    assert (failure.stage, failure.reason) == ("resolve", "resolve")


def test_all_addresses_gives_one_result_per_address(ipv6_server: int) -> None:
    # Given a literal address, "every address" is that one address: one result, not two.
    async def run() -> list[protoaudit.TargetResult]:
        target = protoaudit.parse_target(f"[::1]:{ipv6_server}")
        options = AuditOptions(all_addresses=True, timeout=3.0)
        return [result async for result in protoaudit.audit_targets([target], options)]

    results = asyncio.run(run())
    assert [result.address for result in results] == ["::1"]
