"""Zones built and signed in memory for the DNSSEC tests, with a fixed clock.

Keys come from `cryptography` (ECDSA P-256/P-384, Ed25519, Ed448, RSA 1024/2048 with SHA-1,
SHA-256 and SHA-512), one per (algorithm, role, size, index), generated once per test run.
`sign_zone_text` signs every authoritative RRset (the KSKs sign the DNSKEY set, the ZSKs the
rest; at a delegation only the DS), then builds the NSEC chain or an NSEC3 chain (with empty
non-terminals, and opt-out leaving unsigned delegations out), so the tests can break any one
piece afterwards: expire a signature, drop an RRSIG, change a record after signing.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dns.dnssec
import dns.dnssectypes
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.RRSIG import RRSIG
from dns.rdtypes.util import Bitmap

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
INCEPTION = NOW - timedelta(days=1)
EXPIRATION = NOW + timedelta(days=30)
TTL = 300
KSK_FLAGS = 257
ZSK_FLAGS = 256

Algorithm = dns.dnssectypes.Algorithm


@dataclass(frozen=True)
class Key:
    private: object
    dnskey: DNSKEY

    @property
    def tag(self) -> int:
        return dns.dnssec.key_id(self.dnskey)

    @property
    def ksk(self) -> bool:
        return bool(self.dnskey.flags & 1)


@functools.cache
def make_key(
    algorithm: str = "ECDSAP256SHA256", *, ksk: bool, bits: int = 2048, index: int = 0
) -> Key:
    """A key pair; the same arguments give the same key within a test run."""
    del index  # only part of the cache key: lets a test ask for a second, different key
    code = Algorithm[algorithm]
    private: object
    if code in (Algorithm.ECDSAP256SHA256, Algorithm.ECDSAP384SHA384):
        curve = ec.SECP256R1() if code == Algorithm.ECDSAP256SHA256 else ec.SECP384R1()
        private = ec.generate_private_key(curve)
    elif code == Algorithm.ED25519:
        private = ed25519.Ed25519PrivateKey.generate()
    elif code == Algorithm.ED448:
        private = ed448.Ed448PrivateKey.generate()
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    public = private.public_key()  # type: ignore[attr-defined]
    dnskey = dns.dnssec.make_dnskey(public, code, flags=KSK_FLAGS if ksk else ZSK_FLAGS)
    return Key(private, dnskey)


def default_keys(algorithm: str = "ECDSAP256SHA256", bits: int = 2048, index: int = 0) -> list[Key]:
    return [
        make_key(algorithm, ksk=True, bits=bits, index=index),
        make_key(algorithm, ksk=False, bits=bits, index=index),
    ]


def name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


@dataclass
class SignedZone:
    origin: dns.name.Name
    zone: dns.zone.Zone
    keys: list[Key] = field(default_factory=list)

    @property
    def ksk(self) -> Key:
        return next(key for key in self.keys if key.ksk)

    @property
    def zsk(self) -> Key:
        return next((key for key in self.keys if not key.ksk), self.ksk)

    def ds(self, key: Key | None = None, digest: str = "SHA256") -> DS:
        return dns.dnssec.make_ds(
            self.origin, (key or self.ksk).dnskey, digest, policy=dns.dnssec.allow_all_policy
        )

    def ds_line(self, key: Key | None = None, digest: str = "SHA256") -> str:
        return f"{self.origin} {TTL} IN DS {self.ds(key, digest).to_text()}"

    def rrset(self, owner: str | dns.name.Name, rdtype: str) -> dns.rrset.RRset:
        found = self.zone.get_rrset(
            owner if isinstance(owner, dns.name.Name) else name(owner), rdtype
        )
        assert found is not None, (owner, rdtype)
        return found

    def rrsigs(self, owner: str | dns.name.Name, rdtype: str) -> list[RRSIG]:
        key = owner if isinstance(owner, dns.name.Name) else name(owner)
        found = self.zone.get_rdataset(key, "RRSIG", covers=rdtype)
        return [sig for sig in found or () if isinstance(sig, RRSIG)]

    def replace(self, owner: str, rdtype: str, *records: str, covers: str | None = None) -> None:
        """Put new records in place (after signing: their RRSIGs stay as they were)."""
        with self.zone.writer() as txn:
            key = name(owner)
            if covers is None:
                txn.delete(key, rdtype)
            else:
                txn.delete(key, rdtype, covers)
            for text in records:
                txn.add(key, TTL, dns.rdata.from_text("IN", rdtype, text, origin=self.origin))

    def drop(self, owner: str, rdtype: str, covers: str | None = None) -> None:
        self.replace(owner, rdtype, covers=covers)


def _sign_rrset(
    rrset: dns.rrset.RRset,
    keys: Iterable[Key],
    origin: dns.name.Name,
    inception: datetime,
    expiration: datetime,
) -> list[RRSIG]:
    return [
        dns.dnssec.sign(
            rrset,
            key.private,  # type: ignore[arg-type]
            origin,
            key.dnskey,
            inception=inception,
            expiration=expiration,
            policy=dns.dnssec.allow_all_policy,
        )
        for key in keys
    ]


@dataclass(frozen=True)
class Nsec3Params:
    iterations: int = 0
    salt: str = ""  # hex
    opt_out: bool = False


def _hash(owner: dns.name.Name, params: Nsec3Params) -> bytes:
    return base64.b32hexdecode(
        dns.dnssec.nsec3_hash(owner, params.salt or None, params.iterations, 1)
    )


def sign_zone_text(
    origin: str,
    text: str,
    *,
    keys: list[Key] | None = None,
    nsec3: Nsec3Params | None = None,
    inception: datetime = INCEPTION,
    expiration: datetime = EXPIRATION,
    signed: bool = True,
) -> SignedZone:
    """A zone from text ($ORIGIN is `origin`; relative names allowed), signed if `signed`."""
    apex = name(origin)
    zone = dns.zone.from_text(text, origin=apex, relativize=False, check_origin=True)
    result = SignedZone(apex, zone, keys or default_keys() if signed else [])
    if not signed:
        return result
    ksks = [key for key in result.keys if key.ksk] or result.keys
    zsks = [key for key in result.keys if not key.ksk] or result.keys
    with zone.writer() as txn:
        for key in result.keys:
            txn.add(apex, TTL, key.dnskey)
        if nsec3 is not None:
            param = f"1 0 {nsec3.iterations} {nsec3.salt or '-'}"
            txn.add(apex, TTL, dns.rdata.from_text("IN", "NSEC3PARAM", param))
    names = sorted(zone.nodes)
    cuts = [owner for owner in names if owner != apex and zone.get_rdataset(owner, "NS")]
    authoritative = [
        owner
        for owner in names
        if not any(owner.is_subdomain(cut) and owner != cut for cut in cuts)
    ]
    with zone.writer() as txn:
        for owner in authoritative:
            node = zone.nodes[owner]
            for rdataset in list(node.rdatasets):
                if owner in cuts and rdataset.rdtype != dns.rdatatype.DS:
                    continue
                rrset = dns.rrset.from_rdata_list(owner, rdataset.ttl, list(rdataset))
                signers = (
                    ksks
                    if rdataset.rdtype
                    in (dns.rdatatype.DNSKEY, dns.rdatatype.CDS, dns.rdatatype.CDNSKEY)
                    else zsks
                )
                for sig in _sign_rrset(rrset, signers, apex, inception, expiration):
                    txn.add(owner, rdataset.ttl, sig)
    denial = _nsec3_chain if nsec3 is not None else _nsec_chain
    with zone.writer() as txn:
        for rrset in denial(zone, apex, authoritative, cuts, nsec3 or Nsec3Params()):
            txn.add(rrset)
            for sig in _sign_rrset(rrset, zsks, apex, inception, expiration):
                txn.add(rrset.name, TTL, sig)
    return result


def _types_at(zone: dns.zone.Zone, owner: dns.name.Name, extra: Iterable[int]) -> list[int]:
    node = zone.nodes.get(owner)
    types = {rdataset.rdtype for rdataset in node.rdatasets} if node else set()
    if types - {dns.rdatatype.NS}:
        types.add(dns.rdatatype.RRSIG)
    return sorted(types | set(extra))


def _nsec_chain(
    zone: dns.zone.Zone,
    apex: dns.name.Name,
    authoritative: list[dns.name.Name],
    cuts: list[dns.name.Name],
    _: Nsec3Params,
) -> list[dns.rrset.RRset]:
    owners = sorted(authoritative)
    chain = []
    for index, owner in enumerate(owners):
        following = owners[(index + 1) % len(owners)]
        types = _types_at(zone, owner, (dns.rdatatype.NSEC, dns.rdatatype.RRSIG))
        record = dns.rdata.from_text(
            "IN", "NSEC", f"{following} {Bitmap.from_rdtypes(types).to_text()}"
        )
        chain.append(dns.rrset.from_rdata(owner, TTL, record))
    return chain


def _nsec3_chain(
    zone: dns.zone.Zone,
    apex: dns.name.Name,
    authoritative: list[dns.name.Name],
    cuts: list[dns.name.Name],
    params: Nsec3Params,
) -> list[dns.rrset.RRset]:
    owners: set[dns.name.Name] = set()
    for owner in authoritative:
        if params.opt_out and owner in cuts and not zone.get_rdataset(owner, "DS"):
            continue
        current = owner
        while current != apex and current.is_subdomain(
            apex
        ):  # the name and its empty non-terminals
            owners.add(current)
            current = current.parent()
        owners.add(apex)
    hashed = sorted((_hash(owner, params), owner) for owner in owners)
    flags = 1 if params.opt_out else 0
    chain = []
    for index, (digest, owner) in enumerate(hashed):
        following = hashed[(index + 1) % len(hashed)][0]
        types = _types_at(zone, owner, ()) if owner in zone.nodes else []
        if owner in cuts and not zone.get_rdataset(owner, "DS"):
            types = [dns.rdatatype.NS]
        salt = params.salt or "-"
        next_text = base64.b32hexencode(following).decode().rstrip("=").lower()
        bitmap = Bitmap.from_rdtypes(types).to_text() if types else ""
        record = dns.rdata.from_text(
            "IN", "NSEC3", f"1 {flags} {params.iterations} {salt} {next_text}{bitmap}"
        )
        owner_label = base64.b32hexencode(digest).decode().rstrip("=").lower()
        chain.append(
            dns.rrset.from_rdata(dns.name.Name((owner_label.encode(), *apex.labels)), TTL, record)
        )
    return chain


SOA = "@ 300 IN SOA ns1 hostmaster 1 7200 3600 1209600 300"


def zone_text(*lines: str, ns: str = "ns1", address: str = "127.0.0.1") -> str:
    """A zone's text: SOA, NS, the name server's address, then `lines`."""
    head = [SOA, f"@ 300 IN NS {ns}"]
    if "." not in ns:
        head.append(f"{ns} 300 IN A {address}")
    return "\n".join([*head, *lines]) + "\n"
