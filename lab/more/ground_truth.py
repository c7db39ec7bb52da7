"""Write lab/more/ground_truth.json from the more-lab's configuration.

    python3 lab/more/ground_truth.py            # rewrite lab/more/ground_truth.json
    python3 lab/more/ground_truth.py --check    # exit 1 if the file is stale

Where each fact comes from:
- Settings: the templates in this directory, rendered into a scratch run dir
  laid out as start.sh lays it out, and read back through the servers' own
  tools where they have one: `doveconf -c FILE -h` (dovecot), `innconfval`
  with INNCONF (INN), `my_print_defaults --defaults-file` (MariaDB). InspIRCd
  has no such tool: its <bind>, <module>, <sslprofile> and <starttls> tags are
  read from inspircd.conf.in. Target names: "# target:" / "<!-- target: -->"
  comments beside each listener.
- Versions and suites of the OpenSSL servers (dovecot, MariaDB, nnrpd): each
  server's cipher settings expanded by `openssl ciphers -s -V -stdname`, then
  the TLS lab's server-side filter (RSA key; DHE only with DH parameters;
  never PSK/SRP), through lab/ground_truth.py's functions.
- InspIRCd is built with GnuTLS only (Debian has no ssl_openssl module): its
  priority string is expanded with `gnutls-cli --priority P --list`, as the
  TLS lab does for gnutls-serv, and filtered the same way (RSA key; no PSK,
  SRP, DSS or ECDSA suites).
- Certificates: lab/pki.py's LEAVES, through lab/ground_truth.py.
- Rules a server applies that no setting shows are written beside the code
  that applies them (MariaDB's cipher-string rule, the servers' built-in DH
  parameters, OpenSSL's default group list, INN's pinned curve); the
  capability lists are each server's compiled-in keyword list switched by
  the settings above. verify.py checks every one against the running server.
- Versions in banners: INN's IMPLEMENTATION line carries the upstream version
  of the inn2 package (dpkg-query); MariaDB's greeting is checked against its
  major.minor only, so a Debian point release does not make the file stale.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep lab/ free of __pycache__
# lab/ first: "ground_truth" is the TLS lab's module, not this file.
sys.path[:0] = [str(HERE.parent), str(HERE)]
import ground_truth as gt  # noqa: E402  (lab/ground_truth.py)
import pki  # noqa: E402
import probe  # noqa: E402

OUT = HERE / "ground_truth.json"
# The kernel gives every connection to 127/8 the source 127.0.0.1.
CLIENT = "127.0.0.1"
CERT = "rsa"  # every target serves the lab RSA leaf with its intermediate
LIB_MAX = "TLS 1.3"  # the highest version in Debian 12's libssl
# OpenSSL 3.0's built-in group list (ssl/t1_lib.c supported_groups_default),
# in effect wherever a server sets none (MariaDB): the EC groups serve TLS 1.2
# ECDHE, all of them TLS 1.3 key exchange. verify.py offers each alone.
OPENSSL_DEFAULT_GROUPS = ["x25519", "secp256r1", "x448", "secp521r1", "secp384r1"]
OPENSSL_DEFAULT_FFDHE = ["ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"]


def _run(*cmd: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, env=env or gt.ENV, capture_output=True, text=True, check=True).stdout


def upstream_version(package: str) -> str:
    """'1:10.11.19-0+deb12u1' -> '10.11.19'."""
    v = _run("dpkg-query", "-W", "-f=${Version}", package)
    return v.split(":", 1)[-1].rsplit("-", 1)[0].split("+", 1)[0]


# ---------------------------------------------------------------- rendering


FILES = {
    "dovecot.conf.in": "dovecot/dovecot.conf",
    "users.in": "dovecot/users",
    "my.cnf.in": "mariadb/my.cnf",
    "inn.conf.in": "inn/etc/inn.conf",
    "readers.conf.in": "inn/etc/readers.conf",
    "sasl.conf.in": "inn/sasl/INN.conf",
    "storage.conf.in": "inn/etc/storage.conf",
    "inspircd.conf.in": "irc/inspircd.conf",
}


def render(run: Path, pki_dir: Path) -> Path:
    """The templates with @RUN@/@PKI@ filled in, where start.sh puts them."""
    more = run / "more"
    for src, dst in FILES.items():
        out = more / dst
        out.parent.mkdir(parents=True, exist_ok=True)
        text = (HERE / src).read_text().replace("@RUN@", str(more)).replace("@PKI@", str(pki_dir))
        out.write_text(text)
    return more


# ---------------------------------------------------------------- TLS facts


def openssl_tls(
    name: str,
    server: str,
    *,
    versions: list[str],
    cipher: str,
    ciphersuites: str | None,
    groups12: list[str],
    groups13: list[str],
    server_order: bool,
    dh: str | None,
    dh_bits: int | None,
    notes: list[str],
) -> dict[str, Any]:
    """The TLS lab's fields for an OpenSSL server, by the TLS lab's rules."""
    cert = gt.certificate_facts([CERT])
    per_version = {}
    for v in versions:
        groups = groups13 if v == "TLS 1.3" else groups12
        suites = gt.openssl_server_filter(
            gt.openssl_expand(v, cipher, ciphersuites), set(cert["key_types"]), dh, groups
        )
        if suites:  # OpenSSL skips a version it has no suite for
            per_version[v] = suites
    groups_by_version = {
        v: (groups13 if v == "TLS 1.3" else groups12)
        for v, s in per_version.items()
        if v == "TLS 1.3" or gt._has_kx(s, "ECDH")
    }
    t = gt._target(
        name,
        0,
        server,
        per_version,
        groups_by_version,
        server_order,
        cert,
        None,
        ffdhe_negotiated=False,
        notes=notes,
    )
    if any(s.kx == "DH" for suites in per_version.values() for s in suites):
        assert dh, f"{name}: DHE suites without DH parameters"
        assert dh_bits, f"{name}: DHE suites without a prime size"
        # OpenSSL servers use their own parameters below TLS 1.3, never an
        # RFC 7919 group the client names.
        t["dh"] = {"prime_bits": dh_bits, "params": dh, "ffdhe_negotiated": False}
    return t


def gnutls_tls(name: str, server: str, priority: str, notes: list[str]) -> dict[str, Any]:
    """As lab/ground_truth.py does for gnutls-serv: an RSA key, no PSK/SRP/DSS/ECDSA."""
    cert = gt.certificate_facts([CERT])
    suites, versions, groups = gt.gnutls_list(priority)
    iana = gt.iana_suites()
    per_version: dict[str, list[gt.Suite]] = {}
    for gname, code, min_ver in suites:
        if any(x in gname for x in ("PSK", "SRP", "DSS", "ECDSA")):
            continue
        kx = "ECDH" if "_ECDHE_" in gname else "DH" if "_DHE_" in gname else "RSA"
        for v in gt.VERSIONS:
            if v not in versions:
                continue
            old_enough = gt.VERSIONS.index(v) >= gt.VERSIONS.index(gt.GNUTLS_MIN_VERSION[min_ver])
            if old_enough and code.startswith("0x13") == (v == "TLS 1.3"):
                au = "any" if v == "TLS 1.3" else "RSA"
                per_version.setdefault(v, []).append(gt.Suite(code, iana[code], kx, au))
    per_version = {v: per_version[v] for v in gt.VERSIONS if v in per_version}
    assert not any(s.kx == "DH" for ss in per_version.values() for s in ss), "DHE not modelled"
    groups_by_version = {
        v: groups for v, s in per_version.items() if v == "TLS 1.3" or gt._has_kx(s, "ECDH")
    }
    return gt._target(
        name,
        0,
        server,
        per_version,
        groups_by_version,
        "%SERVER_PRECEDENCE" in priority,
        cert,
        None,
        ffdhe_negotiated=False,
        notes=notes,
    )


def finish(
    t: dict[str, Any],
    *,
    name: str,
    host: str,
    port: int,
    protocol: str,
    tls_start: str,
    instance: str,
    greeting: str | None,
    before: list[str] | None,
    after: list[str] | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A target in the mail lab's shape: dialog facts first, then the TLS facts."""
    del t["host"], t["port"]
    server = t.pop("server")
    t["validation"]["ip"] = host
    t["validation"]["ip_in_san"] = host in pki.LEAVES[CERT].names
    implicit = tls_start == "implicit"
    return {
        "name": name,
        "host": host,
        "port": port,
        "protocol": protocol,
        "tls_start": tls_start,
        "server": server,
        "instance": instance,
        "greeting": greeting,
        "starttls_offered": None if implicit else True,
        "plaintext_auth_before_tls": [] if implicit else probe.plaintext_auth(protocol, before),
        "capabilities_before": None if implicit else before,
        "capabilities_after": after,
        **(extra or {}),
        "certificate": {
            "label": CERT,
            "trusted_by_lab_ca": t["validation"]["trusted_by_lab_ca"],
        },
        **t,
    }


