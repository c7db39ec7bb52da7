"""Write lab/dns/ground_truth.json from the DNSSEC sub-lab's definitions.

    python3 lab/dns/ground_truth.py            # rewrite lab/dns/ground_truth.json
    python3 lab/dns/ground_truth.py --check    # exit 1 if the file is stale

Where each fact comes from:
- Servers and addresses: targets.env; which zone each serves: zones.py.
- Zones (algorithms, key sizes, DS digest types and policy, NSEC/NSEC3
  parameters, CDS/CDNSKEY, signature window): zones.py, the same table that
  build.py signs. Key tags, DNSKEYs, DS RDATA and the actual signature times
  change at every start: RUN/dns/zones.json, not here.
- Expected validation of each query: the rules below (`chain`, `verdict`),
  applied to zones.py. They are RFC 4035 section 5 as validators implement
  it, walked from the lab root down:
  1. A zone whose parent publishes no DS is insecure, proven by the parent's
     authenticated denial of the DS (NSEC, NSEC3, or an NSEC3 opt-out span).
  2. A zone whose DS records name only algorithms that RFC 8624 says a
     validator MUST NOT support (DSA here) is insecure (RFC 4035 section 5.2:
     no supported authentication path).
  3. A DS whose key tag and algorithm match the KSK but whose digest does not
     is bogus "ds_digest_mismatch"; a DS that names no published key is bogus
     "no_key_matches_ds".
  4. A zone signed outside its signature window is bogus from its DNSKEY
     RRset down: "signature_expired" or "signature_not_yet_valid".
  5. Within a secure zone: an RRset whose RDATA was changed after signing is
     bogus "signature_invalid"; one without RRSIG is bogus "missing_rrsig".
  6. A denial (NXDOMAIN or NODATA) proven by NSEC3 with more than 150
     iterations is insecure "nsec3_iterations_over_limit": RFC 9276 section
     3.2 lets a validator do so, and both peers here (unbound 1.17 for keys up
     to 1024 bits, BIND 9.18's delv) use 150.
  7. An NXDOMAIN whose closest encloser proof covers the next closer name
     with an opt-out NSEC3 is insecure "nsec3_optout_span": RFC 5155 section
     9.2 forbids the AD bit there (the name might be an unsigned delegation).
     delv disagrees (verify.py lists it as a known peer difference).
  A DS query is answered by the parent zone, so its verdict is the parent's.
- TLSA: which certificate each record is made from (zones.py), matched
  against what each lab TLS port serves according to the TLS and mail labs'
  own ground truth (lab/ground_truth.json, lab/mail/ground_truth.json:
  certificate labels, served chain, SAN). DANE-EE (3) matches the leaf with
  no name or expiry checks (RFC 7671 section 5.1); DANE-TA (2) must match a
  CA certificate that the server sends (section 5.2.2) and keeps the name
  check of the leaf against the TLSA base domain (section 5.2). A TLSA RRset
  in an insecure zone must not be used (RFC 6698 section 4.1).
verify.py checks the running servers against this file with delv, unbound-host,
ldns-verify-zone and ldns-dane.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep lab/ free of __pycache__
sys.path.insert(0, str(HERE))
import zones as z  # noqa: E402  (lab/dns is not a package)
from zones import Query, Zone  # noqa: E402

OUT = HERE / "ground_truth.json"
LAB = HERE.parent
TLS_TRUTHS = (LAB / "ground_truth.json", LAB / "mail" / "ground_truth.json")
NSEC3_ITERATION_LIMIT = 150
# Types whose RDATA is made at start (keys, digests, serials): in RUN/dns/zones.json.
RUN_TIME_TYPES = {
    "SOA",
    "DNSKEY",
    "DS",
    "CDS",
    "CDNSKEY",
    "TLSA",
    "RRSIG",
    "NSEC",
    "NSEC3",
    "NSEC3PARAM",
}
UNSUPPORTED = {alg for alg, rule in z.RFC8624_VALIDATION.items() if rule == "MUST NOT"}


# --- the validation rules ----------------------------------------------------


def path_to(zone: Zone) -> list[Zone]:
    """The zones from the root down to `zone`."""
    out = [zone]
    while (parent := z.parent_of(out[-1])) is not None:
        out.append(parent)
    return out[::-1]


def denial_kind(zone: Zone) -> str:
    return "nsec3" if zone.nsec3 else "nsec"


def chain(zone: Zone) -> dict[str, Any]:
    """The status of `zone`'s DNSKEY RRset as a validator reaches it from the root."""
    for child in path_to(zone)[1:]:
        parent = z.parent_of(child)
        assert parent is not None
        if child.ds == "none":
            proof = denial_kind(parent)
            if parent.nsec3 and parent.nsec3.opt_out:
                proof = "nsec3_optout"
            return {"status": "insecure", "reason": "no_ds", "proof": proof, "at": child.name}
        ds_algorithms = {k.algorithm for k in child.keys if k.role == "ksk"}
        if ds_algorithms <= UNSUPPORTED:
            return {
                "status": "insecure",
                "reason": "unsupported_algorithm",
                "proof": None,
                "at": child.name,
                "algorithms": sorted(ds_algorithms),
            }
        if child.ds == "digest_mismatch":
            return {"status": "bogus", "reason": "ds_digest_mismatch", "at": f"{child.name} DNSKEY"}
        if child.ds == "stray_key":
            return {"status": "bogus", "reason": "no_key_matches_ds", "at": f"{child.name} DNSKEY"}
        if child.window is z.EXPIRED:
            return {"status": "bogus", "reason": "signature_expired", "at": f"{child.name} DNSKEY"}
        if child.window is z.NOT_YET_VALID:
            return {
                "status": "bogus",
                "reason": "signature_not_yet_valid",
                "at": f"{child.name} DNSKEY",
            }
    return {"status": "secure"}


