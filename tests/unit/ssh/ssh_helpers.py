"""Helpers shared by the SSH codec tests: fixtures on disk, deterministic randomness."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from protoaudit.proto.ssh.kex import ClientOffer, Event, KeyExchange

FIXTURES = Path(__file__).parent / "fixtures"


def load_hex(name: str) -> bytes:
    """A fixture file: hex digits, whitespace ignored, lines starting with '#' are notes."""
    lines = (FIXTURES / name).read_text().splitlines()
    return bytes.fromhex("".join(line for line in lines if not line.lstrip().startswith("#")))


@cache
def expected() -> dict[str, Any]:
    """What capture_fixtures.py learnt from ssh-keygen, sshd -T and the capture itself."""
    data: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text())
    return data


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    """The same bytes for the same seed: a key exchange in a test is replayable."""
    return random.Random(seed).randbytes


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def capture_machine(name: str) -> KeyExchange:
    """The client of a recorded capture, with the rng and offer it had then."""
    capture = expected()["captures"][name]
    return KeyExchange(
        ClientOffer(capture["kex"], capture["host_key_algorithm"]),
        seeded_rng(capture["seed"]),
        stop_after=capture["stop_after"],
    )


def feed(machine: KeyExchange, pieces: Iterable[bytes]) -> list[Event]:
    """Feed `pieces` one at a time and collect every event, sending nothing anywhere."""
    events: list[Event] = []
    for piece in pieces:
        machine.bytes_to_send()
        machine.receive_data(piece)
        while (event := machine.next_event()) is not None:
            events.append(event)
    return events
