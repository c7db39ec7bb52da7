"""Make the DNSSEC lab's keys, signed zones and server configs (run by start.sh).

    python3 lab/dns/build.py RUN/dns PKI_DIR

Everything is made fresh, from zones.py, with ldnsutils: `ldns-keygen` for
each key, `ldns-key2ds` for each DS, `ldns-signzone` for each signed zone.
Zones are signed children first, so that a parent's zone file can hold its
children's DS records. The flaws that a signer would not produce are applied
to the signed zone file afterwards, each where zones.py asks for it:
- Tamper "change_rdata": the record's RDATA is replaced, its RRSIG kept.
- Tamper "drop_rrsig": the RRSIG covering that RRset is removed.
- NSEC3 opt-out: ldns-signzone sets the opt-out flag but still gives an
  unsigned delegation its own NSEC3; so the parent is signed without the
  delegations of its unsigned children, which are added to the signed file
  afterwards (an NS RRset at a cut and its glue carry no RRSIG), leaving them
  covered by an opt-out NSEC3 as an opt-out signer would.
- DS "digest_mismatch": the KSK's DS with the last digest nibble changed.
- DS "stray_key": the DS of an extra KSK that is never given to the signer.

TLSA records are made from the certificates in PKI_DIR (lab/pki.py). The root
KSK becomes the lab trust anchor, in three forms: trust-anchor.ds and
trust-anchor.dnskey (zone-file lines: unbound's trust-anchor-file,
unbound-host -f, ldns) and delv-anchor.conf (BIND's trust-anchors clause,
for delv -a). RUN/dns/zones.json records what this start made: key tags,
DNSKEYs, DS records, signature times and TLSA RDATA.

Files written under RUN/dns:
    keys/ZONE/K*.{key,private}   ldns-keygen output (stray/ for stray KSKs)
    unsigned/ZONE.zone           the zone as given to ldns-signzone
    SERVER/zones/ZONE.zone       what knotd SERVER serves; SERVER/knot.conf
    unbound/unbound.conf         the lab's validating resolver
    recursor/unbound.conf        the lab's non-validating resolver (for delv)
    unbound-host.conf            for the peer tool unbound-host -C
    root.hints, trust-anchor.ds, trust-anchor.dnskey, delv-anchor.conf
    zones.json
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

sys.dont_write_bytecode = True  # keep lab/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
import zones as z  # noqa: E402  (lab/dns is not a package)
from zones import Zone  # noqa: E402

ENV = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
# TLSA "nothing": a digest of a string that is no certificate.
NOTHING_DIGEST = hashlib.sha256(b"protoaudit lab: this TLSA matches no certificate").hexdigest()


def run(*cmd: str, cwd: Path | None = None) -> str:
    done = subprocess.run(cmd, check=False, cwd=cwd, env=ENV, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"build.py: {' '.join(cmd)} failed:\n{done.stderr}{done.stdout}")
    return done.stdout


def stamp(epoch: int) -> str:
    """RRSIG time format (RFC 4034 section 3.2), what ldns-signzone -i/-e take."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%d%H%M%S")


def zone_dir_name(zone: Zone) -> str:
    return "root" if zone.name == "." else zone.name.rstrip(".")


def make_key(directory: Path, zone: Zone, spec: z.KeySpec) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    cmd = ["ldns-keygen", "-a", z.ALGORITHMS[spec.algorithm]]
    if spec.bits is not None:
        cmd += ["-b", str(spec.bits)]
    if spec.role == "ksk":
        cmd.append("-k")
    base = run(*cmd, zone.name, cwd=directory).strip()
    dnskey = (directory / f"{base}.key").read_text().split(";", 1)[0].split()
    # "OWNER IN DNSKEY FLAGS 3 ALG KEY" (ldns writes no TTL)
    rdata = " ".join(dnskey[dnskey.index("DNSKEY") + 1 :])
    return {
        "role": spec.role,
        "algorithm": spec.algorithm,
        "algorithm_name": z.ALGORITHMS[spec.algorithm],
        "bits": spec.size,
        "key_tag": int(base.rsplit("+", 1)[1]),
        "flags": int(dnskey[dnskey.index("DNSKEY") + 1]),
        "dnskey": rdata,
        "file": str(directory / base),
    }


