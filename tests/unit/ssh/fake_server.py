"""An in-memory SSH server half, for state-machine tests that need a server misbehaving on cue.

It is built from the codec's own encoders plus `cryptography` for the server's side of
curve25519-sha256 and mlkem768x25519-sha256 and an Ed25519 host key, so the tests
that use it check the state machine's handling, not interoperability: the captured
fixtures from a real sshd and dropbear do that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519

from protoaudit.proto.ssh.constants import MessageNumber
from protoaudit.proto.ssh.encoding import mpint, string
from protoaudit.proto.ssh.ident import parse_identification
from protoaudit.proto.ssh.kexinit import KexInit
from protoaudit.proto.ssh.keys import EdwardsKey, encode_public_key
from protoaudit.proto.ssh.packet import PacketReader, encode_packet
from protoaudit.proto.ssh.signatures import Signature

SERVER_IDENTIFICATION = b"SSH-2.0-FakeSSH_1.0 test"
ZERO_PADDING = bytes  # rng for the server's padding: zeros are as good as any


def server_kex_init(**changes: object) -> KexInit:
    base = KexInit(
        cookie=bytes(range(16)),
        kex_algorithms=("curve25519-sha256", "mlkem768x25519-sha256", "ecdh-sha2-nistp256"),
        server_host_key_algorithms=("ssh-ed25519",),
        encryption_algorithms_client_to_server=("aes128-ctr",),
        encryption_algorithms_server_to_client=("aes128-ctr",),
        mac_algorithms_client_to_server=("hmac-sha2-256",),
        mac_algorithms_server_to_client=("hmac-sha2-256",),
        compression_algorithms_client_to_server=("none",),
        compression_algorithms_server_to_client=("none",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def packet(payload: bytes) -> bytes:
    return encode_packet(payload, ZERO_PADDING)


@dataclass
class ClientFlight:
    """What the client sent: its identification, its KEXINIT payload, then its INIT payload."""

    identification: bytes
    kex_init: bytes
    init: bytes | None


def read_client(output: bytes) -> ClientFlight:
    parsed = parse_identification(output)
    assert parsed is not None
    identification, rest = parsed
    reader = PacketReader()
    reader.feed(rest)
    kex_init = reader.next_payload()
    assert kex_init is not None
    return ClientFlight(identification.raw, kex_init, reader.next_payload())


class FakeServer:
    """Says what it is told to; computes a correct reply for curve25519 or the ML-KEM hybrid."""

    def __init__(self, kex_init: KexInit | None = None, seed: int = 7) -> None:
        self.kex_init = kex_init or server_kex_init()
        self.identification = SERVER_IDENTIFICATION
        self.host_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        self.host_key_blob = encode_public_key(
            "ssh-ed25519", EdwardsKey("ed25519", self.host_key.public_key().public_bytes_raw())
        )
        self._x25519 = x25519.X25519PrivateKey.from_private_bytes(bytes([seed + 1]) * 32)

    def prelude(self) -> bytes:
        """The identification line and the KEXINIT packet."""
        return self.identification + b"\r\n" + packet(self.kex_init.encode())

    def reply(self, client_output: bytes, *, tamper: bool = False) -> bytes:
        """The KEXDH/hybrid reply packet for what the client sent, signed with the host key."""
        client = read_client(client_output)
        assert client.init is not None
        assert client.init[0] == MessageNumber.KEXDH_INIT
        client_public = client.init[1:]
        length = int.from_bytes(client_public[:4], "big")
        client_value = client_public[4 : 4 + length]
        if length == 32:
            server_value = self._x25519.public_key().public_bytes_raw()
            secret = self._x25519.exchange(x25519.X25519PublicKey.from_public_bytes(client_value))
            shared = mpint(int.from_bytes(secret, "big"))
            hash_name = "sha256"
        else:
            kem_public = mlkem.MLKEM768PublicKey.from_public_bytes(client_value[:1184])
            post_quantum, ciphertext = kem_public.encapsulate()
            classical = self._x25519.exchange(
                x25519.X25519PublicKey.from_public_bytes(client_value[1184:])
            )
            server_value = ciphertext + self._x25519.public_key().public_bytes_raw()
            shared = string(hashlib.sha256(post_quantum + classical).digest())
            hash_name = "sha256"
        exchange_hash = hashlib.new(
            hash_name,
            string(client.identification)
            + string(self.identification)
            + string(client.kex_init)
            + string(self.kex_init.encode())
            + string(self.host_key_blob)
            + string(client_value)
            + string(server_value)
            + shared,
        ).digest()
        signed = self.host_key.sign(exchange_hash)
        if tamper:
            signed = bytes([signed[0] ^ 1]) + signed[1:]
        signature = Signature("ssh-ed25519", signed).encode()
        payload = (
            bytes([MessageNumber.KEXDH_REPLY])
            + string(self.host_key_blob)
            + string(server_value)
            + string(signature)
        )
        return packet(payload)
