#!/usr/bin/env python3
"""Relay IKE datagrams between host loopback addresses and a charon in its own network namespace.

    relay.py --netns /proc/PID/ns/net --listen 127.0.5.1 [--listen 127.0.5.2 ...] --ports 500,4500

The listening sockets are bound in the namespace the relay starts in (the
host's); then the relay enters the lab namespace (setns), and every client
(source address and port, per listening address and port) gets a socket of its
own there, bound to the *same* source address and port where it can be (all of
127/8 is local inside the namespace too) and connected to the same
destination. So charon sees each probe exactly as the client sent it, and its
NAT detection hashes (RFC 7296 2.23) match the client's: no NAT. Only a client
whose source port is one charon itself listens on (500, 4500: ike-scan's
default) gets another port, and charon then reports a NAT, as it should.

Standard library only (setns through libc: os.setns is Python 3.12+). Flows
idle for 120 s are forgotten; at most 4096 are kept. Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import selectors
import signal
import socket
import sys
import time

CLONE_NEWNET = 0x40000000
IDLE_SECONDS = 120.0
MAX_FLOWS = 4096
MAX_DATAGRAM = 65535


class Stopped(Exception):
    """SIGTERM or SIGINT: leave the loop."""


def enter_namespace(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns({path}): {os.strerror(error)}")
    finally:
        os.close(fd)


def upstream_socket(client: tuple[str, int], destination: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(client)
    except OSError:
        sock.bind((client[0], 0))  # the port is charon's own (500, 4500)
    sock.connect(destination)
    sock.setblocking(False)
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--netns", required=True, help="/proc/PID/ns/net of the lab namespace")
    parser.add_argument("--listen", action="append", required=True, help="host address")
    parser.add_argument("--ports", default="500,4500")
    args = parser.parse_args()
    ports = [int(p) for p in args.ports.split(",")]

    selector = selectors.DefaultSelector()
    listeners: dict[tuple[str, int], socket.socket] = {}
    for address in args.listen:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((address, port))
            sock.setblocking(False)
            listeners[(address, port)] = sock
            selector.register(sock, selectors.EVENT_READ, ("listen", (address, port)))
    enter_namespace(args.netns)

    # (listen address, listen port, client address, client port) -> (socket, last used)
    flows: dict[tuple[str, int, str, int], tuple[socket.socket, float]] = {}

    def stop(_signum: int, _frame: object) -> None:
        # Raised out of select() at once (PEP 475 would resume it until its timeout).
        raise Stopped

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"relay: {args.listen} ports {ports} -> {args.netns}", flush=True)
    with contextlib.suppress(Stopped):
        relay(selector, listeners, flows)
    return 0


def relay(
    selector: selectors.BaseSelector,
    listeners: dict[tuple[str, int], socket.socket],
    flows: dict[tuple[str, int, str, int], tuple[socket.socket, float]],
) -> None:
    while True:
        for key, _ in selector.select(timeout=1.0):
            role, where = key.data
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data, sender = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, ConnectionRefusedError):
                continue  # an ICMP error from charon's side: nothing to relay
            now = time.monotonic()
            if role == "listen":
                flow_key = (*where, *sender)
                flow = flows.get(flow_key)
                if flow is None:
                    if len(flows) >= MAX_FLOWS:
                        continue
                    upstream = upstream_socket(sender, where)
                    selector.register(upstream, selectors.EVENT_READ, ("up", flow_key))
                    flow = (upstream, now)
                flows[flow_key] = (flow[0], now)
                try:
                    flow[0].send(data)
                except OSError as error:
                    print(f"relay: send upstream failed: {error}", file=sys.stderr, flush=True)
            else:
                listen_address, listen_port, client_address, client_port = where
                listener = listeners[(listen_address, listen_port)]
                try:
                    listener.sendto(data, (client_address, client_port))
                except OSError as error:
                    print(f"relay: send to client failed: {error}", file=sys.stderr, flush=True)
                upstream_sock, _ = flows.get(where, (sock, now))
                flows[where] = (upstream_sock, now)
        now = time.monotonic()
        for flow_key, (upstream, used) in list(flows.items()):
            if now - used > IDLE_SECONDS:
                selector.unregister(upstream)
                upstream.close()
                del flows[flow_key]


if __name__ == "__main__":
    sys.exit(main())