# ---------------------------------------------------------------- dovecot


def doveconf(conf: Path, name: str) -> str:
    return _run("doveconf", "-c", str(conf), "-h", name).strip()


def dovecot_listeners(template: Path) -> list[tuple[str, str, str]]:
    """(service, inet_listener, target) for each "# target:" comment."""
    found, service, listener = [], None, None
    for line in template.read_text().splitlines():
        if m := re.match(r"\s*service (\S+) \{", line):
            service = m[1]
        elif m := re.match(r"\s*inet_listener (\S+) \{", line):
            listener = m[1]
        elif m := re.match(r"\s*# target: (\S+)", line):
            assert service, f"{template}: target outside a service"
            assert listener, f"{template}: target outside a listener"
            found.append((service, listener, m[1]))
    return found


def dovecot_targets(more: Path) -> list[dict[str, Any]]:
    conf = more / "dovecot/dovecot.conf"
    keys = [
        "ssl",
        "disable_plaintext_auth",
        "auth_mechanisms",
        "login_trusted_networks",
        "hostname",
        "login_greeting",
        "managesieve_implementation_string",
        "managesieve_sieve_capability",
        "managesieve_notify_capability",
        "ssl_min_protocol",
        "ssl_cipher_list",
        "ssl_cipher_suites",
        "ssl_curve_list",
        "ssl_prefer_server_ciphers",
        "ssl_cert",
        "ssl_dh",
    ]
    s = {k: doveconf(conf, k) for k in keys}
    assert s["ssl"] == "yes", "ssl=required/no is not modelled"
    assert gt.label_of(s["ssl_cert"].lstrip("<")) == CERT
    mechs = s["auth_mechanisms"].upper().split()
    dh = Path(s["ssl_dh"].lstrip("<")).name.removesuffix(".pem")
    lo = gt.VERSIONS.index(gt.OPENSSL_PROTO[s["ssl_min_protocol"]])
    groups = s["ssl_curve_list"].split(":")
    tls_args: dict[str, Any] = {
        # dovecot 2.3 has no maximum: up to the library's highest.
        "versions": list(gt.VERSIONS[lo : gt.VERSIONS.index(LIB_MAX) + 1]),
        "cipher": s["ssl_cipher_list"],
        "ciphersuites": s["ssl_cipher_suites"] or None,
        # ssl_curve_list is SSL_CTX_set1_curves_list: TLS 1.2 and 1.3 alike.
        "groups12": groups,
        "groups13": groups,
        "server_order": s["ssl_prefer_server_ciphers"] == "yes",
        "dh": dh,
        "dh_bits": gt.DH_BITS[dh],
    }
    trusted_nets = s["login_trusted_networks"].split()
    out = []
    for service, listener, name in dovecot_listeners(HERE / "dovecot.conf.in"):
        key = f"service/{service}/inet_listener/{listener}"
        host, port = doveconf(conf, f"{key}/address"), int(doveconf(conf, f"{key}/port"))
        assert doveconf(conf, f"{key}/ssl") != "yes", "implicit TLS is not modelled here"
        trusted = any(
            ipaddress.ip_address(CLIENT) in ipaddress.ip_network(n, strict=False)
            for n in trusted_nets
        )
        if service == "lmtp":
            # dovecot 2.3 lmtp-client.c: PIPELINING, ENHANCEDSTATUSCODES,
            # 8BITMIME, CHUNKING, STARTTLS while ssl != no and TLS is not yet
            # on, XCLIENT only for login_trusted_networks; smtp-server sends
            # them sorted. LMTP has no AUTH. (LMTP is not a login service:
            # the same-IP rule below does not apply.)
            def lhlo(tls: bool, trusted: bool = trusted) -> list[str]:
                caps = ["8BITMIME", "CHUNKING", "ENHANCEDSTATUSCODES", "PIPELINING"]
                caps += [] if tls else ["STARTTLS"]
                caps += ["XCLIENT"] if trusted else []
                return sorted(caps)

            # lmtp's TLS is lib-ssl-iostream, set up from the master-service
            # SSL settings, which hand it ssl_cipher_list, ssl_curve_list,
            # ssl_min_protocol, ssl_dh and ssl_prefer_server_ciphers but not
            # ssl_cipher_suites: TLS 1.3 keeps OpenSSL's default suites. (The
            # login services, ManageSieve here, honour it.) Found by
            # verify.py, which checks it like every other fact.
            t = openssl_tls(
                name,
                "dovecot 2.3 (lmtp)",
                notes=[
                    "ssl_cipher_suites does not reach dovecot's lmtp: TLS 1.3 offers "
                    "OpenSSL's default suites here, unlike on sieve-starttls.",
                ],
                **{**tls_args, "ciphersuites": None},
            )
            out.append(
                finish(
                    t,
                    name=name,
                    host=host,
                    port=port,
                    protocol="lmtp",
                    tls_start="starttls",
                    instance="dovecot",
                    greeting=f"220 {s['hostname']} {s['login_greeting']}",
                    before=lhlo(False),
                    after=lhlo(True),
                )
            )
        elif service == "managesieve-login":
            # login-common: a client is secured over TLS, from a trusted
            # network, or when its IP equals the server's. Unsecured, with
            # disable_plaintext_auth, the mechanisms that carry the password
            # are left out of SASL (pigeonhole managesieve-login
            # client_authenticate_get_capabilities).
            def sieve_caps(tls: bool, host: str = host, trusted: bool = trusted) -> list[str]:
                secured = tls or trusted or host == CLIENT
                plain_ok = secured or s["disable_plaintext_auth"] == "no"
                shown = [m for m in mechs if plain_ok or m not in probe.CLEARTEXT_SASL]
                # pigeonhole 0.5 managesieve-login client.c: the greeting's order.
                caps = [
                    f"IMPLEMENTATION {s['managesieve_implementation_string']}",
                    f"SIEVE {s['managesieve_sieve_capability']}",
                    f"NOTIFY {s['managesieve_notify_capability']}",
                    " ".join(["SASL", *shown]),
                ]
                return caps + ([] if tls else ["STARTTLS"]) + ["VERSION 1.0"]

            t = openssl_tls(
                name,
                "dovecot 2.3 (pigeonhole managesieve)",
                notes=[
                    "ManageSieve listens on 127.0.0.4: dovecot counts a client whose IP "
                    "equals the server's as secured and would offer SASL PLAIN before TLS.",
                ],
                **tls_args,
            )
            out.append(
                finish(
                    t,
                    name=name,
                    host=host,
                    port=port,
                    protocol="sieve",
                    tls_start="starttls",
                    instance="dovecot",
                    greeting=f'OK "{s["login_greeting"]}"',
                    before=sieve_caps(False),
                    after=sieve_caps(True),
                )
            )
        else:
            raise ValueError(f"service {service} not modelled")
    return out


