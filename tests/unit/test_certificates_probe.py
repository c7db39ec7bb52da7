"""The certificate probe against a real `openssl s_server` on loopback, and against
peers that refuse, stay silent or send garbage."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from pki_helpers import OPENSSL, make_certificate, make_chain, make_key, s_server, write_pem
from protoaudit.errors import TransportError
from protoaudit.observations import CertificateChain, Observation, ProbeFailure
from protoaudit.probes.tls import certificates
from protoaudit.probes.tls.certificates import FetchFailure, fetch_chain, probe_certificates

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="needs openssl")

NOW = dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Lab:
    port: int
    ca_file: str
    intermediate: x509.Certificate
    rsa_leaf: x509.Certificate
    ecdsa_leaf: x509.Certificate


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    # Given a server with an RSA and an ECDSA leaf under one intermediate, which
    # sends leaf + intermediate and staples an OCSP response
    directory: Path = tmp_path_factory.mktemp("s_server")
    validity = {"not_before": NOW - dt.timedelta(days=1), "not_after": NOW + dt.timedelta(days=30)}
    leaf_names = {"san_dns": ["localhost"], "san_ip": ["127.0.0.1"]}
    (root, _), (intermediate, intermediate_key), (rsa_leaf, rsa_key) = make_chain(
        "Probe Test", "rsa.localhost", make_key("rsa"), **validity, **leaf_names
    )
    ecdsa_key = make_key()
    ecdsa_leaf = make_certificate(
        "ecdsa.localhost", ecdsa_key, (intermediate, intermediate_key), **validity, **leaf_names
    )
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=rsa_leaf,
            issuer=intermediate,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=NOW - dt.timedelta(hours=1),
            next_update=NOW + dt.timedelta(days=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, intermediate)
        .sign(intermediate_key, hashes.SHA256())
    )
    files = {
        "root.pem": root,
        "chain.pem": intermediate,
        "rsa.pem": rsa_leaf,
        "rsa.key": rsa_key,
        "ecdsa.pem": ecdsa_leaf,
        "ecdsa.key": ecdsa_key,
    }
    for name, item in files.items():
        write_pem(directory / name, item)
    (directory / "ocsp.der").write_bytes(response.public_bytes(serialization.Encoding.DER))
    # fmt: off
    arguments = [
        "-cert", "rsa.pem", "-key", "rsa.key", "-cert_chain", "chain.pem",
        "-dcert", "ecdsa.pem", "-dkey", "ecdsa.key", "-dcert_chain", "chain.pem",
        "-status_file", "ocsp.der",
    ]
    # fmt: on
    lab = Lab(0, str(directory / "root.pem"), intermediate, rsa_leaf, ecdsa_leaf)
    yield from _serve(directory, arguments, lab)


def _serve(directory: Path, arguments: list[str], lab: Lab) -> Iterator[Lab]:
    """Run `openssl s_server` on a loopback port it picks, for as long as the test needs."""
    with s_server(directory, *arguments) as port:
        yield dataclasses.replace(lab, port=port)


@pytest.fixture(scope="module")
def rsa_only_lab(lab: Lab) -> Iterator[Lab]:
    # Given a server with the same RSA certificate and no ECDSA one, over TLS 1.2 only
    directory = Path(lab.ca_file).parent
    yield from _serve(
        directory,
        ["-cert", "rsa.pem", "-key", "rsa.key", "-cert_chain", "chain.pem", "-tls1_2"],
        lab,
    )


def _chains(observations: list[Observation]) -> list[CertificateChain]:
    return [o for o in observations if isinstance(o, CertificateChain)]


def _failures(observations: list[Observation]) -> list[ProbeFailure]:
    return [o for o in observations if isinstance(o, ProbeFailure)]


def _probe(
    port: int, *, hostname: str | None, ca_file: str | None, timeout: float = 2.0
) -> list[Observation]:
    return asyncio.run(
        probe_certificates(
            "127.0.0.1",
            port,
            server_name="localhost",
            hostname_to_check=hostname,
            ca_file=ca_file,
            timeout=timeout,
            now=dt.datetime.now(dt.UTC),
        )
    )


def test_both_chains_trusted_with_the_lab_root(lab: Lab) -> None:
    observations = _probe(lab.port, hostname=None, ca_file=lab.ca_file)

    # Then the default chain and the other key type's chain, each once
    assert _failures(observations) == []
    chains = _chains(observations)
    assert len(chains) == 2
    assert chains[0].requested_key_type is None
    leaves = {chain.certificates[0].sha256_fingerprint: chain for chain in chains}
    expected = {
        leaf.fingerprint(hashes.SHA256()).hex(":").upper()
        for leaf in (lab.rsa_leaf, lab.ecdsa_leaf)
    }
    assert set(leaves) == expected
    assert {chain.certificates[0].key_type for chain in chains} == {"RSA", "EC"}
    for chain in chains:
        assert [info.subject for info in chain.certificates[1:]] == [
            "CN=Probe Test Intermediate"
        ]  # as sent: leaf and intermediate, no root
        assert chain.server_name == "localhost"
        assert chain.version == 0x0304
        assert chain.cipher_suite in (0x1301, 0x1302, 0x1303)
        assert chain.trust_store == f"ca-file {lab.ca_file} (instead of the Mozilla roots)"
        assert chain.trusted is True
        assert chain.trust_error is None
        assert (chain.hostname_checked, chain.hostname_matches) == ("localhost", True)
        assert (chain.expired, chain.not_yet_valid, chain.self_signed) == (False, False, False)
        assert chain.chain_incomplete is False
        assert 28 <= chain.days_left <= 30
        assert chain.ocsp_stapled is True


def test_name_mismatch_and_mozilla_roots(lab: Lab) -> None:
    observations = _probe(lab.port, hostname="www.example.org", ca_file=None)

    chains = _chains(observations)
    assert len(chains) == 2
    for chain in chains:
        assert chain.hostname_checked == "www.example.org"
        assert chain.hostname_matches is False
        assert chain.trusted is False
        assert chain.trust_store.startswith("Mozilla")
        # The intermediate was sent; what is missing is the lab root.
        assert chain.chain_incomplete is False
        assert chain.trust_error == (
            "unknown issuer: 'CN=Probe Test Root' was not sent and is not a trusted root"
        )


def test_tls_1_2_fallback_without_signature_algorithm_control(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pyOpenSSL that no longer lends us SSL_CTX_set1_sigalgs_list
    monkeypatch.setattr(certificates, "_restrict_signature_algorithms", lambda *_: False)

    observations = _probe(lab.port, hostname=None, ca_file=lab.ca_file)

    # Then the key-type handshakes fall back to TLS 1.2 and still find both leaves
    chains = _chains(observations)
    assert _failures(observations) == []
    assert {chain.certificates[0].key_type for chain in chains} == {"RSA", "EC"}
    assert [chain.version for chain in chains] == [0x0304, 0x0303]


def test_a_missing_key_type_is_no_chain_not_a_failure(rsa_only_lab: Lab) -> None:
    observations = _probe(rsa_only_lab.port, hostname=None, ca_file=rsa_only_lab.ca_file)

    assert _failures(observations) == []
    chains = _chains(observations)
    assert len(chains) == 1  # the RSA-only handshake found the default chain again
    assert chains[0].certificates[0].key_type == "RSA"
    assert chains[0].version == 0x0303
    assert chains[0].trusted is True
    assert chains[0].ocsp_stapled is False


def test_ip_address_is_checked_against_the_ip_san(lab: Lab) -> None:
    observations = _probe(lab.port, hostname="127.0.0.1", ca_file=lab.ca_file)

    assert [c.hostname_matches for c in _chains(observations)] == [True, True]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_nothing_listening_is_one_failure() -> None:
    started = time.monotonic()

    observations = _probe(_free_port(), hostname=None, ca_file=None, timeout=0.5)

    assert time.monotonic() - started < 2
    assert _chains(observations) == []
    assert [(f.probe, f.reason) for f in _failures(observations)] == [("certificates", "refused")]


async def _probe_against(handler_data: bytes | None, timeout: float) -> list[Observation]:
    """Run the probe against a loopback server that sends `handler_data` (or nothing)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if handler_data is not None:
            writer.write(handler_data)
            await writer.drain()
        try:
            while await reader.read(65536):  # until the client gives up
                pass
        except OSError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        return await probe_certificates(
            "127.0.0.1",
            port,
            server_name="localhost",
            hostname_to_check=None,
            ca_file=None,
            timeout=timeout,
            now=dt.datetime.now(dt.UTC),
        )


