"""Write lab/services/ground_truth.json from the services sub-lab's configs.

    python3 lab/services/ground_truth.py            # rewrite ground_truth.json
    python3 lab/services/ground_truth.py --check    # exit 1 if the file is stale

Nothing is typed from memory. Each target's facts come from the config file
start.sh gives its server (vsftpd-common.conf.in + NAME.conf.in,
slapd.conf.in, postgresql.conf.in, prosody.cfg.lua.in), expanded by the tools
the TLS lab uses (lab/ground_truth.py, imported):

- OpenSSL servers (vsftpd, PostgreSQL, prosody through LuaSec): the cipher
  string of each version through `openssl ciphers -s -V -stdname`, then the
  TLS lab's server-side filter (RSA certificate, DH parameters or not, PSK/SRP
  never). TLS 1.3 suites are OpenSSL's defaults unless the config names some.
- slapd is built with GnuTLS: its TLSCipherSuite is a GnuTLS priority string,
  expanded with `gnutls-cli --priority P --list` as the TLS lab does for
  gnutls-serv.
- The protocol facts (STARTTLS offered or required, plaintext login, PROT P,
  anonymous login, SASL before TLS) follow from the settings named beside
  each rule below, as the servers' manuals describe them.

Where a server decides something that no setting shows, the rule is written
here and checked by lab/services/verify.sh against the running server:
vsftpd 3.0.3 pins ECDHE to P-256 (it calls SSL_CTX_set_tmp_ecdh with
prime256v1, which in OpenSSL 3.0 is also its whole TLS 1.3 group list) and has
no switch for TLS 1.1 or 1.3.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep lab/ free of __pycache__
sys.path.insert(0, str(HERE.parent))
import ground_truth as gt  # noqa: E402  (lab/ is not a package)

OUT = HERE / "ground_truth.json"
VERSIONS = gt.VERSIONS
CERT = "rsa"  # every target here serves the lab's RSA leaf with its chain
FTP_USER = "protoaudit-ftp"  # created by install.sh; svc.sh names it too
FTP_TARGETS = ("ftp-explicit", "ftps-implicit", "ftp-weak")
# What vsftpd's code fixes (see the docstring); verify.sh checks it.
VSFTPD_ECDH_CURVE = "prime256v1"
PROSODY_PROTOCOL = {  # LuaSec "x+" means x and every later version
    "tlsv1+": "TLS 1.0",
    "tlsv1_1+": "TLS 1.1",
    "tlsv1_2+": "TLS 1.2",
    "tlsv1_3+": "TLS 1.3",
}
PG_PROTOCOL = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}


# ---------------------------------------------------------------- config readers


def read_vsftpd(name: str) -> dict[str, str]:
    """The two files start.sh concatenates; a key in both would be a mistake."""
    conf: dict[str, str] = {}
    for part in ("vsftpd-common.conf.in", f"{name}.conf.in"):
        for line in (HERE / part).read_text().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                if key in conf:
                    raise ValueError(f"{name}: {key} set twice")
                conf[key] = value
    return conf


def read_kv(path: Path, sep: str) -> dict[str, str]:
    """`key = 'value'` (postgresql.conf) or `Directive value` (slapd.conf)."""
    conf = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip() if sep == "=" else raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(sep)
            conf[key.strip()] = value.strip().strip("'")
    return conf


def read_prosody(path: Path) -> dict[str, str]:
    """Our own template keeps one `name = value` per line (the ssl table's fields
    included); values stay Lua text, read further by the helpers below."""
    conf = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\s*(\w+)\s*=\s*(.+?)[;,]?\s*$", line.split("--", 1)[0])
        if m:
            conf[m[1]] = m[2]
    return conf


def lua_strings(value: str) -> list[str]:
    return re.findall(r'"([^"]*)"', value)


def lua_numbers(value: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", value)]


def yes(conf: dict[str, str], key: str) -> bool:
    """A vsftpd boolean the target relies on: it must be set, never defaulted."""
    return conf[key].upper() == "YES"


# ---------------------------------------------------------------- TLS expansion


def openssl_versions(
    versions: list[str],
    cipher: str,
    ciphersuites: str | None,
    dh: str | None,
    groups: list[str],
) -> tuple[dict[str, list[gt.Suite]], dict[str, list[str]]]:
    cert = gt.certificate_facts([CERT])
    per_version = {}
    for v in versions:
        suites = gt.openssl_server_filter(
            gt.openssl_expand(v, cipher, ciphersuites), set(cert["key_types"]), dh, groups
        )
        if suites:  # OpenSSL skips a version it has no suite for
            per_version[v] = suites
    # One group list serves TLS 1.2 ECDHE and TLS 1.3 key shares.
    by_version = {
        v: groups for v, s in per_version.items() if v == "TLS 1.3" or gt._has_kx(s, "ECDH")
    }
    return per_version, by_version


def gnutls_versions(priority: str) -> tuple[dict[str, list[gt.Suite]], dict[str, list[str]]]:
    """As lab/ground_truth.py does for gnutls-serv: an RSA key, no PSK/SRP/DSS."""
    suites, versions, groups = gt.gnutls_list(priority)
    iana = gt.iana_suites()
    per_version: dict[str, list[gt.Suite]] = {}
    for gname, code, min_ver in suites:
        if any(x in gname for x in ("PSK", "SRP", "DSS", "ECDSA")):
            continue
        kx = "ECDH" if "_ECDHE_" in gname else "DH" if "_DHE_" in gname else "RSA"
        for v in VERSIONS:
            if v not in versions:
                continue
            old_enough = VERSIONS.index(v) >= VERSIONS.index(gt.GNUTLS_MIN_VERSION[min_ver])
            if old_enough and code.startswith("0x13") == (v == "TLS 1.3"):
                au = "any" if v == "TLS 1.3" else "RSA"
                per_version.setdefault(v, []).append(gt.Suite(code, iana[code], kx, au))
    by_version = {
        v: groups for v, s in per_version.items() if v == "TLS 1.3" or gt._has_kx(s, "ECDH")
    }
    return {v: per_version[v] for v in VERSIONS if v in per_version}, by_version


def tls_entry(
    name: str,
    port: int,
    server: str,
    *,
    per_version: dict[str, list[gt.Suite]],
    groups: dict[str, list[str]],
    server_order: bool,
    dh: str | None,
    notes: list[str],
) -> dict[str, Any]:
    entry = gt._target(
        name,
        port,
        server,
        per_version,
        groups,
        server_order,
        gt.certificate_facts([CERT]),
        dh,
        ffdhe_negotiated=False,
        notes=notes,
    )
    return {"name": name, **entry}


def dialog(protocol: str, tls_start: str, offered: bool | None, **facts: Any) -> dict[str, Any]:
    # starttls_offered is null for implicit TLS: there is nothing to offer.
    return {
        "protocol": protocol,
        "tls_start": tls_start,
        "starttls_offered": offered if tls_start == "starttls" else None,
        "facts": facts,
    }


# ---------------------------------------------------------------- targets


def ftp_target(name: str) -> dict[str, Any]:
    c = read_vsftpd(name)
    implicit = yes(c, "implicit_ssl") if "implicit_ssl" in c else False
    # vsftpd's only version switches: ssl_sslv2/ssl_sslv3 (compiled out of this
    # libssl anyway) and ssl_tlsv1. TLS 1.1 stands or falls with the security
    # level of ssl_ciphers, which openssl_expand applies; TLS 1.3 is always on.
    versions = [v for v in VERSIONS if v != "TLS 1.0" or yes(c, "ssl_tlsv1")]
    # vsftpd loads no DH parameters: no DHE.
    per_version, groups = openssl_versions(
        versions, c["ssl_ciphers"], None, None, [VSFTPD_ECDH_CURVE]
    )
    local, anon = yes(c, "local_enable"), yes(c, "anonymous_enable")
    anon_ssl = anon and yes(c, "allow_anon_ssl")
    facts = {
        # Every kind of login that works must be forced onto PROT P.
        "prot_p_required": (not local or yes(c, "force_local_data_ssl"))
        and (not anon or yes(c, "force_anon_data_ssl")),
        # USER/PASS answered before AUTH TLS (implicit TLS has no "before").
        "plaintext_login_before_tls": not implicit
        and (
            (local and not yes(c, "force_local_logins_ssl"))
            or (anon and not yes(c, "force_anon_logins_ssl"))
        ),
        "anonymous_login": anon,
        # allow_anon_ssl=NO makes vsftpd refuse AUTH TLS/PROT P to anonymous users.
        "anonymous_login_over_tls": anon_ssl,
        "data_channel_tls_possible": yes(c, "ssl_enable") and (local or anon_ssl),
        "data_channel_session_reuse_required": yes(c, "require_ssl_reuse"),
        "passive_ports": [int(c["pasv_min_port"]), int(c["pasv_max_port"])],
        "active_mode": yes(c, "port_enable"),
        "local_user": FTP_USER if local else None,
        "credentials_file": "RUN/services/ftp/credentials (user:password)",
        "anonymous_file": "hello.txt" if anon else None,
    }
    proto = "ftps" if implicit else "ftp"
    tls = tls_entry(
        name,
        int(c["listen_port"]),
        "vsftpd",
        per_version=per_version,
        groups=groups,
        server_order=False,  # vsftpd does not set SSL_OP_CIPHER_SERVER_PREFERENCE
        dh=None,  # vsftpd loads no DH parameters
        notes=[f"vsftpd 3.0.3 pins ECDHE to {VSFTPD_ECDH_CURVE}, for TLS 1.3 key shares too."],
    )
    # vsftpd 3.0.3 answers AUTH TLS whenever ssl_enable=YES, but lists it in
    # FEAT only if ssl_tlsv1=YES too (features.c); "offered" is what FEAT says.
    facts["auth_tls_accepted"] = yes(c, "ssl_enable") and not implicit
    offered = yes(c, "ssl_enable") and yes(c, "ssl_tlsv1")
    return {**tls, **dialog(proto, "implicit" if implicit else "starttls", offered, **facts)}


def ldap_targets() -> list[dict[str, Any]]:
    path = HERE / "slapd.conf.in"
    urls = re.search(r"^# urls: (.+)$", path.read_text(), re.M)[1].split()  # type: ignore[index]
    c = read_kv(path, " ")
    per_version, groups = gnutls_versions(c["TLSCipherSuite"])
    # Server precedence only with %SERVER_PRECEDENCE in the priority string.
    order = "%SERVER_PRECEDENCE" in c["TLSCipherSuite"]
    # slapd lists the StartTLS extended operation in the root DSE whenever a
    # TLS certificate is configured.
    starttls = "TLSCertificateFile" in c
    out = []
    for url in urls:
        scheme, port = re.match(r"(ldaps?)://127\.0\.0\.1:(\d+)/", url).groups()  # type: ignore[union-attr]
        implicit = scheme == "ldaps"
        tls = tls_entry(
            "ldaps-implicit" if implicit else "ldap-starttls",
            int(port),
            "slapd (OpenLDAP 2.5, GnuTLS)",
            per_version=per_version,
            groups=groups,
            server_order=order,
            dh=None,
            notes=["slapd's TLS is GnuTLS: suites come from the priority string in slapd.conf.in."],
        )
        facts = {} if implicit else {"starttls_supported": starttls}
        out.append(
            {**tls, **dialog(scheme, "implicit" if implicit else "starttls", starttls, **facts)}
        )
    return out


def postgres_target() -> dict[str, Any]:
    c = read_kv(HERE / "postgresql.conf.in", "=")
    lo = VERSIONS.index(PG_PROTOCOL[c["ssl_min_protocol_version"]])
    hi = (
        VERSIONS.index(PG_PROTOCOL[c["ssl_max_protocol_version"]])
        if c["ssl_max_protocol_version"]
        else len(VERSIONS) - 1
    )
    dh = Path(c["ssl_dh_params_file"]).stem if c.get("ssl_dh_params_file") else None
    per_version, groups = openssl_versions(
        list(VERSIONS[lo : hi + 1]), c["ssl_ciphers"], None, dh, [c["ssl_ecdh_curve"]]
    )
    tls = tls_entry(
        "postgres",
        int(c["port"]),
        "postgresql 15",
        per_version=per_version,
        groups=groups,
        server_order=c["ssl_prefer_server_ciphers"] == "on",
        dh=dh,
        notes=[
            "TLS starts after an SSLRequest packet (the server answers 'S'); "
            "PostgreSQL 15 has no direct (implicit) TLS."
        ],
    )
    return {**tls, **dialog("postgres", "starttls", c["ssl"] == "on", ssl=c["ssl"] == "on")}


def xmpp_targets() -> list[dict[str, Any]]:
    c = read_prosody(HERE / "prosody.cfg.lua.in")
    first = PROSODY_PROTOCOL[lua_strings(c["protocol"])[0]]
    versions = list(VERSIONS[VERSIONS.index(first) :])
    # No dhparam is set: no DHE (and the cipher string asks for ECDHE only).
    per_version, groups = openssl_versions(
        versions,
        lua_strings(c["ciphers"])[0],
        lua_strings(c["ciphersuites"])[0],
        None,
        lua_strings(c["curveslist"]),
    )
    order = "cipher_server_preference = true" in c["options"]
    required = c["c2s_require_encryption"] == "true"
    if not required:
        raise ValueError(
            "sasl_mechanisms_before_tls is only derived for c2s_require_encryption = true"
        )
    out = []
    for port, implicit in [(p, False) for p in lua_numbers(c["c2s_ports"])] + [
        (p, True) for p in lua_numbers(c["c2s_direct_tls_ports"])
    ]:
        name = "xmpps-implicit" if implicit else "xmpp-starttls"
        tls = tls_entry(
            name,
            port,
            "prosody 0.12 (LuaSec, OpenSSL)",
            per_version=per_version,
            groups=groups,
            server_order=order,
            dh=None,
            notes=["Stream to the domain 'localhost' (VirtualHost); s2s is disabled."],
        )
        # mod_saslauth offers no mechanism on an unencrypted stream while
        # c2s_require_encryption is on, and mod_tls marks <starttls/> <required/>.
        facts = (
            {} if implicit else {"starttls_required": required, "sasl_mechanisms_before_tls": []}
        )
        out.append({**tls, **dialog("xmpp", "implicit" if implicit else "starttls", True, **facts)})
    return out


def build() -> dict[str, Any]:
    targets = [ftp_target(n) for n in FTP_TARGETS]
    targets += ldap_targets()
    targets.append(postgres_target())
    targets += xmpp_targets()
    return {
        "schema": 1,
        "generated_by": "lab/services/ground_truth.py (do not edit by hand)",
        "versions_known": list(VERSIONS),
        "notes": [
            "Suites per version are exactly those the server accepts when a client "
            "offers that suite alone, after the target's own upgrade dialog.",
            "starttls_offered is null for implicit-TLS targets.",
            "Every target serves the lab RSA leaf (RUN/pki/rsa.chain.pem) with its "
            "intermediate; the FTP login is in RUN/services/ftp/credentials.",
        ],
        "targets": {t["name"]: t for t in sorted(targets, key=lambda t: t["port"])},
    }


def main() -> int:
    text = json.dumps(build(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print(
                "services/ground_truth.json is stale: run python3 lab/services/ground_truth.py",
                file=sys.stderr,
            )
            return 1
        print("services/ground_truth.json is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
