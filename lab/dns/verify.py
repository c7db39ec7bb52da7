"""Check lab/dns/ground_truth.json and RUN/dns/zones.json against the running DNSSEC lab.

Run through lab/dns/verify.sh. Every check uses tools that share no code with
protoaudit, and none leaves 127.0.53.0/24: each is given the lab's servers,
root hints and trust anchor explicitly.
- Each query of the truth, three ways:
  * delv (BIND 9.18) with the lab anchor (-a RUN/dns/delv-anchor.conf) through
    the lab's NON-validating recursor (127.0.53.54): delv sets no CD bit, so a
    validating upstream would turn every bogus answer into its own SERVFAIL;
    through the recursor delv validates everything itself.
  * unbound-host -C RUN/dns/unbound-host.conf (libunbound iterating from the
    lab root hints, anchor = the lab root DS).
  * dig through the lab's validating unbound (127.0.53.53): AD flag, or
    SERVFAIL for bogus.
  Compared: rcode, answer RDATA (for records fixed in zones.py), status and,
  where the tool names one, the bogus reason (mapped to the truth's words
  below). delv's messages do not tell a wrong DS digest from a DS of an
  absent key; either is accepted there.
- Proofs, from the authoritative servers with dig +norec +dnssec: the denial
  of DS for each insecure delegation and each NXDOMAIN/NODATA is NSEC or
  NSEC3 as the truth says, with the opt-out flag where it says so.
- Zone facts, from the authoritative servers: DNSKEY algorithms, flags, key
  tags and sizes (zones.json and the truth), the DS RRset in the parent
  (digest types; presence), NSEC3PARAM, CDS/CDNSKEY, RRSIG inception and
  expiration (zones.json).
- ldns-verify-zone on every signed zone file as served, now and with
  -e P7D: pass or fail as the truth says.
- TLSA: the RRset each name serves equals zones.json's; ldns-dane (-S: ldns
  chases the signatures itself from the lab anchor; -n: no name check for
  DANE-EE, RFC 7671) verifies each TLSA name against the certificate chain
  each lab port serves (RUN/pki/LABEL.chain.pem), and against the chain
  the live server sends (openssl s_client -showcerts, -starttls smtp for
  the mail lab) when that server is up.
- Every listening socket of every lab DNS server is on its own address.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
import zones as z  # noqa: E402  (lab/dns is not a package)

RUN = Path(os.environ.get("PROTOAUDIT_LAB_DIR", "/tmp/protoaudit-lab"))
DNS = RUN / "dns"
TRUTH = json.loads((HERE / "ground_truth.json").read_text())
FACTS = json.loads((DNS / "zones.json").read_text())
ENV = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
TIMEOUT = 30

# Peer messages -> the truth's bogus reasons.
UNBOUND_REASONS = [
    ("signature expired", {"signature_expired"}),
    ("signature before inception date", {"signature_not_yet_valid"}),
    ("signature crypto failed", {"signature_invalid"}),
    (
        "signature verification failed",
        {"signature_invalid"},
    ),  # "ECDSA signature verification failed"
    ("no signatures", {"missing_rrsig"}),
    ("DS hash mismatches key", {"ds_digest_mismatch"}),
    ("no keys have a DS with algorithm", {"no_key_matches_ds"}),
]
DELV_REASONS = [
    ("RRSIG has expired", {"signature_expired"}),
    ("RRSIG validity period has not begun", {"signature_not_yet_valid"}),
    ("RRSIG failed to verify", {"signature_invalid"}),
    # BIND: an unsigned RRset in a zone whose DS exists fails the insecurity proof.
    ("insecurity proof failed", {"missing_rrsig"}),
    # The DNSKEY RRset is not signed by any key that a DS names.
    ("no valid signature found (DS)", {"ds_digest_mismatch", "no_key_matches_ds"}),
]

# Where a peer itself departs from the truth (its behaviour, not a lab bug):
# (tool, the truth's reason) -> (what the tool says, why). Shown in the table
# as KNOWN and listed at the end; README.md documents each one.
KNOWN_PEER_DIFFERENCES = {
    ("delv", "nsec3_optout_span"): (
        "secure",
        "BIND 9.18's delv calls an NXDOMAIN 'fully validated' when the next closer name is "
        "covered by an opt-out NSEC3; RFC 5155 section 9.2 forbids the AD bit there "
        "(unbound follows it)",
    ),
}

problems: list[str] = []  # one entry per failed check
known: list[str] = []  # KNOWN_PEER_DIFFERENCES met
passed: list[str] = []  # one entry per passed check (only counted)


def check(ok: bool, message: str) -> bool:
    (passed if ok else problems).append(message)
    return ok


def run(*cmd: str) -> tuple[int, str]:
    try:
        done = subprocess.run(
            cmd, check=False, env=ENV, capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return 124, f"{cmd[0]}: timed out"
    return done.returncode, done.stdout + done.stderr


def reasons(text: str, table: list[tuple[str, set[str]]]) -> set[str] | None:
    for needle, mapped in table:
        if needle in text:
            return mapped
    return None


def norm(rdata: str) -> str:
    return " ".join(rdata.split()).lower()


def answer_norm(rdata: str) -> str:
    """For comparing answers: tools split long base64 RDATA (OPENPGPKEY) at different widths."""
    return "".join(rdata.split()).lower()


# --- dig ---------------------------------------------------------------------


def dig(server: str, name: str, rrtype: str, *flags: str) -> dict[str, Any]:
    """One query; the header and the RRs of each section."""
    _, out = run(
        "dig",
        "-4",
        "+time=3",
        "+tries=2",
        "+dnssec",
        "+nomultiline",
        "+nosplit",
        *flags,
        f"@{server}",
        "-p",
        str(z.PORT),
        name,
        rrtype,
    )
    result: dict[str, Any] = {
        "status": None,
        "flags": set(),
        "answer": [],
        "authority": [],
        "raw": out,
    }
    section = None
    for line in out.splitlines():
        if m := re.search(r"status: (\w+)", line):
            result["status"] = m.group(1)
        if line.startswith(";; flags:"):
            result["flags"] = set(line.split(":", 1)[1].split(";")[0].split())
        if line.startswith(";; ANSWER SECTION"):
            section = "answer"
        elif line.startswith(";; AUTHORITY SECTION"):
            section = "authority"
        elif line.startswith(";; ADDITIONAL SECTION") or not line.strip():
            section = None if line.startswith(";; ADDITIONAL") else section
        elif section and not line.startswith(";"):
            owner, _ttl, _class, t, *rdata = line.split(maxsplit=4)
            result[section].append((owner.lower(), t, rdata[0] if rdata else ""))
    return result


def rdatas(rrs: list[tuple[str, str, str]], rrtype: str) -> list[str]:
    return sorted(norm(r) for _, t, r in rrs if t == rrtype)


# --- the three views of each query ---------------------------------------------


def view_delv(name: str, rrtype: str) -> dict[str, Any]:
    _, out = run(
        "delv",
        "-4",
        f"@{z.RECURSOR}",
        "-p",
        str(z.PORT),
        "-a",
        str(DNS / "delv-anchor.conf"),
        "+root=.",
        name,
        rrtype,
    )
    view: dict[str, Any] = {"raw": out, "rcode": "NOERROR", "answer": [], "reason": None}
    if "ncache nxdomain" in out:
        view["rcode"] = "NXDOMAIN"
    if "; fully validated" in out or "; negative response, fully validated" in out:
        view["status"] = "secure"
    elif "; unsigned answer" in out or "; negative response, unsigned answer" in out:
        view["status"] = "insecure"
    elif "resolution failed" in out:
        view["status"] = "bogus"
        view["rcode"] = None
        view["reason"] = reasons(out, DELV_REASONS)
    else:
        view["status"] = "?"
    for line in out.splitlines():
        fields = line.split(maxsplit=4)
        if not line.startswith(";") and len(fields) == 5 and fields[3] == rrtype:
            view["answer"].append(answer_norm(fields[4]))
    view["answer"].sort()
    return view


def view_unbound_host(name: str, rrtype: str) -> dict[str, Any]:
    _, out = run(
        "unbound-host", "-4", "-C", str(DNS / "unbound-host.conf"), "-v", "-t", rrtype, name
    )
    view: dict[str, Any] = {"raw": out, "rcode": "NOERROR", "answer": [], "reason": None}
    if "(BOGUS" in out:
        view["status"] = "bogus"
        # unbound always says why: a reason this table does not know is a mismatch.
        view["reason"] = reasons(out, UNBOUND_REASONS) or {
            "unrecognised: " + out.splitlines()[-1][-80:]
        }
    elif "(insecure)" in out:
        view["status"] = "insecure"
    elif "(secure)" in out:
        view["status"] = "secure"
    else:
        view["status"] = "?"
    if "(NXDOMAIN)" in out:
        view["rcode"] = "NXDOMAIN"
    elif "(SERVFAIL)" in out:
        view["rcode"] = "SERVFAIL"
    prefixes = {"A": " has address ", "AAAA": " has IPv6 address ", "MX": " mail is handled by "}
    prefix = prefixes.get(rrtype, f" has {rrtype} record ")
    for line in out.splitlines():
        if line.startswith(name + prefix):
            rdata = line[len(name + prefix) :].rsplit(" (", 1)[0]
            view["answer"].append(answer_norm(rdata))
    view["answer"].sort()
    return view


def view_resolver(name: str, rrtype: str) -> dict[str, Any]:
    answer = dig(z.RESOLVER, name, rrtype)
    rcode = answer["status"]
    if rcode == "SERVFAIL":
        status = "bogus"
    elif rcode in ("NOERROR", "NXDOMAIN"):
        status = "secure" if "ad" in answer["flags"] else "insecure"
    else:
        status = "?"
    return {
        "raw": answer["raw"],
        "rcode": rcode,
        "status": status,
        "answer": sorted(answer_norm(r) for r in rdatas(answer["answer"], rrtype)),
        "reason": None,
    }


def compare(query: dict[str, Any], tool: str, view: dict[str, Any]) -> str:
    """'ok' or what differs; records a problem for each difference."""
    wrong = []
    if view["status"] != query["status"]:
        wrong.append(f"status {view['status']}")
    if query["status"] == "bogus":
        if tool == "resolver" and view["rcode"] != "SERVFAIL":
            wrong.append(f"rcode {view['rcode']}")
        if view["reason"] is not None and query["reason"] not in view["reason"]:
            wrong.append(f"reason {'/'.join(sorted(view['reason']))}")
    else:
        if view["rcode"] != query["rcode"]:
            wrong.append(f"rcode {view['rcode']}")
        expected = sorted(answer_norm(r) for r in query.get("answer") or [])
        if query.get("answer") is not None and view["answer"] != expected:
            wrong.append(f"answer {view['answer']}")
        if query["response"] == "answer" and query.get("answer") is None and not view["answer"]:
            wrong.append("no answer")
    label = f"{query['name']} {query['type']} via {tool}"
    difference = KNOWN_PEER_DIFFERENCES.get((tool, query.get("reason")))
    if wrong and difference and wrong == [f"status {difference[0]}"]:
        known.append(
            f"{label}: says {difference[0]}, truth {query['status']} ({query['reason']}): "
            f"{difference[1]}"
        )
        return "KNOWN peer difference"
    check(
        not wrong,
        f"{label}: expected {query['status']} {query.get('reason') or ''}, got {', '.join(wrong)}"
        f"\n    {view['raw'].strip().splitlines()[:4]}",
    )
    if not wrong:
        return "ok"
    return "DIFF: " + ", ".join(wrong)


def peer_word(query: dict[str, Any], view: dict[str, Any], result: str) -> str:
    word = view["status"]
    if view["status"] == "bogus" and view["reason"]:
        word += "(" + "|".join(sorted(view["reason"])) + ")"
    return word if result == "ok" else f"{word} <-- {result}"


def check_queries() -> list[tuple[str, str, str, str, str]]:
    queries = TRUTH["queries"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        delv = list(pool.map(lambda q: view_delv(q["name"], q["type"]), queries))
        uhost = list(pool.map(lambda q: view_unbound_host(q["name"], q["type"]), queries))
        resolver = list(pool.map(lambda q: view_resolver(q["name"], q["type"]), queries))
    rows = []
    for q, d, u, r in zip(queries, delv, uhost, resolver, strict=True):
        expected = q["status"] + (f"({q['reason']})" if q.get("reason") else "")
        if q["response"] != "answer":
            expected += f" {q['response']}"
        rows.append(
            (
                f"{q['name']} {q['type']}",
                expected,
                peer_word(q, d, compare(q, "delv", d)),
                peer_word(q, u, compare(q, "unbound-host", u)),
                peer_word(q, r, compare(q, "resolver", r)),
            )
        )
    return rows


# --- proofs from the authoritative servers -------------------------------------


def proof_in(authority: list[tuple[str, str, str]]) -> str | None:
    nsec3 = [r for _, t, r in authority if t == "NSEC3"]
    if nsec3:
        return "nsec3_optout" if any(int(r.split()[1]) & 1 for r in nsec3) else "nsec3"
    if any(t == "NSEC" for _, t, _ in authority):
        return "nsec"
    return None


def check_proofs() -> None:
    for q in TRUTH["queries"]:
        zone = TRUTH["zones"][q["zone"]]
        if q["response"] != "answer" and zone["signed"]:
            got = proof_in(dig(zone["address"], q["name"], q["type"], "+norec")["authority"])
            # ldns-signzone -p sets the opt-out flag on every NSEC3 of the zone.
            want = "nsec3_optout" if q["denial"]["opt_out"] else q["denial"]["kind"]
            where = f"{q['name']} {q['type']}: the denial from {zone['address']}"
            check(got == want, f"{where} is {got}, truth {want}")
        if q["status"] == "insecure" and q.get("reason") == "no_ds":
            child = q["at"]
            parent = TRUTH["zones"][child]["parent"]
            answer = dig(TRUTH["zones"][parent]["address"], child, "DS", "+norec")
            got = proof_in(answer["authority"])
            check(
                not rdatas(answer["answer"], "DS") and got == q["proof"],
                f"{child} DS at {parent}: proof {got}, truth {q['proof']}",
            )


# --- zone facts -----------------------------------------------------------------


def key_bits(algorithm: int, key_b64: str) -> int:
    key = base64.b64decode(key_b64)
    if algorithm in (5, 7, 8, 10):  # RFC 3110: exponent length, exponent, modulus
        if key[0]:
            exp_len, rest = key[0], key[1:]
        else:
            exp_len, rest = int.from_bytes(key[1:3], "big"), key[3:]
        return int.from_bytes(rest[exp_len:], "big").bit_length()
    if algorithm in (3, 6):  # RFC 2536: T, then Q (20 bytes), P of 64 + 8T bytes
        return 512 + 64 * key[0]
    return {13: 256, 14: 384, 15: 256, 16: 456}[algorithm]


def check_zone(name: str, truth: dict[str, Any]) -> None:
    facts = FACTS["zones"][name]
    address = truth["address"]
    soa = dig(address, name, "SOA", "+norec")
    check(
        soa["status"] == "NOERROR" and "aa" in soa["flags"],
        f"{name}: no authoritative SOA from {address}",
    )
    keys = dig(address, name, "DNSKEY", "+norec")
    served = sorted(
        (int(r.split()[0]), int(r.split()[2]), key_bits(int(r.split()[2]), "".join(r.split()[3:])))
        for _, t, r in keys["answer"]
        if t == "DNSKEY"
    )
    expected = sorted(
        (257 if k["role"] == "ksk" else 256, k["algorithm"], k["bits"]) for k in truth["keys"]
    )
    check(
        served == expected,
        f"{name}: DNSKEYs served (flags, algorithm, bits) {served}, truth {expected}",
    )
    served_rdata = sorted(norm(r) for _, t, r in keys["answer"] if t == "DNSKEY")
    check(
        served_rdata == sorted(norm(k["dnskey"]) for k in facts["keys"]),
        f"{name}: DNSKEY RDATA differs from zones.json",
    )
    if truth["signed"]:
        sig = [r.split() for _, t, r in soa["answer"] if t == "RRSIG"]
        sigs = facts["signatures"]
        check(
            bool(sig) and sig[0][4] == sigs["expiration"] and sig[0][5] == sigs["inception"],
            f"{name}: SOA RRSIG times {sig[0][4:6] if sig else None}, zones.json {sigs}",
        )
        tags = {int(s[6]) for s in sig}
        zsk_tags = {k["key_tag"] for k in facts["keys"] if k["role"] == "zsk"}
        check(tags <= zsk_tags, f"{name}: SOA signed by key tags {tags}, ZSKs {zsk_tags}")
    param = dig(address, name, "NSEC3PARAM", "+norec")
    params = [r.split() for _, t, r in param["answer"] if t == "NSEC3PARAM"]
    denial = truth["denial"]
    if denial and denial["kind"] == "nsec3":
        want = ["1", "0", str(denial["iterations"]), denial["salt"].lower()]
        got = [p.lower() for p in params[0][:4]] if params else None
        check(got == want, f"{name}: NSEC3PARAM {got}, truth {want}")
    else:
        check(not params, f"{name}: NSEC3PARAM {params} served, truth {denial}")
    for rrtype in ("CDS", "CDNSKEY"):
        got = dig(address, name, rrtype, "+norec")
        present = bool(rdatas(got["answer"], rrtype))
        check(present == truth["cds"], f"{name}: {rrtype} present={present}, truth {truth['cds']}")
    if truth["parent"] is not None:
        parent_address = TRUTH["zones"][truth["parent"]]["address"]
        ds = rdatas(dig(parent_address, name, "DS", "+norec")["answer"], "DS")
        check(
            ds == sorted(norm(d) for d in facts["ds_in_parent"]),
            f"{name}: DS in parent {ds}, zones.json {facts['ds_in_parent']}",
        )
        policy = truth["ds_in_parent"]
        check(
            sorted({int(d.split()[2]) for d in ds}) == policy["digest_types"],
            f"{name}: DS digest types {ds}, truth {policy['digest_types']}",
        )
        ksk_tags = {k["key_tag"] for k in facts["keys"] if k["role"] == "ksk"}
        ds_tags = {int(d.split()[0]) for d in ds}
        expect_tag_match = policy["policy"] in ("match", "digest_mismatch")
        if ds:
            check(
                (ds_tags <= ksk_tags) == expect_tag_match,
                f"{name}: DS key tags {ds_tags} vs KSK tags {ksk_tags} (policy {policy['policy']})",
            )
            matching = set(ds) & {norm(d) for d in facts["ds_of_ksk"]}
            check(
                bool(matching) == (policy["policy"] == "match"),
                f"{name}: DS digest of the KSK {'present' if matching else 'absent'} "
                f"(policy {policy['policy']})",
            )


def check_ldns_verify_zone() -> list[str]:
    lines = []
    for name, truth in TRUTH["zones"].items():
        expected = truth["ldns_verify_zone"]
        if expected is None:
            continue
        path = FACTS["zones"][name]["file"]
        rc_now, out_now = run("ldns-verify-zone", "-V", "2", path)
        rc_margin, _ = run("ldns-verify-zone", "-V", "2", "-e", "P7D", path)
        ok_now = check(
            (rc_now == 0) == expected["passes"],
            f"ldns-verify-zone {name}: rc {rc_now}, truth passes={expected['passes']}: "
            f"{out_now.strip()[-200:]}",
        )
        margin = expected["passes_with_7_day_margin"]
        ok_margin = check(
            (rc_margin == 0) == margin,
            f"ldns-verify-zone -e P7D {name}: rc {rc_margin}, truth passes={margin}",
        )
        first_error = next((line for line in out_now.splitlines() if line.startswith("Error")), "")
        differs = " <-- truth differs"
        lines.append(
            f"  {name:<18} {'pass' if rc_now == 0 else 'FAIL'}{'' if ok_now else differs}"
            f" | -e P7D {'pass' if rc_margin == 0 else 'FAIL'}{'' if ok_margin else differs}"
            f"  {first_error[:70]}"
        )
    return lines


# --- TLSA -------------------------------------------------------------------------


def served_chain(host: str, port: int, starttls: str | None, path: Path) -> bool:
    """Save the chain the live server sends to PATH; False if nothing answers TLS there."""
    cmd = [
        "timeout",
        "10",
        "openssl",
        "s_client",
        "-connect",
        f"{host}:{port}",
        "-servername",
        "localhost",
        "-showcerts",
        "-cipher",
        "ALL:@SECLEVEL=0",
    ]
    if starttls:
        cmd += ["-starttls", starttls]
    try:
        out = subprocess.run(
            cmd,
            check=False,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=15,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return False
    pems = re.findall(
        r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", out.stdout, re.S
    )
    path.write_text("".join(pems))
    return bool(pems)


def dane_word(out: str) -> str:
    if "dane-validated successfully" in out:
        return "validated"
    if "hostname mismatch" in out:
        return "name_mismatch"
    if "no matching DANE TLSA records" in out:
        return "no_match"
    if "were insecure" in out:
        return "insecure"
    return "? " + (out.strip().splitlines() or [""])[0][:60]


def check_tlsa() -> list[str]:
    lines = []
    served_tlsa = {name: [] for name in {t["name"] for t in TRUTH["tlsa"]}}
    for zone in FACTS["zones"].values():
        for t in zone["tlsa"]:
            served_tlsa[t["name"]].append(norm(t["rdata"]))
    anchor = str(DNS / "trust-anchor.ds")
    for entry in TRUTH["tlsa"]:
        name, port = entry["name"], entry["lab_port"]
        tlsa_port = name.split("._tcp.")[0].lstrip("_")
        host = name.split("._tcp.", 1)[1]
        view = view_unbound_host(name, "TLSA")
        check(
            view["answer"] == sorted(answer_norm(r) for r in served_tlsa[name]),
            f"{name}: TLSA served {view['answer']}, zones.json {sorted(served_tlsa[name])}",
        )
        words = []
        for cert in entry["certificates"]:
            chain = str(RUN / "pki" / f"{cert['label']}.chain.pem")
            _, out = run(
                "ldns-dane",
                "-n",
                "-S",
                "-k",
                anchor,
                "-r",
                z.RECURSOR,
                "-c",
                chain,
                "verify",
                host,
                tlsa_port,
            )
            got = dane_word(out)
            ok = check(
                got == cert["dane"],
                f"ldns-dane {name} with {cert['label']}.chain.pem: {got}, "
                f"truth {cert['dane']}: {out.strip()[:200]}",
            )
            words.append(f"{cert['label']}: {got}" + ("" if ok else f" <-- truth {cert['dane']}"))
        # The live server, when it is up: the chain it sends, through the same ldns-dane check.
        chain_file = Path(tempfile.mkstemp(prefix="protoaudit-dns-chain-", suffix=".pem")[1])
        if served_chain(entry["lab_host"], port, entry["starttls"], chain_file):
            _, out = run(
                "ldns-dane",
                "-n",
                "-S",
                "-k",
                anchor,
                "-r",
                z.RECURSOR,
                "-c",
                str(chain_file),
                "verify",
                host,
                tlsa_port,
            )
            got = dane_word(out)
            allowed = {c["dane"] for c in entry["certificates"]}
            ok = check(
                got in allowed,
                f"ldns-dane {name} with the chain of {entry['lab_host']}:{port} (live): "
                f"{got}, truth {sorted(allowed)}: {out.strip()[:200]}",
            )
            live = got + ("" if ok else f" <-- truth {sorted(allowed)}")
        else:
            live = f"not checked (no TLS on {entry['lab_host']}:{port}; the TLS/mail lab is not up)"
        chain_file.unlink(missing_ok=True)
        truth_words = ", ".join(sorted({c["dane"] for c in entry["certificates"]}))
        lines.append(
            f"  {name:<30} port {port:<5} {entry['target']:<16} truth {truth_words:<14} "
            f"chain file: {'; '.join(words)} | live: {live}"
        )
    return lines


# --- sockets ----------------------------------------------------------------------


def check_sockets() -> None:
    addresses = {
        "root": z.SERVERS["root"],
        "tld": z.SERVERS["tld"],
        "children": z.SERVERS["children"],
        "unbound": z.RESOLVER,
        "recursor": z.RECURSOR,
    }
    _, out = run("ss", "-Hlnputa")
    for server, address in addresses.items():
        pid = (DNS / server / "pid").read_text().strip()
        mine = [line for line in out.splitlines() if f"pid={pid}," in line]
        check(bool(mine), f"{server}: pid {pid} has no listening socket")
        for line in mine:
            local = line.split()[4] if line.split()[0] in ("udp", "tcp") else line.split()[3]
            check(
                local == f"{address}:{z.PORT}",
                f"{server} (pid {pid}) listens on {local}, not {address}:{z.PORT}",
            )


def main() -> None:
    for name, truth in TRUTH["zones"].items():
        check_zone(name, truth)
    check_sockets()
    check_proofs()
    rows = check_queries()
    header = ("query", "truth", "delv", "unbound-host", "lab resolver")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    print(
        "Queries (truth vs delv via the recursor, unbound-host, dig via the validating resolver):"
    )
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  " + "  ".join(cells).rstrip())
    print("ldns-verify-zone on the served zone files (now | with -e P7D):")
    print("\n".join(check_ldns_verify_zone()))
    print("TLSA (ldns-dane -S from the lab anchor; DANE-EE without name checks):")
    print("\n".join(check_tlsa()))
    if known:
        print(f"\n{len(known)} known peer differences (the peer's behaviour; see README.md):")
        for k in known:
            print(f"  - {k}")
    if problems:
        print(f"\n{len(problems)} MISMATCHES:")
        for p in problems:
            print(f"  - {p}")
    checks = len(passed) + len(problems)
    print(
        f"\ndns/verify: {checks} checks, {len(problems)} mismatches, "
        f"{len(known)} known peer differences ({len(TRUTH['queries'])} queries x 3 tools, "
        f"{len(TRUTH['zones'])} zones, {len(TRUTH['tlsa'])} TLSA names)"
    )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
