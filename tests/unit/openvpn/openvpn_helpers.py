"""Shared pieces of the OpenVPN codec tests: the captured session, a scripted server side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from protoaudit.proto.openvpn.packets import ControlPacket, Opcode

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLIENT_SESSION = bytes.fromhex("70726f746f617564")
SERVER_SESSION = bytes.fromhex("5345525645523031")


def captured() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "ovpn_udp_tls12.json").read_text())
    return document


def server_reset(*, acks: tuple[int, ...] = (0,), payload: bytes = b"") -> bytes:
    return ControlPacket(
        Opcode.P_CONTROL_HARD_RESET_SERVER_V2,
        0,
        SERVER_SESSION,
        acks,
        CLIENT_SESSION if acks else None,
        0,
        payload,
    ).encode()


def server_control(packet_id: int, payload: bytes, *, acks: tuple[int, ...] = ()) -> bytes:
    return ControlPacket(
        Opcode.P_CONTROL_V1,
        0,
        SERVER_SESSION,
        acks,
        CLIENT_SESSION if acks else None,
        packet_id,
        payload,
    ).encode()


def server_ack(*acks: int, remote: bytes = CLIENT_SESSION) -> bytes:
    return ControlPacket(Opcode.P_ACK_V1, 0, SERVER_SESSION, acks, remote).encode()
