"""The SOCKS probes against lab/socks: methods, RFC 1929, SOCKS 4 and CONNECTs equal the truth.

lab/socks/ground_truth.json states what each proxy accepts (from its config
and its source). The CONNECT target is this module's own small TCP service on
127.0.0.1, started here, which counts the connections it gets: the only
place the probes may ever reach through a proxy, and only when named.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from protoaudit.engine.limits import Limiter
from protoaudit.engine.transport import Timeouts
from protoaudit.observations import ConnectionFailure, Observation
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

pytestmark = pytest.mark.lab

TRUTH: dict[str, Mapping[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[2] / "lab" / "socks" / "ground_truth.json").read_text()
)["targets"]
NAMES = sorted(TRUTH)


@dataclass
class Target:
    """A TCP service on loopback that greets and counts whoever connects."""

    port: int = 0
    connections: int = 0
    _server: socket.socket = field(default_factory=socket.socket)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # stop() closed the socket under us
            self.connections += 1
            with connection, contextlib.suppress(OSError):
                connection.sendall(b"protoaudit lab target\n")

    def stop(self) -> None:
        self._stop.set()
        self._server.close()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def context(port: int) -> ProbeContext:
    return ProbeContext(
        host="127.0.0.1",
        address="127.0.0.1",
        port=port,
        server_name=None,
        timeouts=Timeouts(connect=2.0, read=2.0),
        limiter=Limiter(total=64, per_host=16),
        ca_file=None,
        now=datetime.now(UTC),
    )


async def audit(port: int, version: int, target: tuple[str, int] | None) -> list[Observation]:
    sink: list[Observation] = []
    await run_socks_probes(context(port), version, target, sink)
    return sink


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    down = [name for name, t in TRUTH.items() if not _answers(t["port"])]
    if down:
        message = f"SOCKS lab not available: {down} (run lab/start.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    service = Target()
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def results(target: Target) -> dict[str, list[Observation]]:
    async def run() -> list[list[Observation]]:
        jobs = [audit(TRUTH[name]["port"], 5, ("127.0.0.1", target.port)) for name in NAMES]
        return list(await asyncio.gather(*jobs))

    return dict(zip(NAMES, asyncio.run(run()), strict=True))


def one(observations: list[Observation], kind: type[Any]) -> Any:
    found = [o for o in observations if isinstance(o, kind)]
    assert len(found) == 1, observations
    return found[0]


def test_the_lab_has_open_password_and_both() -> None:
    assert {tuple(t["methods_accepted"]) for t in TRUTH.values()} >= {(0,), (2,), (0, 2)}


@pytest.mark.parametrize("name", NAMES)
def test_methods_are_the_truth(results: dict[str, list[Observation]], name: str) -> None:
    methods: SocksMethods = one(results[name], SocksMethods)
    truth = TRUTH[name]
    assert list(methods.accepted) == truth["methods_accepted"]
    assert methods.preferred == truth["preferred"]
    assert methods.preferred_reversed == truth["preferred_reversed"]
    assert all(offer.selected is not None for offer in methods.offers)


@pytest.mark.parametrize("name", NAMES)
def test_rfc1929_only_with_a_fake_pair(results: dict[str, list[Observation]], name: str) -> None:
    probes = [o for o in results[name] if isinstance(o, SocksUsernamePassword)]
    if not TRUTH[name]["username_password"]:
        assert probes == []
        return
    (probe,) = probes
    assert probe.answered
    assert probe.cleartext
    assert probe.fake_pair_accepted is not TRUTH[name]["fake_pair_refused"]
    assert probe.username == "protoaudit-fake-user"


@pytest.mark.parametrize("name", NAMES)
def test_socks4_is_the_truth(results: dict[str, list[Observation]], name: str) -> None:
    detection: Socks4Detection = one(results[name], Socks4Detection)
    assert detection.speaks_socks4 is TRUTH[name]["socks4"]


@pytest.mark.parametrize("name", NAMES)
def test_connects_are_the_truth(results: dict[str, list[Observation]], name: str) -> None:
    connects = {c.version: c for c in results[name] if isinstance(c, SocksConnect)}
    truth = TRUTH[name]
    assert ("5" in connects) is (0 in truth["methods_accepted"])
    if "5" in connects:
        assert connects["5"].succeeded is truth["socks5_connect"]
    assert ("4" in connects) is truth["socks4"]
    if "4" in connects:
        assert connects["4"].succeeded is truth["socks4_connect"]


@pytest.mark.parametrize("name", NAMES)
def test_findings_are_the_truth(results: dict[str, list[Observation]], name: str) -> None:
    ids = sorted(finding.id for finding in evaluate(results[name], SOCKS_RULES))
    assert ids == TRUTH[name]["findings"]


def test_the_target_saw_exactly_the_successful_connects(
    results: dict[str, list[Observation]], target: Target
) -> None:
    succeeded = sum(
        1
        for found in results.values()
        for o in found
        if isinstance(o, SocksConnect) and o.succeeded
    )
    assert succeeded == sum(t["socks5_connect"] + t["socks4_connect"] for t in TRUTH.values())
    assert target.connections == succeeded


def test_without_a_probe_target_nothing_is_relayed(target: Target) -> None:
    # Given the open proxy and no --socks-probe-target
    before = target.connections
    found = asyncio.run(audit(TRUTH["dante-open"]["port"], 5, None))
    # Then nothing connected anywhere, and the finding says it is not proved
    assert not [o for o in found if isinstance(o, SocksConnect)]
    assert target.connections == before
    (finding,) = [f for f in evaluate(found, SOCKS_RULES) if f.id == "socks.open_proxy"]
    assert any("not proved" in line for line in finding.evidence)


def test_a_socks4_target(target: Target) -> None:
    found = asyncio.run(audit(TRUTH["dante-open"]["port"], 4, ("127.0.0.1", target.port)))
    assert not [o for o in found if isinstance(o, SocksMethods)]
    (connect,) = [o for o in found if isinstance(o, SocksConnect)]
    assert (connect.version, connect.succeeded, connect.reply_code) == ("4", True, 90)


def test_a_socks4_target_that_is_socks5_only() -> None:
    found = asyncio.run(audit(TRUTH["microsocks"]["port"], 4, None))
    (failure,) = found
    assert isinstance(failure, ConnectionFailure)
    assert failure.stage == "socks"