def owner_zone(name: str, rrtype: str) -> Zone:
    """The zone that answers NAME/TYPE: the closest enclosing zone, except that
    a DS at a zone apex is answered by the parent."""
    best = max((zone for zone in z.ZONES if in_zone(name, zone)), key=lambda zone: len(zone.name))
    if rrtype == "DS" and name == best.name:
        parent = z.parent_of(best)
        assert parent is not None
        return parent
    return best


def in_zone(name: str, zone: Zone) -> bool:
    return zone.name in (".", name) or name.endswith("." + zone.name)


def records(zone: Zone) -> list[tuple[str, str, str]]:
    """(absolute owner, type, RDATA) of the static records of `zone`, its TLSA
    owners (RDATA made at start), and the delegations it holds."""
    out = []
    for line in zone.records:
        owner, rrtype, rdata = line.split(maxsplit=2)
        out.append((z.absolute(owner, zone), rrtype, rdata))
    out += [(t.owner(zone.name), "TLSA", "") for t in zone.tlsa]
    if zone.signed:
        out.append((zone.name, "DNSKEY", ""))
    if zone.cds:
        out += [(zone.name, "CDS", ""), (zone.name, "CDNSKEY", "")]
    out.append((zone.name, "SOA", ""))
    for child in z.children_of(zone):
        out.append((child.name, "NS", f"ns1.{child.name}"))
        if child.ds != "none":
            out.append((child.name, "DS", ""))
    return out


def served_rdata(zone: Zone, name: str, rrtype: str, rdata: str) -> str:
    for tamper in zone.tampers:
        if (
            tamper.action == "change_rdata"
            and z.absolute(tamper.owner, zone) == name
            and tamper.rrtype == rrtype
        ):
            return tamper.rdata
    return rdata


