"""The DNSSEC sub-lab's zones: the one table that everything else reads.

build.py (run by start.sh) turns ZONES into keys, zone files, signed zones and
server configs; ground_truth.py turns the same table into ground_truth.json,
applying the validation rules written at the top of that file. So a zone's
flaw is stated once, here, and both the served zone and the expected verdict
follow from it.

The hierarchy comes from the names: a zone's parent is the longest other zone
that is a suffix of it. The parent gets, for each child, an NS record
`ns1.CHILD.`, its glue (the child's server address, targets.env) and the DS
records that `Zone.ds` asks for. Every name is under the lab root "." and its
TLD "test." (RFC 6761 reserves test.), served only on 127.0.53.0/24.

Times are relative to the start: a `Window` is (inception, expiration) in
seconds from the moment build.py signs. The actual times, key tags, DNSKEYs
and DS records of a start are in RUN/dns/zones.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOUR = 3600
DAY = 24 * HOUR
TTL = 300  # short, so that a restarted lab is not hidden by a resolver's cache
NEGATIVE_TTL = 60  # SOA minimum: how long NXDOMAIN/NODATA is cached


def read_env(path: Path = HERE / "targets.env") -> dict[str, str]:
    """KEY='value' lines (the format the shell scripts source)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        setting = line.split("#", 1)[0].strip()
        if "=" in setting:
            key, value = setting.split("=", 1)
            env[key] = value.strip().strip("'\"")
    return env


ENV = read_env()
PORT = int(ENV["DNS_PORT"])
# Authoritative servers: one knotd instance each, so that the root and test.
# refer downwards instead of answering for their children.
SERVERS: dict[str, str] = {
    "root": ENV["DNS_ROOT_ADDR"],
    "tld": ENV["DNS_TLD_ADDR"],
    "children": ENV["DNS_CHILDREN_ADDR"],
}
RESOLVER = ENV["DNS_RESOLVER_ADDR"]  # unbound, validating
RECURSOR = ENV["DNS_RECURSOR_ADDR"]  # unbound, not validating
ROOT_NS = "a.root-servers.test."  # the lab root's name server (root hints)

# DNSKEY algorithms used here: number -> mnemonic (also ldns-keygen's name).
ALGORITHMS: dict[int, str] = {
    3: "DSA",
    5: "RSASHA1",
    8: "RSASHA256",
    13: "ECDSAP256SHA256",
    15: "ED25519",
}
# RFC 8624 section 3.1, "DNSSEC Validation" column, for the algorithms above:
# a validator MUST NOT trust DSA, so a chain whose DS records name only DSA
# keys has no supported path (RFC 4035 section 5.2: treated as insecure).
RFC8624_VALIDATION = {3: "MUST NOT", 5: "MUST", 8: "MUST", 13: "MUST", 15: "RECOMMENDED"}
RFC8624_SIGNING = {3: "MUST NOT", 5: "NOT RECOMMENDED", 8: "MUST", 13: "MUST", 15: "RECOMMENDED"}
DIGEST_TYPES = {1: "SHA-1", 2: "SHA-256"}
# RFC 8624 section 3.3 (DS and CDS digests): creation / validation.
RFC8624_DS_CREATION = {1: "MUST NOT", 2: "MUST"}
RFC8624_DS_VALIDATION = {1: "MUST", 2: "MUST"}
EC_BITS = {13: 256, 15: 256}  # fixed key sizes (P-256, Ed25519)


@dataclass(frozen=True)
class KeySpec:
    role: str  # "ksk" (SEP flag, signs the DNSKEY RRset) or "zsk" (signs the rest)
    algorithm: int
    bits: int | None = None  # RSA and DSA only; EC and EdDSA sizes are fixed

    @property
    def size(self) -> int:
        return self.bits if self.bits is not None else EC_BITS[self.algorithm]


@dataclass(frozen=True)
class Nsec3:
    iterations: int
    salt: str  # hex; "" for none (RFC 9276: iterations 0, no salt)
    opt_out: bool = False


@dataclass(frozen=True)
class Window:
    """RRSIG validity: inception and expiration, seconds relative to the start."""

    name: str
    inception: int
    expiration: int


VALID = Window("valid", -HOUR, 30 * DAY)
EXPIRED = Window("expired", -30 * DAY, -DAY)
NOT_YET_VALID = Window("not_yet_valid", 10 * DAY, 40 * DAY)
EXPIRING_SOON = Window("expiring_soon", -HOUR, 3 * DAY)
EXPIRY_WARNING = 7 * DAY  # a signature expiring within this is worth a warning


@dataclass(frozen=True)
class Tamper:
    """A change made to the signed zone file after signing."""

    owner: str  # relative to the zone
    rrtype: str
    action: str  # "change_rdata": serve `rdata` under the old RRSIG; "drop_rrsig"
    rdata: str = ""