# ---------------------------------------------------------------- MariaDB

MARIADB_PROTO = {
    "TLSv1.0": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}


def mariadb_target(more: Path) -> dict[str, Any]:
    args = _run("my_print_defaults", f"--defaults-file={more / 'mariadb/my.cnf'}", "mariadbd")
    opts: dict[str, str] = {}
    for line in args.splitlines():
        key, _, value = line.removeprefix("--").partition("=")
        opts[key.replace("_", "-")] = value
    assert "skip-ssl" not in opts, "SSL must be on"
    assert opts.get("ssl-cert"), "no ssl-cert"
    assert opts.get("ssl-key"), "no ssl-key"
    assert gt.label_of(opts["ssl-cert"]) == CERT
    versions = sorted(
        (MARIADB_PROTO[v.strip()] for v in opts["tls-version"].split(",")), key=gt.VERSIONS.index
    )
    cipher = opts["ssl-cipher"]
    # vio/viosslfactories.c new_VioSSLFd(): ssl_cipher goes to
    # SSL_CTX_set_ciphersuites() first and only if that fails (some name is
    # not a TLS 1.3 suite) to SSL_CTX_set_cipher_list(). So the string is the
    # TLS 1.3 list or the TLS 1.2 list, never both; the other stays OpenSSL's
    # default.
    tls13_names = {s.name for s in gt.openssl_expand("TLS 1.3", "ALL", None)}
    only_13 = all(n in tls13_names for n in cipher.split(":"))
    # MariaDB sets no group list (OpenSSL's default is in force) and DH
    # parameters of its own (2048 bits: the built-in dh2048 or dh_auto for an
    # RSA-2048 key).
    t = openssl_tls(
        "mysql-ssl",
        f"mariadb {'.'.join(upstream_version('mariadb-server').split('.')[:2])}",
        versions=versions,
        cipher="DEFAULT" if only_13 else cipher,
        ciphersuites=cipher if only_13 else None,
        groups12=OPENSSL_DEFAULT_GROUPS,
        groups13=OPENSSL_DEFAULT_GROUPS + OPENSSL_DEFAULT_FFDHE,
        server_order=False,  # MariaDB never sets SSL_OP_CIPHER_SERVER_PREFERENCE
        dh="mariadb built-in",
        dh_bits=2048,
        notes=[
            "TLS starts after the client's SSLRequest packet (CLIENT_SSL), answering "
            "the server's greeting; MariaDB 10.11 has no implicit TLS port.",
            "ssl-cipher holds TLS 1.2 names only, so TLS 1.3 keeps OpenSSL's default suites.",
            "No group list is set: OpenSSL 3.0's defaults, FFDHE groups in TLS 1.3 included.",
        ],
    )
    major_minor = ".".join(upstream_version("mariadb-server").split(".")[:2])
    greeting = {
        # MariaDB prefixes its version with "5.5.5-" (RPL_VERSION_HACK) so
        # that old MySQL replicas do not take it for a 4.x/5.0 server.
        "server_version_pattern": rf"^5\.5\.5-{re.escape(major_minor)}\.\d+-MariaDB",
        # have_ssl: a certificate and key are configured.
        "ssl_offered": True,
        # The server's default authentication plugin (compiled in; no
        # plugin-load or default-authentication-plugin setting here).
        "auth_plugin": "mysql_native_password",
    }
    return finish(
        t,
        name="mysql-ssl",
        host=opts["bind-address"],
        port=int(opts["port"]),
        protocol="mysql",
        tls_start="starttls",
        instance="mariadb",
        greeting=None,
        before=None,
        after=None,
        extra={"mysql_greeting": greeting},
    )