def ds_records(key: dict[str, Any], digest_types: tuple[int, ...]) -> list[str]:
    """DS RDATA ("TAG ALG TYPE HEX") of a key, by ldns-key2ds."""
    out = []
    for digest in digest_types:
        line = run("ldns-key2ds", "-n", f"-{digest}", key["file"] + ".key").split()
        out.append(" ".join(line[line.index("DS") + 1 :]))
    return out


def spoil_digest(ds: str) -> str:
    tag, alg, digest_type, digest = ds.split()
    last = "0" if digest[-1] != "0" else "1"
    return f"{tag} {alg} {digest_type} {digest[:-1]}{last}"


def soa(zone: Zone, serial: int) -> str:
    if zone.name == ".":
        mname, rname = z.ROOT_NS, "hostmaster.test."
    else:
        mname, rname = f"ns1.{zone.name}", f"hostmaster.{zone.name}"
    return f"@ SOA {mname} {rname} {serial} 3600 600 86400 {z.NEGATIVE_TTL}"


def delegation(child: Zone, ds: list[str]) -> list[str]:
    ns = f"ns1.{child.name}"
    lines = [f"{child.name} NS {ns}", f"{ns} A {z.SERVERS[child.server]}"]
    lines += [f"{child.name} DS {rdata}" for rdata in ds]
    return lines


def opted_out(parent: Zone, child: Zone) -> bool:
    """Is child's delegation left out of the parent's NSEC3 chain?"""
    return bool(parent.nsec3 and parent.nsec3.opt_out and child.ds == "none")


# --- TLSA from the lab PKI --------------------------------------------------


def tlsa_rdata(tlsa: z.Tlsa, pki: Path) -> str:
    if tlsa.source == "nothing":
        data = None
    else:
        name = {"intermediate": "intermediate.pem", "root": "ca.pem"}.get(
            tlsa.source, f"{tlsa.source}.pem"
        )
        cert = x509.load_pem_x509_certificate((pki / name).read_bytes())
        if tlsa.selector == 0:
            data = cert.public_bytes(serialization.Encoding.DER)
        else:
            data = cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
    if data is None:
        digest = (
            NOTHING_DIGEST
            if tlsa.matching_type == 1
            else hashlib.sha512(NOTHING_DIGEST.encode()).hexdigest()
        )
    elif tlsa.matching_type == 0:
        digest = data.hex()
    elif tlsa.matching_type == 1:
        digest = hashlib.sha256(data).hexdigest()
    else:
        digest = hashlib.sha512(data).hexdigest()
    return f"{tlsa.usage} {tlsa.selector} {tlsa.matching_type} {digest}"


# --- zones ------------------------------------------------------------------


