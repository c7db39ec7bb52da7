"""Turning the validator's working state into observations (plain, JSON-ready types)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import dns.dnssec
import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from protoaudit.observations_dns import (
    DnssecDenial,
    DnssecDs,
    DnssecKey,
    DnssecSignature,
    DnssecZone,
)
from protoaudit.probes.dnssec_state import ZoneState
from protoaudit.proto.dnssec.algorithms import algorithm_supported, digest_supported, key_bits
from protoaudit.proto.dnssec.delegation import DsMatch
from protoaudit.proto.dnssec.denial import DenialProof
from protoaudit.proto.dnssec.signatures import REVOKE_FLAG, ZONE_FLAG, SignatureOutcome

__all__ = ["MAX_ANSWER_RECORDS", "denial", "ds", "key", "present", "signatures", "zone"]

MAX_ANSWER_RECORDS = 50  # records of an RRset kept in a result
MAX_RECORD_TEXT = 512
MAX_KEYS_SHOWN = 32
SEP_FLAG = 0x0001


def present(rrset: dns.rrset.RRset) -> tuple[str, ...]:
    """An RRset as zone-file lines, at most MAX_ANSWER_RECORDS, each at most 512 characters."""
    kind = dns.rdatatype.to_text(rrset.rdtype)
    return tuple(
        f"{rrset.name} {rrset.ttl} IN {kind} {record.to_text()}"[:MAX_RECORD_TEXT]
        for record in list(rrset)[:MAX_ANSWER_RECORDS]
    )


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def signatures(outcomes: Iterable[SignatureOutcome]) -> tuple[DnssecSignature, ...]:
    return tuple(
        DnssecSignature(
            type_covered=dns.rdatatype.to_text(outcome.rrsig.type_covered),
            signer=str(outcome.rrsig.signer),
            key_tag=outcome.rrsig.key_tag,
            algorithm=int(outcome.rrsig.algorithm),
            labels=outcome.rrsig.labels,
            original_ttl=outcome.rrsig.original_ttl,
            inception=_utc(outcome.rrsig.inception),
            expiration=_utc(outcome.rrsig.expiration),
            valid=outcome.valid,
            problem=outcome.problem,
        )
        for outcome in outcomes
    )


def key(record: DNSKEY) -> DnssecKey:
    flags = int(record.flags)
    return DnssecKey(
        key_tag=dns.dnssec.key_id(record),
        flags=flags,
        zone_key=bool(flags & ZONE_FLAG),
        sep=bool(flags & SEP_FLAG),
        revoked=bool(flags & REVOKE_FLAG),
        protocol=int(record.protocol),
        algorithm=int(record.algorithm),
        key_bits=key_bits(int(record.algorithm), bytes(record.key)),
        supported=algorithm_supported(int(record.algorithm)),
    )


def ds(record: DS, match: DsMatch | None) -> DnssecDs:
    matched = match.key if match is not None else None
    return DnssecDs(
        key_tag=int(record.key_tag),
        algorithm=int(record.algorithm),
        digest_type=int(record.digest_type),
        digest_hex=bytes(record.digest).hex(),
        matched_key_tag=dns.dnssec.key_id(matched) if matched is not None else None,
        supported=algorithm_supported(int(record.algorithm))
        and digest_supported(int(record.digest_type)),
    )


def denial(proof: DenialProof | None) -> DnssecDenial | None:
    if proof is None:
        return None
    return DnssecDenial(
        mechanism=proof.mechanism,
        proves=proof.proves,
        valid=proof.valid,
        detail=proof.detail,
        closest_encloser=str(proof.closest_encloser) if proof.closest_encloser else None,
        opt_out=proof.opt_out,
        nsec3_iterations=proof.iterations,
        nsec3_salt_hex=proof.salt.hex() if proof.salt is not None else None,
        records=proof.used,
    )


def zone(state: ZoneState) -> DnssecZone:
    by_record: list[tuple[DS, DsMatch | None]] = [(match.ds, match) for match in state.ds_matches]
    if not by_record:
        by_record = [(record, None) for record in state.ds_records]
    keys = [record for record in state.dnskeys or () if isinstance(record, DNSKEY)]
    return DnssecZone(
        zone=str(state.name),
        parent=str(state.parent) if state.parent is not None else None,
        status=state.status,
        reason=state.reason,
        detail=state.detail[:500],
        trust_anchor=state.trust_anchor,
        ds=tuple(ds(record, match) for record, match in by_record[:MAX_KEYS_SHOWN]),
        ds_signatures=signatures(state.ds_check.outcomes) if state.ds_check else (),
        ds_denial=denial(state.ds_denial),
        dnskeys=tuple(key(record) for record in keys[:MAX_KEYS_SHOWN]),
        dnskey_signatures=signatures(state.dnskey_check.outcomes) if state.dnskey_check else (),
        nsec3_iterations=state.nsec3[0] if state.nsec3 else None,
        nsec3_salt_hex=state.nsec3[1].hex() if state.nsec3 else None,
        nsec3_opt_out=state.nsec3_opt_out,
        cds_present=state.cds,
        cdnskey_present=state.cdnskey,
        servers=tuple(state.answered_by),
    )