# ---------------------------------------------------------------- INN

INN_PROTO = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}
# start.sh's two nnrpd daemons: (target, port, implicit TLS (-S)).
NNRPD = [("nntp-starttls", 1119, False), ("nntps-implicit", 1563, True)]


def innconfval(more: Path, key: str) -> str:
    env = {**gt.ENV, "INNCONF": str(more / "inn/etc/inn.conf")}
    return _run("/usr/lib/news/bin/innconfval", key, env=env).strip()


def inn_targets(more: Path) -> list[dict[str, Any]]:
    c = {
        k: innconfval(more, k)
        for k in (
            "pathhost",
            "tlscertfile",
            "tlsprotocols",
            "tlsciphers",
            "tlsciphers13",
            "tlseccurve",
            "tlspreferserverciphers",
            "tlscompression",
        )
    }
    assert gt.label_of(c["tlscertfile"]) == CERT
    versions = sorted(
        (INN_PROTO[v] for v in re.findall(r"TLSv[\d.]+", c["tlsprotocols"])),
        key=gt.VERSIONS.index,
    )
    # nnrpd/tls.c: a named tlseccurve goes to SSL_CTX_set_tmp_ecdh(), in
    # OpenSSL 3.0 the whole group list (TLS 1.2 ECDHE and TLS 1.3 shares);
    # unset, OpenSSL's defaults. DH: nnrpd's own 2048-bit parameters.
    curve = c["tlseccurve"]
    groups12 = [curve] if curve else OPENSSL_DEFAULT_GROUPS
    groups13 = [curve] if curve else OPENSSL_DEFAULT_GROUPS + OPENSSL_DEFAULT_FFDHE
    version = upstream_version("inn2")
    readers = (HERE / "readers.conf.in").read_text()
    access = re.search(r'access:\s*"?(\w+)', readers)[1]  # type: ignore[index]
    assert "auth:" not in readers, "auth methods are not modelled"
    assert "perl_auth" not in readers, "auth methods are not modelled"
    mech_list = re.search(r"mech_list:\s*(.+)", (HERE / "sasl.conf.in").read_text())[1].split()  # type: ignore[index]
    posting = "P" in access

    # INN 2.7 nnrpd/commands.c CMDcapabilities(), in the order it sends them.
    # AUTHINFO USER only under TLS; SASL lists what Cyrus SASL offers under the
    # connection's security properties: before TLS nnrpd asks for
    # SASL_SEC_NOPLAINTEXT, which drops PLAIN and LOGIN.
    def caps(tls: bool) -> list[str]:
        sasl = [m for m in mech_list if tls or m not in probe.CLEARTEXT_SASL]
        authinfo = (["USER"] if tls else []) + (["SASL"] if sasl else [])
        out = ["VERSION 2", f"IMPLEMENTATION INN {version}"]
        out += [" ".join(["AUTHINFO", *authinfo])] if authinfo else []
        out += ["COMPRESS DEFLATE", "HDR"]
        out += [
            "LIST ACTIVE ACTIVE.TIMES COUNTS DISTRIB.PATS DISTRIBUTIONS HEADERS MODERATORS "
            "MOTD NEWSGROUPS OVERVIEW.FMT SUBSCRIPTIONS",
            "OVER",
        ]
        out += ["POST"] if posting else []
        out += ["READER"]
        out += [" ".join(["SASL", *sasl])] if sasl else []
        out += [] if tls else ["STARTTLS"]
        return [*out, "XPAT"]

    greeting = (
        f"{200 if posting else 201} {c['pathhost']} InterNetNews NNRP server INN {version} "
        f"ready ({'posting ok' if posting else 'no posting'})"
    )
    out = []
    for name, port, implicit in NNRPD:
        t = openssl_tls(
            name,
            f"INN {'.'.join(version.split('.')[:2])} nnrpd",
            versions=versions,
            cipher=c["tlsciphers"],
            ciphersuites=c["tlsciphers13"] or None,
            groups12=groups12,
            groups13=groups13,
            server_order=c["tlspreferserverciphers"] == "true",
            dh="nnrpd built-in",
            dh_bits=2048,
            notes=[
                "nnrpd runs standalone (-D), without innd; readers may read, not post.",
                "tlseccurve pins one group for TLS 1.2 ECDHE and TLS 1.3 key shares.",
            ]
            + (["Implicit TLS: nnrpd -S."] if implicit else []),
        )
        out.append(
            finish(
                t,
                name=name,
                host="127.0.0.1",
                port=port,
                protocol="nntps" if implicit else "nntp",
                tls_start="implicit" if implicit else "starttls",
                instance="inn",
                greeting=greeting,
                before=None if implicit else caps(False),
                after=caps(True),
            )
        )
    return out