def build_zones(run_dir: Path, pki: Path, now: int) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    ds_in_parent: dict[str, list[str]] = {}
    # Deepest first: a parent is signed after its children's DS are known.
    order = sorted(z.ZONES, key=lambda zone: 0 if zone.name == "." else -zone.name.count("."))
    for zone in order:
        zdir = zone_dir_name(zone)
        keys = [make_key(run_dir / "keys" / zdir, zone, spec) for spec in zone.keys]
        ksks = [k for k in keys if k["role"] == "ksk"]
        true_ds = [d for k in ksks for d in ds_records(k, zone.ds_digest_types)]
        stray: dict[str, Any] | None = None
        if zone.ds == "match":
            published = true_ds
        elif zone.ds == "none":
            published = []
        elif zone.ds == "digest_mismatch":
            published = [spoil_digest(d) for d in true_ds]
        elif zone.ds == "stray_key":
            stray = make_key(run_dir / "keys" / zdir / "stray", zone, zone.keys[0])
            published = ds_records(stray, zone.ds_digest_types)
        else:
            raise ValueError(f"{zone.name}: ds={zone.ds}")
        ds_in_parent[zone.name] = published

        lines = [f"$ORIGIN {zone.name}", f"$TTL {z.TTL}", soa(zone, now), *zone.records]
        if zone.cds:
            lines += [f"@ CDS {d}" for d in true_ds]
            lines += [f"@ CDNSKEY {k['dnskey']}" for k in ksks]
        tlsa_facts = []
        for tlsa in zone.tlsa:
            rdata = tlsa_rdata(tlsa, pki)
            lines.append(f"{tlsa.owner(zone.name)} TLSA {rdata}")
            tlsa_facts.append(
                {"name": tlsa.owner(zone.name), "rdata": rdata, "source": tlsa.source}
            )
        late: list[str] = []  # added after signing (opted-out delegations)
        for child in z.children_of(zone):
            (late if opted_out(zone, child) else lines).extend(
                delegation(child, ds_in_parent[child.name])
            )

        unsigned = run_dir / "unsigned" / zone.file_name
        unsigned.parent.mkdir(parents=True, exist_ok=True)
        unsigned.write_text("\n".join(lines) + "\n")
        served = run_dir / zone.server / "zones" / zone.file_name
        served.parent.mkdir(parents=True, exist_ok=True)
        inception = now + zone.window.inception
        expiration = now + zone.window.expiration
        if zone.signed:
            cmd = ["ldns-signzone", "-i", stamp(inception), "-e", stamp(expiration)]
            if zone.nsec3:
                cmd += ["-n", "-a", "1", "-t", str(zone.nsec3.iterations), "-s", zone.nsec3.salt]
                if zone.nsec3.opt_out:
                    cmd.append("-p")
            cmd += ["-f", str(served), str(unsigned)] + [k["file"] for k in keys]
            run(*cmd)
            text = apply_tampers(zone, served.read_text())
            served.write_text(text + "".join(line + "\n" for line in late))
        else:
            served.write_text("\n".join(lines + late) + "\n")

        facts[zone.name] = {
            "server": zone.server,
            "address": z.SERVERS[zone.server],
            "file": str(served),
            "signed": zone.signed,
            "keys": keys,
            "stray_ksk": stray,
            "ds_of_ksk": true_ds,
            "ds_in_parent": published,
            "signatures": (
                {
                    "inception": stamp(inception),
                    "expiration": stamp(expiration),
                    "inception_epoch": inception,
                    "expiration_epoch": expiration,
                }
                if zone.signed
                else None
            ),
            "nsec3": (
                {
                    "iterations": zone.nsec3.iterations,
                    "salt": zone.nsec3.salt or "-",
                    "opt_out": zone.nsec3.opt_out,
                }
                if zone.nsec3 and zone.signed
                else None
            ),
            "tlsa": tlsa_facts,
        }
    return facts


def apply_tampers(zone: Zone, text: str) -> str:
    out = []
    done: set[z.Tamper] = set()
    for original in text.splitlines():
        line = original
        fields = line.split("\t")
        if len(fields) >= 5:
            owner, _ttl, _cls, rrtype, rdata = fields[:5]
            for tamper in zone.tampers:
                if owner != z.absolute(tamper.owner, zone):
                    continue
                if tamper.action == "change_rdata" and rrtype == tamper.rrtype:
                    line = "\t".join([*fields[:4], tamper.rdata])
                    done.add(tamper)
                elif (
                    tamper.action == "drop_rrsig"
                    and rrtype == "RRSIG"
                    and rdata.split()[0] == tamper.rrtype
                ):
                    line = ""
                    done.add(tamper)
        if line:
            out.append(line)
    missing = set(zone.tampers) - done
    if missing:
        raise SystemExit(f"build.py: {zone.name}: tamper found nothing to change: {missing}")
    return "\n".join(out) + "\n"


# --- configs -----------------------------------------------------------------


def knot_conf(run_dir: Path, server: str) -> None:
    base = run_dir / server
    served = [zone for zone in z.ZONES if zone.server == server]
    zone_lines = "".join(
        f'  - domain: "{zone.name}"\n    file: "{zone.file_name}"\n' for zone in served
    )
    (base / "knot.conf").write_text(
        f"""# knotd {server} server of the DNSSEC lab (written by lab/dns/build.py).
# Serves pre-signed zone files as they are: no signing, no journal, no
# write-back; semantic checks off so that the broken zones load.
server:
    rundir: "{base}"
    listen: {z.SERVERS[server]}@{z.PORT}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

database:
    storage: "{base}/db"

log:
  - target: stderr
    any: info

template:
  - id: default
    storage: "{base}/zones"
    semantic-checks: off
    dnssec-signing: off
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: none

zone:
{zone_lines}"""
    )


