"""DNS for a TLS target, validated: its addresses, and its TLSA records against its chains.

With a DNS option (`--dns-server`, `--root-server`, `--trust-anchor`) a target's
name is resolved through the DNSSEC validator rather than the system resolver,
and the address records' verdict is kept as evidence. With `--dane` the TLSA
RRset at `_PORT._tcp.HOST` is validated the same way and each TLSA record is
checked against every certificate chain the TLS probes saw (protoaudit.dane).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from protoaudit.caa import CaaRecord, issuer_allowed, issuer_domains, parse_caa
from protoaudit.dane import TlsaRecord, check_chain, parse_tlsa
from protoaudit.observations import CertificateChain, Observation
from protoaudit.observations_dane import CaaCheck, DaneChain, DaneCheck, DaneMatch
from protoaudit.observations_dns import DnssecStatus
from protoaudit.probes.dnssec import validate_name
from protoaudit.probes.dnssec_settings import ValidationSettings

ADDRESS_TYPES = ("A", "AAAA")


async def validated(
    name: str, rdtype: str, settings: ValidationSettings, *, timeout: float, now: datetime
) -> DnssecStatus:
    return await validate_name(
        name,
        rdtype,
        server=settings.server,
        root_servers=settings.root_servers,
        trust_anchors=settings.trust_anchors,
        timeout=timeout,
        now=now,
    )


def _rdata(line: str, rdtype: str) -> str | None:
    """The RDATA of one presentation-format answer line of type `rdtype`."""
    fields = line.split()
    if rdtype in fields:
        return " ".join(fields[fields.index(rdtype) + 1 :]) or None
    return None


async def resolve_validated(
    host: str, settings: ValidationSettings, *, timeout: float, now: datetime
) -> tuple[list[str], list[DnssecStatus]]:
    """The host's addresses (IPv4 first) and the DNSSEC verdict of each address RRset."""
    statuses = [
        await validated(host, rdtype, settings, timeout=timeout, now=now)
        for rdtype in ADDRESS_TYPES
    ]
    addresses = [
        address
        for status, rdtype in zip(statuses, ADDRESS_TYPES, strict=True)
        if status.status in ("secure", "insecure")
        for line in status.answer
        if (address := _rdata(line, rdtype))
    ]
    return list(dict.fromkeys(addresses)), statuses


def _match(record: TlsaRecord, index: int | None, usable: bool, problem: str | None) -> DaneMatch:
    text = f"{record.usage} {record.selector} {record.matching_type} {record.data_hex}"
    return DaneMatch(text, index, usable, problem)


async def dane_observations(
    host: str,
    port: int,
    chains: Sequence[CertificateChain],
    settings: ValidationSettings,
    *,
    timeout: float,
    now: datetime,
) -> list[Observation]:
    """The TLSA RRset's DNSSEC status, then DANE's verdict on each chain."""
    tlsa_name = f"_{port}._tcp.{host.rstrip('.')}."
    status = await validated(tlsa_name, "TLSA", settings, timeout=timeout, now=now)
    records = [r for line in status.answer if (r := parse_tlsa(line)) is not None]
    texts = tuple(f"{r.usage} {r.selector} {r.matching_type} {r.data_hex}" for r in records)
    checked: list[DaneChain] = []
    if status.status == "secure" and records:
        for chain in chains:
            if not chain.certificates:
                continue
            result = check_chain(records, chain, host.rstrip("."))
            checked.append(
                DaneChain(
                    leaf_sha256=chain.certificates[0].sha256_fingerprint,
                    requested_key_type=chain.requested_key_type,
                    verdict=result.verdict,
                    matches=tuple(
                        _match(c.record, c.matched_index, c.usable, c.problem)
                        for c in result.records
                    ),
                )
            )
    dane = DaneCheck(tlsa_name, host.rstrip("."), status.status, texts, tuple(checked))
    return [status, dane]


MAX_MX_HOSTS = 10


async def mail_exchangers(
    domain: str, settings: ValidationSettings, *, timeout: float, now: datetime
) -> tuple[list[str], DnssecStatus]:
    """The MX hosts of `domain`, best preference first, and the MX RRset's DNSSEC verdict.

    A domain with no MX gets its own name (RFC 5321 5.1); a null MX ("0 .", RFC 7505)
    gets none. Bogus answers give no host: a validating mail server would not use them.
    """
    status = await validated(domain, "MX", settings, timeout=timeout, now=now)
    if status.status == "bogus" or status.rcode == "NXDOMAIN":
        return [], status
    exchangers: list[tuple[int, str]] = []
    for line in status.answer:
        rdata = _rdata(line, "MX")
        if rdata is None:
            continue
        preference, _, host = rdata.partition(" ")
        if preference.isdigit() and host:
            exchangers.append((int(preference), host.rstrip(".").lower()))
    if not exchangers and status.status != "indeterminate":
        return [domain.rstrip(".")], status
    hosts = [host for _, host in sorted(exchangers) if host]
    return list(dict.fromkeys(hosts))[:MAX_MX_HOSTS], status


async def caa_observation(
    host: str,
    chains: Sequence[CertificateChain],
    settings: ValidationSettings,
    *,
    issuer_override: tuple[str, ...] = (),
    timeout: float,
    now: datetime,
) -> list[Observation]:
    """The relevant CAA set (RFC 8659 3: climb from the host, stop below the root), and
    whether the issuer of the server's certificate may issue for the host."""
    labels = host.rstrip(".").split(".")
    status: DnssecStatus | None = None
    records: list[CaaRecord] = []
    found_at: str | None = None
    for start in range(len(labels) - 1):  # the TLD is asked too; the root never
        name = ".".join(labels[start:]) + "."
        status = await validated(name, "CAA", settings, timeout=timeout, now=now)
        records = [r for line in status.answer if (r := parse_caa(line)) is not None]
        if records or status.status in ("bogus", "indeterminate"):
            found_at = name if records else None
            break
    leaf = next((c.certificates[0] for c in chains if c.certificates), None)
    organization: str | None = None
    wildcard = False
    if leaf is not None:
        certificate = x509.load_pem_x509_certificate(leaf.pem.encode())
        names = certificate.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        organization = str(names[0].value) if names else None
        wildcard = host not in leaf.san_dns and any(n.startswith("*.") for n in leaf.san_dns)
    domains = issuer_override or (issuer_domains(organization) if organization else ())
    allowed = issuer_allowed(records, domains, wildcard=wildcard) if records and domains else None
    texts = tuple(f"{r.flags} {r.tag} {r.value}" for r in records)
    caa = CaaCheck(
        host=host.rstrip("."),
        found_at=found_at,
        dnssec_status=status.status if found_at and status is not None else None,
        records=texts,
        issuer_organization=organization,
        issuer_domains=domains,
        wildcard=wildcard,
        issuer_allowed=allowed,
    )
    return [caa] if status is None or found_at is None else [status, caa]