# ---------------------------------------------------------------- InspIRCd


def xml_tags(text: str) -> list[tuple[str, dict[str, str], str | None]]:
    """(tag, attributes, the "# target: X" line just before it) for each tag.

    InspIRCd's comments are "#" to the end of the line; tags may span lines.
    """
    kept = []
    for line in text.splitlines():
        if m := re.match(r"\s*#\s*target:\s*(\S+)", line):
            kept.append(f'<target name="{m[1]}">')
        elif not line.lstrip().startswith("#"):
            kept.append(line)
    out, pending = [], None
    for m in re.finditer(r"<(\w+)((?:\s+\w+=\"[^\"]*\")*)\s*>", "\n".join(kept)):
        attrs = dict(re.findall(r"(\w+)=\"([^\"]*)\"", m[2]))
        if m[1] == "target":
            pending = attrs["name"]
            continue
        out.append((m[1], attrs, pending))
        pending = None
    return out


def irc_targets() -> list[dict[str, Any]]:
    tags = xml_tags((HERE / "inspircd.conf.in").read_text())
    modules = {a["name"] for tag, a, _ in tags if tag == "module"}
    profiles = {a["name"]: a for tag, a, _ in tags if tag == "sslprofile"}
    starttls = next((a for tag, a, _ in tags if tag == "starttls"), {})
    assert {"cap", "ssl_gnutls", "starttls"} <= modules, "the modules the truth assumes"
    assert "sasl" not in modules, "SASL over IRC is not modelled"
    # CAP LS tokens, compiled in: m_cap registers inspircd.org/poison and
    # inspircd.org/standard-replies, m_starttls the IRCv3 "tls" capability
    # (listed before and after TLS alike); the server sends them sorted.
    cap_ls = sorted(["inspircd.org/poison", "inspircd.org/standard-replies", "tls"])
    out = []
    for tag, a, name in tags:
        if tag != "bind":
            continue
        assert name, "a <bind> without a target comment"
        implicit = "ssl" in a
        profile = profiles[a["ssl"] if implicit else starttls["provider"]]
        assert profile["provider"] == "gnutls", "only ssl_gnutls is modelled"
        assert profile["strictpriority"] == "yes", "a trimmed priority string is not modelled"
        assert gt.label_of(profile["certfile"]) == CERT
        assert profile["dhfile"] == "", "DHE is not modelled"
        t = gnutls_tls(
            name,
            "InspIRCd 3 (ssl_gnutls)",
            profile["priority"],
            notes=[
                "InspIRCd's TLS is GnuTLS: suites come from the <sslprofile> priority string.",
                "IRC has no greeting: the client speaks first (CAP LS 302, STARTTLS).",
            ],
        )
        out.append(
            finish(
                t,
                name=name,
                host=a["address"],
                port=int(a["port"]),
                protocol="ircs" if implicit else "irc",
                tls_start="implicit" if implicit else "starttls",
                instance="inspircd",
                greeting=None,
                before=None if implicit else cap_ls,
                after=cap_ls,
            )
        )
    return out