def resolver_confs(run_dir: Path) -> None:
    hints = run_dir / "root.hints"
    hints.write_text(
        "; The lab root: the only root servers the lab's resolvers know.\n"
        f".\t3600000\tNS\t{z.ROOT_NS}\n{z.ROOT_NS}\t3600000\tA\t{z.SERVERS['root']}\n"
    )
    anchor = run_dir / "trust-anchor.ds"
    # Settings that keep a resolver inside the lab; shared by both configs.
    lab_only = f"""    root-hints: "{hints}"
    trust-anchor-file: "{anchor}"
    do-not-query-localhost: no
    do-ip6: no
    val-log-level: 2
    # unbound answers the RFC 6761 names (test. among them) itself by default.
    local-zone: "test." nodefault
    # Log why an answer is bogus; keep bogus answers briefly.
    val-bogus-ttl: 5
"""
    for name, address, validating in (
        ("unbound", z.RESOLVER, True),
        ("recursor", z.RECURSOR, False),
    ):
        udir = run_dir / name
        udir.mkdir(parents=True, exist_ok=True)
        if validating:
            role = (
                "recursive validating resolver: it trusts only the lab root KSK (trust-anchor.ds)"
            )
            modules = ""
            settings = lab_only
        else:
            role = "recursive resolver WITHOUT validation: it passes bogus data through"
            modules = '    module-config: "iterator"\n'
            settings = "".join(
                line + "\n" for line in lab_only.splitlines() if "trust-anchor" not in line
            )
        (udir / "unbound.conf").write_text(
            f"""# unbound: the DNSSEC lab's {role}
# (written by lab/dns/build.py). It knows only the lab root (root.hints) and
# answers 127.0.0.0/8 only.
server:
    interface: {address}
    port: {z.PORT}
    access-control: 0.0.0.0/0 refuse
    access-control: 127.0.0.0/8 allow
    chroot: ""
    username: ""
    directory: "{udir}"
    pidfile: "{udir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    log-servfail: yes
    num-threads: 1
    # No RFC 8145 key-tag queries to the lab root.
    trust-anchor-signaling: no
{modules}{settings}
remote-control:
    control-enable: no
"""
        )
    (run_dir / "unbound-host.conf").write_text(
        f"""# For the peer tool unbound-host -C (libunbound): iterate from the lab root
# only, validate with the lab trust anchor. Written by lab/dns/build.py.
server:
    trust-anchor-signaling: no
{lab_only}"""
    )


def trust_anchor_files(run_dir: Path, root_facts: dict[str, Any]) -> dict[str, Any]:
    ksk = next(k for k in root_facts["keys"] if k["role"] == "ksk")
    ds = root_facts["ds_of_ksk"][0]
    (run_dir / "trust-anchor.ds").write_text(f".\t{z.TTL}\tIN\tDS\t{ds}\n")
    (run_dir / "trust-anchor.dnskey").write_text(f".\t{z.TTL}\tIN\tDNSKEY\t{ksk['dnskey']}\n")
    tag, alg, digest_type, digest = ds.split()
    flags, protocol, key_alg, key = ksk["dnskey"].split(maxsplit=3)
    (run_dir / "delv-anchor.conf").write_text(
        "# The lab root KSK, for delv -a (BIND trust-anchors syntax).\n"
        "trust-anchors {\n"
        f'    "." static-ds {tag} {alg} {digest_type} "{digest}";\n'
        f'    "." static-key {flags} {protocol} {key_alg} "{key.replace(" ", "")}";\n'
        "};\n"
    )
    return {"ds": ds, "dnskey": ksk["dnskey"], "key_tag": ksk["key_tag"]}


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: build.py RUN/dns PKI_DIR")
    run_dir, pki = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    now = int(time.time())
    facts = build_zones(run_dir, pki, now)
    for server in z.SERVERS:
        knot_conf(run_dir, server)
    anchor = trust_anchor_files(run_dir, facts["."])
    resolver_confs(run_dir)
    (run_dir / "zones.json").write_text(
        json.dumps(
            {
                "generated_by": "lab/dns/build.py",
                "signed_at": stamp(now),
                "signed_at_epoch": now,
                "pki": str(pki),
                "trust_anchor": anchor,
                "zones": facts,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
