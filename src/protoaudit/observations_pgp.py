"""OpenPGP observations: what reading a key (from a file, DNS or a Web Key Directory) found.

`PgpKey` is one certificate: its primary key, user IDs and subkeys, each with the
self-signature that gives it its properties (expiry, key flags) and whether that signature
verified. `PgpSource` says where the bytes came from and how they were packed;
`OpenPgpKeyRecord` and `WkdLookup` say how an address was looked up. Whether an algorithm
or a size is *wise* is policy's question; these record the numbers.

Code points stay ints (public key algorithm, hash algorithm, signature type: RFC 9580's
registries, named by `protoaudit.proto.openpgp.names` when shown). Fingerprints are upper
case hex, as GnuPG prints them. User IDs and revocation reasons are attacker-controlled
text, kept as they were (decoded as UTF-8, bad octets replaced); reports sanitise them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from protoaudit.observations import Observation

__all__ = [
    "OpenPgpKeyRecord",
    "PgpKey",
    "PgpSignature",
    "PgpSource",
    "PgpSubkey",
    "PgpUserId",
    "WkdFetch",
    "WkdLookup",
]


@dataclass(frozen=True, slots=True)
class PgpSignature:
    """One self-signature: a binding, a direct-key signature or a revocation."""

    signature_type: int  # 0x13 positive certification, 0x18 subkey binding, 0x20 revocation …
    version: int
    hash_algorithm: int
    public_key_algorithm: int
    created: datetime | None  # UTC; None when the hashed area has no creation time
    # True: verified with the primary key; False: does not verify; None: not checked
    # (an algorithm protoaudit cannot check, or more signatures than it checks).
    verified: bool | None
    problem: str | None  # why it is not verified; None when it is


@dataclass(frozen=True, slots=True)
class PgpSubkey:
    fingerprint: str
    version: int
    algorithm: int
    bits: int | None  # RSA modulus, DSA/Elgamal prime, the curve's size; None when unknown
    curve_oid: str | None
    created: datetime
    expires: datetime | None  # from the binding signature; None: never, or no binding
    revoked: bool  # a subkey revocation that verified (or could not be checked)
    revocation_code: int | None  # RFC 9580 5.2.3.31: 0 none given, 1 superseded, 2 compromised …
    revocation_reason: str | None  # the revocation's text, as the key holder wrote it
    key_flags: int | None  # the binding's key flags (RFC 9580 5.2.3.29); None: none given
    capabilities: tuple[str, ...]  # "certify", "sign", "encrypt-communications" … from flags
    binding: PgpSignature | None  # the newest binding that did not fail; None: no binding
    signatures: tuple[PgpSignature, ...]  # every self-signature on the subkey (bounded)


@dataclass(frozen=True, slots=True)
class PgpUserId:
    text: str  # as the key holder wrote it (bounded)
    primary: bool  # its binding says "primary user ID"
    revoked: bool
    binding: PgpSignature | None  # the newest self-certification that did not fail
    signatures: tuple[PgpSignature, ...]  # its self-certifications and revocations (bounded)
    certifications: int  # third-party certifications on it (counted, not checked)


@dataclass(frozen=True, slots=True)
class PgpKey(Observation):
    """One certificate (transferable public key), primary key first."""

    kind: ClassVar[str] = "pgp_key"
    origin: str  # "file", "openpgpkey", "wkd": the PgpSource it came from
    source: str  # that PgpSource's name
    fingerprint: str
    key_id: str
    version: int  # 4, 6 (5: LibrePGP)
    algorithm: int
    bits: int | None
    curve_oid: str | None
    created: datetime
    expires: datetime | None  # None: never, or no self-signature said
    revoked: bool
    revocation_code: int | None
    revocation_reason: str | None
    key_flags: int | None
    capabilities: tuple[str, ...]
    # The self-signature that gives the primary key its properties: a direct-key
    # signature (v6 keys) or the primary user ID's binding.
    binding: PgpSignature | None
    self_signature_hashes: tuple[int, ...]  # hash algorithms of every self-signature, unique
    signatures: tuple[PgpSignature, ...]  # direct-key signatures and revocations (bounded)
    user_ids: tuple[PgpUserId, ...]  # the first MAX_USER_IDS
    user_ids_total: int
    user_attributes: int  # photo IDs and the like (counted)
    subkeys: tuple[PgpSubkey, ...]  # the first MAX_SUBKEYS
    subkeys_total: int
    secret: bool  # the input held secret key material (never read)
    signatures_unchecked: int  # self-signatures beyond what is checked


@dataclass(frozen=True, slots=True)
class PgpSource(Observation):
    """Where key bytes came from, and how they were packed."""

    kind: ClassVar[str] = "pgp_source"
    origin: str  # "file", "openpgpkey" (a DNS record), "wkd" (a Web Key Directory)
    name: str  # the path ("-" for standard input), the DNS owner name, the URL
    address: str | None  # the e-mail address looked up (openpgpkey, wkd)
    size: int  # octets read
    armored: bool
    # The CRC-24 line of the armor: "valid", "mismatch", "absent", "unchecked" (a block over
    # 4 MiB); None for binary input. RFC 9580 6.1: not a reason to reject the data.
    armor_checksum: str | None
    packets: int
    certificates: int  # certificates in the input
    certificates_read: int  # of those, read (at most MAX_CERTIFICATES)
    checked_at: datetime  # when: expiry is judged at this time
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OpenPgpKeyRecord(Observation):
    """An OPENPGPKEY lookup (RFC 7929) and what DNSSEC said about it."""

    kind: ClassVar[str] = "openpgpkey_record"
    address: str
    owner: str  # "<sha256 of the local part, 28 octets, hex>._openpgpkey.<domain>."
    dnssec_status: str  # "secure", "insecure", "bogus", "indeterminate"
    dnssec_reason: str | None
    authenticated: bool  # secure, and the key read is the record that validated
    rcode: str | None
    records: int  # OPENPGPKEY records in the answer
    record_sizes: tuple[int, ...]  # octets of each record's key data
    problem: str | None  # why no key could be read from the answer; None when one was
    detail: str


@dataclass(frozen=True, slots=True)
class WkdFetch:
    method: str  # "advanced" or "direct"
    url: str
    status: int | None  # the HTTP status; None when no answer came
    content_type: str | None
    size: int  # octets read (bounded)
    error: str | None
    key_read: bool  # the body was read as a key (its PgpKey observations follow)


@dataclass(frozen=True, slots=True)
class WkdLookup(Observation):
    """The Web Key Directory URLs for an address (draft-koch-openpgp-webkey-service)."""

    kind: ClassVar[str] = "wkd_lookup"
    address: str
    local_part: str
    domain: str
    hashed_local_part: str  # z-base-32 of SHA-1 of the lower-cased local part
    advanced_url: str
    direct_url: str
    fetched: bool  # False: the URLs were computed only (fetching was not allowed)
    fetches: tuple[WkdFetch, ...]