def verdict(zone_of_name: Zone, query: Query) -> dict[str, Any]:
    name = z.absolute(query.name, zone_of_name)
    zone = owner_zone(name, query.rrtype)
    recs = records(zone)
    names = {owner for owner, _, _ in recs}
    exists = name in names or any(
        owner.endswith("." + name) for owner in names
    )  # or an empty non-terminal
    rrset = [
        served_rdata(zone, name, t, r)
        for owner, t, r in recs
        if owner == name and t == query.rrtype
    ]
    response = "answer" if rrset else "nodata" if exists else "nxdomain"
    out: dict[str, Any] = {
        "name": name,
        "type": query.rrtype,
        "zone": zone.name,
        "server": z.SERVERS[zone.server],
        "response": response,
        "rcode": "NXDOMAIN" if response == "nxdomain" else "NOERROR",
    }
    if response == "answer":
        out["answer"] = None if query.rrtype in RUN_TIME_TYPES else sorted(rrset)
    verdict_ = chain(zone)
    if verdict_["status"] == "secure":
        if response == "answer":
            for tamper in zone.tampers:
                if z.absolute(tamper.owner, zone) == name and tamper.rrtype == query.rrtype:
                    reason = {"change_rdata": "signature_invalid", "drop_rrsig": "missing_rrsig"}[
                        tamper.action
                    ]
                    verdict_ = {"status": "bogus", "reason": reason, "at": f"{name} {query.rrtype}"}
        elif zone.nsec3 and zone.nsec3.iterations > NSEC3_ITERATION_LIMIT:
            verdict_ = {
                "status": "insecure",
                "reason": "nsec3_iterations_over_limit",
                "proof": "nsec3",
                "at": zone.name,
            }
        elif zone.nsec3 and zone.nsec3.opt_out and response == "nxdomain":
            verdict_ = {
                "status": "insecure",
                "reason": "nsec3_optout_span",
                "proof": "nsec3_optout",
                "at": zone.name,
            }
    out.update(verdict_)
    if response != "answer":
        out["denial"] = {
            "kind": denial_kind(zone) if zone.signed else None,
            "opt_out": bool(zone.nsec3 and zone.nsec3.opt_out),
        }
    # What a validating resolver (the lab's unbound) says to a stub.
    out["validating_resolver"] = {
        "secure": f"{out['rcode']}, AD",
        "insecure": f"{out['rcode']}, no AD",
        "bogus": "SERVFAIL",
    }[out["status"]]
    return out


# --- TLSA --------------------------------------------------------------------


def tls_targets() -> dict[int, dict[str, Any]]:
    """port -> {name, certificates} from the TLS and mail labs' truth."""
    out: dict[int, dict[str, Any]] = {}
    for path in TLS_TRUTHS:
        targets = json.loads(path.read_text())["targets"]
        for name, target in targets.items():
            if target.get("certificates"):
                out[int(target["port"])] = {
                    "target": name,
                    "lab": str(path.relative_to(LAB.parent)),
                    "host": target.get("host", "127.0.0.1"),
                    # "smtp" for a STARTTLS target of the mail lab; None: TLS from the first byte.
                    "starttls": target.get("protocol")
                    if target.get("tls_start") == "starttls"
                    else None,
                    "certificates": target["certificates"],
                }
    return out


def tlsa_matches(tlsa: z.Tlsa, cert: dict[str, Any]) -> bool:
    """Does the record's association data match this served certificate chain?"""
    if tlsa.usage == 3:
        return tlsa.source == cert["label"]
    if tlsa.usage == 2:
        served_cas = cert["chain_served"][1:]
        return tlsa.source in served_cas and (
            tlsa.source != "intermediate" or cert["issuer_cn"] == "protoaudit lab intermediate CA"
        )
    raise ValueError(f"usage {tlsa.usage} not modelled")