def test_garbage_server_is_a_failure_not_an_exception() -> None:
    # 100 random bytes; seeded so that a failure can be replayed
    garbage = random.Random(6125).randbytes(100)
    started = time.monotonic()

    observations = asyncio.run(_probe_against(garbage, timeout=0.5))

    assert time.monotonic() - started < 3
    assert _chains(observations) == []
    failures = _failures(observations)
    assert failures
    assert all(f.probe == "certificates" for f in failures)
    assert failures[0].reason in ("no-tls", "handshake", "alert", "closed", "timeout")


def test_silent_server_times_out() -> None:
    started = time.monotonic()

    observations = asyncio.run(_probe_against(None, timeout=0.3))

    assert time.monotonic() - started < 3
    assert _chains(observations) == []
    assert [f.reason for f in _failures(observations)] == [TransportError.TIMEOUT]


def test_connect_function_errors_come_back_as_data() -> None:
    def refuse(host: str, port: int, timeout: float) -> socket.socket:
        raise TransportError(TransportError.UNREACHABLE, f"{host}:{port} behind a wall")

    result = asyncio.run(
        fetch_chain("192.0.2.1", 443, server_name=None, key_type="RSA", timeout=0.1, connect=refuse)
    )

    assert result == FetchFailure("RSA", "unreachable", "192.0.2.1:443 behind a wall")