@dataclass(frozen=True)
class Tlsa:
    """A TLSA record made at start from the lab's TLS certificates (RUN/pki).

    source: a leaf label of lab/pki.py LEAVES ("rsa", "ecdsa", ...), the CA
    "intermediate" or "root", or "nothing" (a digest of no certificate).
    The record sits at _PORT._tcp.HOST; `lab_port` is where the lab really
    serves that service when the name's port is the standard one (SMTP).
    """

    port: int
    host: str
    usage: int  # 2 DANE-TA, 3 DANE-EE (RFC 7218 names)
    selector: int  # 0 Cert, 1 SPKI
    matching_type: int  # 0 Full, 1 SHA2-256, 2 SHA2-512
    source: str
    lab_port: int | None = None

    def owner(self, zone: str) -> str:
        return f"_{self.port}._tcp.{self.host}.{zone}"


@dataclass(frozen=True)
class Query:
    name: str  # relative to the zone; "@" for the apex
    rrtype: str


ECDSA = (KeySpec("ksk", 13), KeySpec("zsk", 13))


@dataclass(frozen=True)
class Zone:
    name: str
    server: str  # key of SERVERS
    summary: str  # what is special or wrong, for the README and the truth
    keys: tuple[KeySpec, ...] = ECDSA  # () = not signed
    nsec3: Nsec3 | None = None  # None = NSEC
    window: Window = VALID
    # DS records in the parent: "match" (a DS per digest type for the KSK),
    # "none", "digest_mismatch" (the KSK's tag and algorithm, a wrong digest),
    # "stray_key" (the DS of a KSK that the child never publishes).
    ds: str = "match"
    ds_digest_types: tuple[int, ...] = (2,)
    records: tuple[str, ...] = ()  # "OWNER TYPE RDATA", owner relative ("@")
    tampers: tuple[Tamper, ...] = ()
    tlsa: tuple[Tlsa, ...] = ()
    cds: bool = False  # publish CDS and CDNSKEY for the KSK (RFC 7344)
    queries: tuple[Query, ...] = (Query("www", "A"),)

    @property
    def signed(self) -> bool:
        return bool(self.keys)

    @property
    def file_name(self) -> str:
        return "root.zone" if self.name == "." else f"{self.name.rstrip('.')}.zone"


def _leaf_zone(*extra: str) -> tuple[str, ...]:
    """The records every child zone has: its name server and a web host."""
    return ("@ NS ns1", "ns1 A " + SERVERS["children"], "www A 127.0.0.1", *extra)


def _q(*pairs: str) -> tuple[Query, ...]:
    """_q("www A", "@ SOA") -> Query tuples."""
    return tuple(Query(*p.split()) for p in pairs)


# An OpenPGP key published for alice@secure.test (RFC 7929: SHA-256 of "alice",
# 28 octets, under _openpgpkey). Made once with GnuPG 2.2 (`--quick-gen-key
# 'Alice <alice@secure.test>' ed25519 cert never` plus a cv25519 encryption
# subkey); public parts only. Primary key fingerprint:
OPENPGPKEY_FINGERPRINT = "89E9F8CF7AB21E418C8B962971C4E866B2EF8E60"
OPENPGPKEY_OWNER = "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db._openpgpkey"
OPENPGPKEY_DATA = (
    "mDMEawp3oxYJKwYBBAHaRw8BAQdAeU1vMYLZZdg4F0EY6LpZuNXiQtbkj1K9OcojK30D7zK0GUFsaWNlIDxhbGlj"
    "ZUBzZWN1cmUudGVzdD6IkAQTFggAOBYhBInp+M96sh5BjIuWKXHE6Gay745gBQJrCnejAhsBBQsJCAcCBhUKCQgL"
    "AgQWAgMBAh4BAheAAAoJEHHE6Gay745g2TYA/0uzUpYQILm8PqvPHBraqJWJDp9rth4J4W7YEGVQPV76AP98zqt3"
    "9Pa566gH2js//2+V2wUUf4wXib9FIdWEOlkBAbg4BGsKd6MSCisGAQQBl1UBBQEBB0AkLgqk9//hgDykx4yqeth6"
    "JQDOFOpE2Pk5GxtOW93QGAMBCAeIeAQYFggAIBYhBInp+M96sh5BjIuWKXHE6Gay745gBQJrCnejAhsMAAoJEHHE"
    "6Gay745gBUoA/iKzqiQkSNheCiMRuh+cpSN+HZw+fuvgbaLM5M/P2GBdAP9yTWEN/t+kF63hepvf69ONwj1BkjMe"
    "I4qO/PQyHKyrBw=="
)


# Every TLSA of secure.test.: which certificate each is made from. Whether it
# matches the TLS target on that port is derived by ground_truth.py from the
# TLS and mail labs' truth (which certificate and chain each port serves).

