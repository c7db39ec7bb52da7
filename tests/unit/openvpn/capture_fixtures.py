"""Record one OpenVPN control session with the lab's plain UDP server, as golden fixtures.

    python3 tests/unit/openvpn/capture_fixtures.py     # needs lab/openvpn up (ovpn-udp)

Writes fixtures/ovpn_udp_tls12.json: our session id, every packet we sent
and every packet the server sent, in order, as hex. The ClientHello offers
TLS 1.2 only, so that the server's Certificate travels in clear and the
replay can read up to ServerHelloDone. Plain sockets and the codec: what the
tests then replay is what a real OpenVPN 2.6 server said.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

from protoaudit.probes.tls.offers import client_hello, suites_for
from protoaudit.proto.openvpn.channel import ControlChannel, TlsDataReceived
from protoaudit.proto.tls.constants import ProtocolVersion
from protoaudit.proto.tls.exchange import HelloExchange

HERE = Path(__file__).resolve().parent
SESSION_ID = bytes.fromhex("70726f746f617564")  # "protoaud"
ADDRESS = ("127.0.0.1", 11940)


def main() -> int:
    record = client_hello(
        ProtocolVersion.TLS1_2, suites_for(ProtocolVersion.TLS1_2), server_name=None
    )
    exchange = HelloExchange(record, stop_after="server_hello_done")
    channel = ControlChannel(SESSION_ID)
    sent: list[str] = []
    received: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.connect(ADDRESS)
        while not exchange.finished:
            channel.send_tls(exchange.bytes_to_send())
            for packet in channel.packets_to_send():
                sock.send(packet)
                sent.append(packet.hex())
            packet = sock.recv(4096)
            received.append(packet.hex())
            channel.receive_packet(packet)
            while (event := channel.next_event()) is not None:
                if isinstance(event, TlsDataReceived):
                    exchange.receive_data(event.data)
        for packet in channel.packets_to_send():  # the last acknowledgements
            sock.send(packet)
            sent.append(packet.hex())
    document = {
        "_captured_by": "tests/unit/openvpn/capture_fixtures.py against lab/openvpn ovpn-udp",
        "server": "OpenVPN 2.6.14 (Debian 12), plain UDP, RSA-2048 certificate",
        "client_hello": record.hex(),
        "session_id": SESSION_ID.hex(),
        "sent": sent,
        "received": received,
    }
    (HERE / "fixtures" / "ovpn_udp_tls12.json").write_text(json.dumps(document, indent=1) + "\n")
    print(f"{len(sent)} packets sent, {len(received)} received")
    return 0


if __name__ == "__main__":
    sys.exit(main())
