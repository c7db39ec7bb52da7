"""`protoaudit demo`: TLS servers started inside this process, so the audit needs nothing else.

Four servers on 127.0.0.1, each on a free port, built with the stdlib `ssl`
module and certificates made on the spot by a throwaway demo CA:

- modern: TLS 1.3 only, ECDSA P-256, trusted by the demo CA;
- legacy: TLS 1.0-1.2 with every suite this OpenSSL still has, RSA 2048;
- expired: a certificate that ran out a year ago;
- self-signed: a certificate nobody vouches for.

They run on their own event loop in a thread and stop when the context exits.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class DemoServer:
    name: str
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: PrivateKey,
    issuer: str,
    issuer_key: PrivateKey,
    *,
    now: datetime,
    valid: tuple[timedelta, timedelta] = (timedelta(days=-1), timedelta(days=90)),
    ca: bool = False,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + valid[0])
        .not_valid_after(now + valid[1])
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        # Key identifiers and usages: WebPKI validators (cryptography's among them) want them.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(directory: Path, name: str, cert: x509.Certificate, key: PrivateKey) -> tuple[str, str]:
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def _contexts(directory: Path, now: datetime) -> tuple[str, dict[str, ssl.SSLContext]]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate(
        "protoaudit demo CA", ca_key, "protoaudit demo CA", ca_key, now=now, ca=True
    )
    ca_path, _ = _write(directory, "ca", ca_cert, ca_key)

    def server_context(
        name: str, key: PrivateKey, cert: x509.Certificate, minimum: ssl.TLSVersion
    ) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = minimum
        context.load_cert_chain(*_write(directory, name, cert, key))
        return context

    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    contexts = {
        "modern": server_context(
            "modern",
            ec_key,
            _certificate("localhost", ec_key, "protoaudit demo CA", ca_key, now=now),
            ssl.TLSVersion.TLSv1_3,
        ),
        "expired": server_context(
            "expired",
            ec_key,
            _certificate(
                "localhost",
                ec_key,
                "protoaudit demo CA",
                ca_key,
                now=now,
                valid=(timedelta(days=-400), timedelta(days=-35)),
            ),
            ssl.TLSVersion.TLSv1_2,
        ),
        "self-signed": server_context(
            "self-signed",
            rsa_key,
            _certificate("localhost", rsa_key, "localhost", rsa_key, now=now),
            ssl.TLSVersion.TLSv1_2,
        ),
    }
    legacy = server_context(
        "legacy",
        rsa_key,
        _certificate("localhost", rsa_key, "protoaudit demo CA", ca_key, now=now),
        ssl.TLSVersion.TLSv1,
    )
    legacy.maximum_version = ssl.TLSVersion.TLSv1_2
    legacy.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    contexts["legacy"] = legacy
    return ca_path, contexts


async def _drain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.wait_for(reader.read(1024), timeout=5)
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()


@contextmanager
def running_demo_servers() -> Iterator[tuple[str, list[DemoServer]]]:
    """Start the demo servers; yield (CA file, servers); stop them on exit."""
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory(prefix="protoaudit-demo-") as directory:
        ca_path, contexts = _contexts(Path(directory), datetime.now(UTC))
        servers: list[asyncio.Server] = []
        listening: list[DemoServer] = []

        async def start() -> None:
            for name, context in contexts.items():
                server = await asyncio.start_server(
                    _drain, "127.0.0.1", 0, ssl=context, ssl_handshake_timeout=5
                )
                servers.append(server)
                listening.append(DemoServer(name, server.sockets[0].getsockname()[1]))

        thread = threading.Thread(target=loop.run_forever, name="protoaudit-demo", daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
        try:
            yield ca_path, listening
        finally:

            async def stop() -> None:
                for server in servers:
                    server.close()

            asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