SECURE_TLSA = (
    Tlsa(4431, "www", 3, 1, 1, "ecdsa"),
    Tlsa(4432, "www", 3, 1, 1, "rsa"),
    Tlsa(4432, "www", 3, 0, 1, "rsa"),
    Tlsa(4432, "www", 3, 1, 2, "rsa"),
    Tlsa(4432, "www", 2, 0, 1, "intermediate"),
    Tlsa(4433, "www", 3, 1, 1, "rsa"),
    # DANE-EE ignores expiry and names (RFC 7671 section 5.1): these match.
    Tlsa(4435, "www", 3, 1, 1, "expired"),
    Tlsa(4436, "www", 3, 1, 1, "self-signed"),
    # Do not authenticate: another server's key; a digest of no certificate;
    # a DANE-TA record that matches the served intermediate, but the leaf does
    # not name www.secure.test (DANE-TA keeps name checks, RFC 7671 section
    # 5.2); a DANE-TA digest of the root CA, which no lab server sends
    # (RFC 7671 section 5.2.2: the trust anchor must be in the served chain).
    Tlsa(4437, "www", 3, 1, 1, "ecdsa"),
    Tlsa(4438, "www", 3, 1, 1, "nothing"),
    Tlsa(4439, "www", 2, 1, 1, "intermediate"),
    Tlsa(4440, "www", 2, 0, 1, "root"),
    # SMTP (RFC 7672): a real MTA looks up port 25; the lab's postfix with
    # STARTTLS listens on 2525 (lab/mail), so both names are published.
    Tlsa(25, "mx", 3, 1, 1, "rsa", lab_port=2525),
    Tlsa(2525, "mx", 3, 1, 1, "rsa"),
)

_ROOT = Zone(
    ".",
    "root",
    "the lab root; its KSK is the lab trust anchor (RUN/dns/trust-anchor.*)",
    records=(f"@ NS {ROOT_NS}", f"{ROOT_NS} A " + SERVERS["root"]),
    queries=_q("@ SOA", "@ DNSKEY"),
)
_TEST = Zone(
    "test.",
    "tld",
    "the lab TLD, NSEC: its NSEC records deny the DS of island.test. and unsigned.test.",
    records=(
        "@ NS ns1.test.",
        "ns1 A " + SERVERS["tld"],
        f"{ROOT_NS} A " + SERVERS["root"],
    ),
    queries=_q("@ SOA", "@ DNSKEY", "ns1 A", "nonexistent A"),
)