# ---------------------------------------------------------------- output


def build() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="protoaudit-more-truth-") as tmp:
        run = Path(tmp)
        more = render(run, run / "pki")
        targets = [*dovecot_targets(more), mariadb_target(more), *inn_targets(more)]
        text = json.dumps([*targets, *irc_targets()]).replace(str(run), "RUN")
    targets = sorted(json.loads(text), key=lambda t: (t["port"], t["host"]))
    user, password = (HERE / "users.in").read_text().split(":")[:2]
    return {
        "schema": 1,
        "generated_by": "lab/more/ground_truth.py (do not edit by hand)",
        "client_address": CLIENT,
        "test_user": {"user": user, "password": password.removeprefix("{PLAIN}")},
        "versions_known": list(gt.VERSIONS),
        "notes": [
            "capabilities_before: what the server lists before TLS, from client_address: "
            "LMTP LHLO keywords without the name line; ManageSieve greeting lines, quoted "
            "strings joined by a space, empty ones dropped; NNTP CAPABILITIES lines; IRC CAP "
            "LS 302 tokens. null for implicit TLS and for MySQL (whose greeting has "
            "capability bits, described in mysql_greeting). capabilities_after: the same "
            "after TLS.",
            "plaintext_auth_before_tls: ways to send a password in the clear before TLS "
            "(SASL PLAIN/LOGIN, NNTP AUTHINFO USER). Empty on every target here; verify.py "
            "tries a cleartext login before TLS on sieve and nntp and sees it refused.",
            "starttls_offered is null for implicit TLS (there is no plaintext phase).",
            "Suites per version are exactly those the server accepts when a client offers "
            "that suite alone (with SNI localhost), after the target's own upgrade dialog. "
            "Names and codes are IANA's.",
            "Every target serves the lab RSA leaf with its intermediate (RUN/pki). The "
            "leaf names localhost and 127.0.0.1 only: on 127.0.0.4 validation by IP fails "
            "(validation.ip_in_san is false), by the name localhost it passes.",
        ],
        "targets": {t["name"]: t for t in targets},
    }


def main() -> int:
    text = json.dumps(build(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print("stale: run python3 lab/more/ground_truth.py", file=sys.stderr)
            return 1
        print("more ground_truth.json is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
