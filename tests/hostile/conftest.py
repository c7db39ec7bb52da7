"""Fixtures for the hostile-peer tests; the peers themselves are in hostile_helpers."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from hostile_helpers import Answer, Handler, Peer, UdpPeer


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Peer]]:
    """Start a hostile peer with the given handler; every peer stops at teardown."""
    peers: list[Peer] = []

    def start(handler: Handler) -> Peer:
        peer = Peer(handler)
        peer.start()
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        peer.stop()
    errors = [error for peer in peers for error in peer.errors]
    assert not errors, f"a hostile peer's handler failed: {errors!r}"


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def udp() -> Iterator[Callable[[Answer], UdpPeer]]:
    """Start UDP peers (hostile_helpers.UdpPeer); all stopped after the test."""
    peers: list[UdpPeer] = []

    def start(answer: Answer) -> UdpPeer:
        made = UdpPeer(answer)
        peers.append(made)
        return made

    yield start
    for made in peers:
        made.stop()
