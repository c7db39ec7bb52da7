"""Host key blobs, plain or OpenSSH certificates (PROTOCOL.certkeys, v01).

    string    "ssh-ed25519-cert-v01@openssh.com" (or another *-cert-v01 type)
    string    nonce
    ...       the certified key's fields, as in its plain blob (keys.py)
    uint64    serial
    uint32    type (1 user, 2 host)
    string    key id
    string    valid principals      (a packed sequence of strings)
    uint64    valid after           (0: from the beginning of time)
    uint64    valid before          (2^64-1: forever)
    string    critical options      (packed (name, data) string pairs)
    string    extensions            (likewise)
    string    reserved
    string    signature key         (a plain key blob: a CA may not be a certificate)
    string    signature             (over every byte before this field)

`decode_host_key` takes what a KEXDH_REPLY carries in K_S. It checks the
structure, not the policy: a user certificate, an expired one or one whose
CA signature fails still decodes, and `Certificate.signature_valid()` and the
fields say so. Bounded: at most MAX_PRINCIPALS principals and MAX_OPTIONS
critical options or extensions, each inside the blob's own length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from protoaudit.errors import DecodeError
from protoaudit.proto.ssh.constants import PROTOCOL
from protoaudit.proto.ssh.encoding import (
    read_string,
    read_text,
    read_uint64,
    write_string,
    write_text,
    write_uint64,
)
from protoaudit.proto.ssh.keys import (
    KeyMaterial,
    PublicKey,
    decode_public_key,
    encode_public_key,
    read_key_type,
    read_material,
    write_material,
)
from protoaudit.proto.ssh.signatures import Signature, decode_signature, verify_signature
from protoaudit.wire import Reader, Writer

CERTIFICATE_SUFFIX = "-cert-v01@openssh.com"
SECURITY_KEY_PREFIX = "sk-"
USER_CERTIFICATE = 1
HOST_CERTIFICATE = 2
FOREVER = 2**64 - 1  # valid before: no end
MAX_PRINCIPALS = 256  # OpenSSH's SSHKEY_CERT_MAX_PRINCIPALS
MAX_OPTIONS = 64
_LAST_DATETIME = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())


def certified_key_type(blob_type: str) -> str | None:
    """The plain key type a certificate type certifies, or None for a plain type."""
    if not blob_type.endswith(CERTIFICATE_SUFFIX):
        return None
    base = blob_type[: -len(CERTIFICATE_SUFFIX)]
    # sk-ssh-ed25519-cert-v01@openssh.com certifies sk-ssh-ed25519@openssh.com.
    return base + "@openssh.com" if base.startswith(SECURITY_KEY_PREFIX) else base


def certificate_time(value: int) -> datetime | None:
    """A validity bound as a UTC datetime; None for 0 and 2^64-1, the unbounded ends."""
    if value in (0, FOREVER):
        return None
    return datetime.fromtimestamp(min(value, _LAST_DATETIME), UTC)


@dataclass(frozen=True, slots=True)
class Certificate:
    nonce: bytes
    serial: int
    type: int  # USER_CERTIFICATE or HOST_CERTIFICATE, or whatever the CA wrote
    key_id: str
    valid_principals: tuple[str, ...]
    valid_after: int
    valid_before: int
    critical_options: tuple[tuple[str, bytes], ...]
    extensions: tuple[tuple[str, bytes], ...]
    reserved: bytes
    signature_key: PublicKey  # the CA's key
    signature: Signature
    signed_data: bytes = field(repr=False)  # the blob up to the signature field

    @property
    def host(self) -> bool:
        return self.type == HOST_CERTIFICATE

    @property
    def valid_after_time(self) -> datetime | None:
        return certificate_time(self.valid_after)

    @property
    def valid_before_time(self) -> datetime | None:
        return certificate_time(self.valid_before)

    def signature_valid(self) -> bool:
        """The CA's signature over the certificate verifies with the CA's key."""
        return verify_signature(self.signature_key, self.signature, self.signed_data)


@dataclass(frozen=True, slots=True)
class HostKey:
    """K_S as the server sent it: a plain key, or a certificate and the key it certifies."""

    blob_type: str  # the blob's type string: "ssh-rsa", "ssh-ed25519-cert-v01@openssh.com" ...
    key: PublicKey  # the host key itself, plain
    certificate: Certificate | None
    blob: bytes = field(repr=False)

    @property
    def key_type(self) -> str:
        return self.key.key_type

    @property
    def bits(self) -> int:
        return self.key.bits

    @property
    def fingerprint_sha256(self) -> str:
        return self.key.fingerprint_sha256


def decode_host_key(blob: bytes) -> HostKey:
    """A host key blob (K_S), plain or certificate."""
    reader = Reader(blob, PROTOCOL)
    blob_type = read_key_type(reader, "host_key.type")
    key_type = certified_key_type(blob_type)
    if key_type is None:
        return HostKey(blob_type, decode_public_key(blob, "host_key"), None, blob)
    nonce = read_string(reader, "certificate.nonce")
    material = read_material(key_type, reader, "certificate.key")
    serial = read_uint64(reader, "certificate.serial")
    certificate_type = reader.u32("certificate.type")
    key_id = read_text(reader, "certificate.key_id")
    with reader.block(4, "certificate.valid_principals") as inner:
        principals = _principals(inner)
    valid_after = read_uint64(reader, "certificate.valid_after")
    valid_before = read_uint64(reader, "certificate.valid_before")
    with reader.block(4, "certificate.critical_options") as inner:
        critical_options = _options(inner, "certificate.critical_options")
    with reader.block(4, "certificate.extensions") as inner:
        extensions = _options(inner, "certificate.extensions")
    reserved = read_string(reader, "certificate.reserved")
    signature_key = _ca_key(reader)
    signed_data = blob[: reader.offset]
    signature = decode_signature(read_string(reader, "certificate.signature"))
    reader.expect_end("certificate")
    certificate = Certificate(
        nonce=nonce,
        serial=serial,
        type=certificate_type,
        key_id=key_id,
        valid_principals=principals,
        valid_after=valid_after,
        valid_before=valid_before,
        critical_options=critical_options,
        extensions=extensions,
        reserved=reserved,
        signature_key=signature_key,
        signature=signature,
        signed_data=signed_data,
    )
    key = PublicKey(key_type, material, encode_public_key(key_type, material))
    return HostKey(blob_type, key, certificate, blob)


def encode_certificate(blob_type: str, material: KeyMaterial, certificate: Certificate) -> bytes:
    """A certificate blob from its fields (`signed_data` is ignored and rebuilt)."""
    writer = write_string(Writer(), blob_type.encode("ascii"))
    write_string(writer, certificate.nonce)
    write_material(writer, material)
    write_uint64(writer, certificate.serial).u32(certificate.type)
    write_text(writer, certificate.key_id)
    principals = Writer()
    for principal in certificate.valid_principals:
        write_text(principals, principal)
    write_string(writer, principals.getvalue())
    write_uint64(write_uint64(writer, certificate.valid_after), certificate.valid_before)
    for options in (certificate.critical_options, certificate.extensions):
        packed = Writer()
        for name, data in options:
            write_string(write_text(packed, name), data)
        write_string(writer, packed.getvalue())
    write_string(writer, certificate.reserved)
    write_string(writer, certificate.signature_key.blob)
    return write_string(writer, certificate.signature.encode()).getvalue()


def _principals(reader: Reader) -> tuple[str, ...]:
    principals: list[str] = []
    while not reader.at_end():
        if len(principals) >= MAX_PRINCIPALS:
            raise reader.fail("certificate.valid_principals", f"more than {MAX_PRINCIPALS}")
        principals.append(read_text(reader, "certificate.valid_principals"))
    return tuple(principals)


def _options(reader: Reader, field_name: str) -> tuple[tuple[str, bytes], ...]:
    options: list[tuple[str, bytes]] = []
    while not reader.at_end():
        if len(options) >= MAX_OPTIONS:
            raise reader.fail(field_name, f"more than {MAX_OPTIONS}")
        name = read_text(reader, f"{field_name}.name")
        options.append((name, read_string(reader, f"{field_name}.data")))
    return tuple(options)


def _ca_key(reader: Reader) -> PublicKey:
    start = reader.offset
    blob = read_string(reader, "certificate.signature_key")
    key = decode_public_key(blob, "certificate.signature_key")
    if certified_key_type(key.key_type) is not None:
        raise DecodeError(
            PROTOCOL, "certificate.signature_key", start, "the CA key is itself a certificate"
        )
    return key