ZONES: tuple[Zone, ...] = (
    _ROOT,
    _TEST,
    Zone(
        "secure.test.",
        "children",
        "correct: ECDSAP256SHA256 (13), NSEC; A, AAAA, MX, CAA, TXT and TLSA records",
        records=_leaf_zone(
            "www AAAA ::1",
            "@ MX 10 mx.secure.test.",
            "mx A 127.0.0.1",
            "mx AAAA ::1",
            '@ CAA 0 issue "protoaudit.test"',
            '@ CAA 0 issuewild ";"',
            '@ CAA 0 iodef "mailto:security@secure.test"',
            '@ TXT "v=spf1 mx -all"',
            f"{OPENPGPKEY_OWNER} OPENPGPKEY {OPENPGPKEY_DATA}",
        ),
        tlsa=SECURE_TLSA,
        queries=_q(
            "@ SOA",
            "@ DNSKEY",
            "@ DS",
            "www A",
            "www AAAA",
            "@ MX",
            "mx A",
            "@ CAA",
            "@ TXT",
            "nonexistent A",  # NXDOMAIN, NSEC proof
            "www TXT",  # NODATA, NSEC proof
            f"{OPENPGPKEY_OWNER} OPENPGPKEY",  # alice@secure.test's key (RFC 7929)
        )
        + tuple(
            Query(name, "TLSA")
            for name in dict.fromkeys(f"_{t.port}._tcp.{t.host}" for t in SECURE_TLSA)
        ),
    ),
    Zone(
        "nsec3.test.",
        "children",
        "NSEC3 with 10 iterations and a salt (RFC 9276 says 0 and none)",
        nsec3=Nsec3(10, "aabbccdd"),
        records=_leaf_zone(),
        queries=_q("www A", "nonexistent A", "www TXT"),
    ),
    Zone(
        "nsec3iter.test.",
        "children",
        "NSEC3 with 200 iterations: above the 150 that validators accept, so "
        "its denials are insecure (RFC 9276 section 3.2)",
        nsec3=Nsec3(200, "aabbccdd"),
        records=_leaf_zone(),
        queries=_q("www A", "nonexistent A", "www TXT"),
    ),
    Zone(
        "optout.test.",
        "children",
        "NSEC3 opt-out (iterations 0, no salt): the unsigned delegation "
        "sub.optout.test. has no NSEC3 of its own; NXDOMAIN is only insecure "
        "(RFC 5155 section 9.2)",
        nsec3=Nsec3(0, "", opt_out=True),
        records=_leaf_zone(),
        queries=_q("www A", "www TXT", "nonexistent A"),
    ),
    Zone(
        "sub.optout.test.",
        "children",
        "unsigned child of an opt-out zone: insecure by an NSEC3 opt-out proof",
        keys=(),
        ds="none",
        records=_leaf_zone(),
    ),
    Zone(
        "rsasha1.test.",
        "children",
        "RSASHA1 (5, deprecated for signing, RFC 8624), 1024-bit ZSK, SHA-1 DS",
        keys=(KeySpec("ksk", 5, 2048), KeySpec("zsk", 5, 1024)),
        ds_digest_types=(1,),
        records=_leaf_zone(),
        queries=_q("www A", "nonexistent A"),
    ),
    Zone(
        "ed25519.test.",
        "children",
        "correct: ED25519 (15), NSEC",
        keys=(KeySpec("ksk", 15), KeySpec("zsk", 15)),
        records=_leaf_zone(),
        queries=_q("www A", "nonexistent A"),
    ),
    Zone(
        "dsa.test.",
        "children",
        "DSA (3): validators MUST NOT support it (RFC 8624), so the zone is "
        "insecure despite its DS",
        keys=(KeySpec("ksk", 3, 1024), KeySpec("zsk", 3, 1024)),
        records=_leaf_zone(),
    ),
    Zone(
        "expired.test.",
        "children",
        "every RRSIG expired a day ago (inception 30 days ago)",
        window=EXPIRED,
        records=_leaf_zone(),
        queries=_q("www A", "@ SOA"),
    ),
    Zone(
        "future.test.",
        "children",
        "every RRSIG becomes valid only in 10 days",
        window=NOT_YET_VALID,
        records=_leaf_zone(),
    ),
    Zone(
        "soon.test.",
        "children",
        "valid, but every RRSIG expires in 3 days (under a 7-day warning threshold)",
        window=EXPIRING_SOON,
        records=_leaf_zone(),
    ),
    Zone(
        "tampered.test.",
        "children",
        "www's A changed after signing (127.0.0.1 -> 127.0.0.2); nosig's A "
        "has its RRSIG removed; the rest is intact",
        records=_leaf_zone("nosig A 127.0.0.1", "intact A 127.0.0.1"),
        tampers=(
            Tamper("www", "A", "change_rdata", "127.0.0.2"),
            Tamper("nosig", "A", "drop_rrsig"),
        ),
        queries=_q("www A", "nosig A", "intact A", "@ SOA"),
    ),
    Zone(
        "island.test.",
        "children",
        "signed, no DS in test.: an island of security, insecure by test.'s NSEC",
        ds="none",
        records=_leaf_zone(),
        queries=_q("www A", "@ DS"),
    ),
    Zone(
        "unsigned.test.",
        "children",
        "not signed, no DS: plainly insecure; its TLSA must not be used (RFC 6698)",
        keys=(),
        ds="none",
        records=_leaf_zone(),
        tlsa=(Tlsa(4432, "www", 3, 1, 1, "rsa"),),
        queries=_q("www A", "@ DS", "_4432._tcp.www TLSA"),
    ),
    Zone(
        "badds.test.",
        "children",
        "the DS in test. has the KSK's key tag and algorithm but a wrong digest",
        ds="digest_mismatch",
        records=_leaf_zone(),
    ),
    Zone(
        "strayds.test.",
        "children",
        "the DS in test. is of a KSK that the zone does not publish",
        ds="stray_key",
        records=_leaf_zone(),
    ),
    Zone(
        "cds.test.",
        "children",
        "correct, and publishes CDS and CDNSKEY for its KSK (RFC 7344)",
        cds=True,
        records=_leaf_zone(),
        queries=_q("www A", "@ CDS", "@ CDNSKEY"),
    ),
)
BY_NAME: dict[str, Zone] = {z.name: z for z in ZONES}


def parent_of(zone: Zone) -> Zone | None:
    """The closest enclosing zone of the table (None for the root)."""
    if zone.name == ".":
        return None
    labels = zone.name.split(".")
    for i in range(1, len(labels)):
        candidate = ".".join(labels[i:]) or "."
        if candidate in BY_NAME:
            return BY_NAME[candidate]
    raise ValueError(f"{zone.name}: no parent zone")


def children_of(zone: Zone) -> list[Zone]:
    return [z for z in ZONES if parent_of(z) is zone]


def absolute(name: str, zone: Zone) -> str:
    """An owner as written in `records` or `Query.name`, made absolute."""
    if name == "@":
        return zone.name
    if name.endswith("."):
        return name
    return f"{name}.{zone.name}" if zone.name != "." else f"{name}."