def tlsa_truth(zone: Zone, targets: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    by_owner: dict[str, list[z.Tlsa]] = {}
    for tlsa in zone.tlsa:
        by_owner.setdefault(tlsa.owner(zone.name), []).append(tlsa)
    secure = chain(zone)["status"] == "secure"
    for owner, rrset in by_owner.items():
        port = rrset[0].lab_port or rrset[0].port
        target = targets[port]
        base = owner.split("._tcp.", 1)[1].rstrip(".")
        per_cert = []
        for cert in target["certificates"]:
            matches = [tlsa_matches(t, cert) for t in rrset]
            name_ok = base in cert["san"]
            authenticates = [
                m and (t.usage == 3 or name_ok) for t, m in zip(rrset, matches, strict=True)
            ]
            if not secure:
                result = "insecure"
            elif any(authenticates):
                result = "validated"
            elif any(matches):
                result = "name_mismatch"
            else:
                result = "no_match"
            per_cert.append(
                {
                    "label": cert["label"],
                    "chain_served": cert["chain_served"],
                    "matching_records": [i for i, m in enumerate(matches) if m],
                    "dane": result,
                }
            )
        out.append(
            {
                "name": owner,
                "status": chain(zone)["status"],
                "lab_host": target["host"],
                "lab_port": port,
                "starttls": target["starttls"],
                "target": target["target"],
                "target_lab": target["lab"],
                "records": [
                    {
                        "usage": t.usage,
                        "selector": t.selector,
                        "matching_type": t.matching_type,
                        "source": t.source,
                    }
                    for t in rrset
                ],
                "certificates": per_cert,
            }
        )
    return out


# --- per zone ----------------------------------------------------------------


def zone_truth(zone: Zone) -> dict[str, Any]:
    parent = z.parent_of(zone)
    ksks = [k for k in zone.keys if k.role == "ksk"]
    verify_now = zone.signed and zone.window in (z.VALID, z.EXPIRING_SOON) and not zone.tampers
    return {
        "summary": zone.summary,
        "server": zone.server,
        "address": z.SERVERS[zone.server],
        "parent": parent.name if parent else None,
        "signed": zone.signed,
        "keys": [
            {
                "role": k.role,
                "algorithm": k.algorithm,
                "algorithm_name": z.ALGORITHMS[k.algorithm],
                "bits": k.size,
                "rfc8624_signing": z.RFC8624_SIGNING[k.algorithm],
                "rfc8624_validation": z.RFC8624_VALIDATION[k.algorithm],
            }
            for k in zone.keys
        ],
        "denial": (
            None
            if not zone.signed
            else {"kind": "nsec"}
            if zone.nsec3 is None
            else {
                "kind": "nsec3",
                "hash_algorithm": 1,
                "iterations": zone.nsec3.iterations,
                "salt": zone.nsec3.salt or "-",
                "opt_out": zone.nsec3.opt_out,
                "rfc9276_compliant": zone.nsec3.iterations == 0 and not zone.nsec3.salt,
            }
        ),
        "ds_in_parent": (
            None
            if parent is None
            else {
                "present": zone.ds != "none",
                "policy": zone.ds,
                "digest_types": list(zone.ds_digest_types) if zone.ds != "none" else [],
                "digest_names": [z.DIGEST_TYPES[d] for d in zone.ds_digest_types]
                if zone.ds != "none"
                else [],
                "rfc8624_creation": [z.RFC8624_DS_CREATION[d] for d in zone.ds_digest_types]
                if zone.ds != "none"
                else [],
                "rfc8624_validation": [z.RFC8624_DS_VALIDATION[d] for d in zone.ds_digest_types]
                if zone.ds != "none"
                else [],
                "algorithms": sorted({k.algorithm for k in ksks}) if zone.ds != "none" else [],
            }
        ),
        "cds": zone.cds,
        "cdnskey": zone.cds,
        "signatures": (
            {
                "window": zone.window.name,
                "inception_offset_seconds": zone.window.inception,
                "expiration_offset_seconds": zone.window.expiration,
                "expires_within_warning": zone.window.expiration < z.EXPIRY_WARNING,
            }
            if zone.signed
            else None
        ),
        "tampers": [
            {
                "name": z.absolute(t.owner, zone),
                "type": t.rrtype,
                "action": t.action,
                "served_rdata": t.rdata or None,
            }
            for t in zone.tampers
        ],
        "chain": chain(zone),
        # ldns-verify-zone on the served file: now, and with -e P7D.
        "ldns_verify_zone": (
            None
            if not zone.signed
            else {
                "passes": verify_now,
                "passes_with_7_day_margin": verify_now and zone.window is z.VALID,
            }
        ),
    }


def package_version(package: str) -> str:
    """Upstream version of an installed Debian package (no Debian revision)."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=True
    ).stdout
    return out.split(":", 1)[-1].split("-", 1)[0]


def build() -> dict[str, Any]:
    targets = tls_targets()
    queries = [verdict(zone, q) for zone in z.ZONES for q in zone.queries]
    return {
        "schema": "protoaudit-lab-dns/1",
        "generated_by": "lab/dns/ground_truth.py (from zones.py, targets.env; never edit by hand)",
        "run_files": {
            "zones": "RUN/dns/zones.json: key tags, DNSKEY and DS RDATA, signature times, "
            "TLSA RDATA of this start",
            "trust_anchor": "RUN/dns/trust-anchor.ds, RUN/dns/trust-anchor.dnskey, "
            "RUN/dns/delv-anchor.conf",
            "root_hints": "RUN/dns/root.hints",
        },
        "servers": {
            "root": {
                "address": z.SERVERS["root"],
                "port": z.PORT,
                "software": f"knotd {package_version('knot')}",
            },
            "tld": {
                "address": z.SERVERS["tld"],
                "port": z.PORT,
                "software": f"knotd {package_version('knot')}",
            },
            "children": {
                "address": z.SERVERS["children"],
                "port": z.PORT,
                "software": f"knotd {package_version('knot')}",
            },
            "resolver": {
                "address": z.RESOLVER,
                "port": z.PORT,
                "software": f"unbound {package_version('unbound')}",
                "validating": True,
            },
            "recursor": {
                "address": z.RECURSOR,
                "port": z.PORT,
                "software": f"unbound {package_version('unbound')}",
                "validating": False,
            },
        },
        "zones_served": {s: [zone.name for zone in z.ZONES if zone.server == s] for s in z.SERVERS},
        "root_ns": z.ROOT_NS,
        "vocabulary": {
            "status": ["secure", "insecure", "bogus", "indeterminate"],
            "bogus_reasons": [
                "signature_expired",
                "signature_not_yet_valid",
                "no_key_matches_ds",
                "ds_digest_mismatch",
                "signature_invalid",
                "missing_rrsig",
                "unsupported_algorithm",
            ],
            "insecure_reasons": [
                "no_ds",
                "unsupported_algorithm",
                "nsec3_iterations_over_limit",
                "nsec3_optout_span",
            ],
            "proofs": ["nsec", "nsec3", "nsec3_optout"],
            "dane": ["validated", "name_mismatch", "no_match", "insecure"],
        },
        "signature_windows": {
            w.name: {
                "inception_offset_seconds": w.inception,
                "expiration_offset_seconds": w.expiration,
            }
            for w in (z.VALID, z.EXPIRED, z.NOT_YET_VALID, z.EXPIRING_SOON)
        },
        "expiry_warning_seconds": z.EXPIRY_WARNING,
        "nsec3_iteration_limit": NSEC3_ITERATION_LIMIT,
        "zones": {zone.name: zone_truth(zone) for zone in z.ZONES},
        "queries": queries,
        "tlsa": [t for zone in z.ZONES for t in tlsa_truth(zone, targets)],
    }


def main() -> None:
    text = json.dumps(build(), indent=2) + "\n"
    if sys.argv[1:] == ["--check"]:
        if not OUT.exists() or OUT.read_text() != text:
            print(
                "dns/ground_truth.py: lab/dns/ground_truth.json is stale; "
                "run python3 lab/dns/ground_truth.py",
                file=sys.stderr,
            )
            sys.exit(1)
        return
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
