"""The codec's results fill the SSH observations field for field (no probe needed to see it)."""

from __future__ import annotations

from datetime import UTC, datetime

from ssh_helpers import capture_machine, expected, feed, load_hex

from protoaudit.observations import (
    SshAlgorithms,
    SshGexModulus,
    SshHostCertificate,
    SshHostKey,
    SshIdentification,
)
from protoaudit.proto.ssh.certificates import HostKey
from protoaudit.proto.ssh.kex import (
    Event,
    GexGroupReceived,
    IdentificationReceived,
    KexInitReceived,
    KexReplyReceived,
)


def events_of(capture: str) -> list[Event]:
    return feed(capture_machine(capture), [load_hex(f"{capture}.hex")])


def host_key_observation(algorithm: str, host_key: HostKey) -> SshHostKey:
    certificate = host_key.certificate
    return SshHostKey(
        algorithm=algorithm,
        key_type=host_key.key_type,
        bits=host_key.bits,
        fingerprint_sha256=host_key.fingerprint_sha256,
        certificate=None
        if certificate is None
        else SshHostCertificate(
            key_id=certificate.key_id,
            serial=certificate.serial,
            principals=certificate.valid_principals,
            valid_after=certificate.valid_after_time,
            valid_before=certificate.valid_before_time,
            ca_key_type=certificate.signature_key.key_type,
            ca_key_bits=certificate.signature_key.bits,
            ca_fingerprint_sha256=certificate.signature_key.fingerprint_sha256,
            signature_algorithm=certificate.signature.algorithm,
        ),
    )


def test_identification_and_algorithms() -> None:
    events = events_of("openssh_curve25519_ed25519")
    assert isinstance(events[0], IdentificationReceived)
    assert isinstance(events[1], KexInitReceived)
    found = events[0].identification
    identification = SshIdentification(
        protocol_version=found.protocol_version,
        software=found.software,
        comments=found.comments,
        line=found.line,
        pre_banner=found.pre_banner,
    )
    assert identification.software.startswith("OpenSSH_")
    kex_init = events[1].kex_init
    algorithms = SshAlgorithms(
        kex=kex_init.kex_algorithms,
        host_key=kex_init.server_host_key_algorithms,
        encryption_client_to_server=kex_init.encryption_algorithms_client_to_server,
        encryption_server_to_client=kex_init.encryption_algorithms_server_to_client,
        mac_client_to_server=kex_init.mac_algorithms_client_to_server,
        mac_server_to_client=kex_init.mac_algorithms_server_to_client,
        compression_client_to_server=kex_init.compression_algorithms_client_to_server,
        compression_server_to_client=kex_init.compression_algorithms_server_to_client,
        first_kex_packet_follows=kex_init.first_kex_packet_follows,
    )
    assert algorithms.kex[-1] == "kex-strict-s-v00@openssh.com"


def test_host_key_and_certificate() -> None:
    reply = events_of("openssh_cert_ed25519")[-2]
    assert isinstance(reply, KexReplyReceived)
    observation = host_key_observation(reply.host_key_algorithm, reply.host_key)
    facts = expected()["keys"]
    assert observation.key_type == "ssh-ed25519"
    assert observation.fingerprint_sha256 == facts["host_ed25519"]["fingerprint"]
    assert observation.certificate == SshHostCertificate(
        key_id="ed25519 host",
        serial=42,
        principals=("localhost", "127.0.0.1"),
        valid_after=datetime(2026, 1, 1, tzinfo=UTC),
        valid_before=datetime(2036, 1, 1, tzinfo=UTC),
        ca_key_type="ssh-ed25519",
        ca_key_bits=256,
        ca_fingerprint_sha256=facts["ca_ed25519"]["fingerprint"],
        signature_algorithm="ssh-ed25519",
    )


def test_gex_modulus() -> None:
    group = events_of("openssh_gex_group_only")[-2]
    assert isinstance(group, GexGroupReceived)
    observation = SshGexModulus(
        kex="diffie-hellman-group-exchange-sha256",
        requested_bits=group.requested,
        modulus_bits=group.prime_bits,
    )
    assert observation.modulus_bits == 3072
