"""Write lab/mail/ground_truth.json from the mail lab's configuration.

    python3 lab/mail/ground_truth.py            # rewrite lab/mail/ground_truth.json
    python3 lab/mail/ground_truth.py --check    # exit 1 if the file is stale

Where each fact comes from:
- Settings: the templates in this directory, rendered into a scratch run dir
  laid out as start.sh lays it out, and read back through the servers' own
  tools: `postconf -c DIR -x -o ...` per master.cf service (its -o overrides,
  postfix's defaults and $name expansion) and `doveconf -c FILE -h`. Target
  names: postfix's syslog_name, dovecot's "# target:" comments.
- Versions and suites: the cipher string each server is given, expanded by
  `openssl ciphers -s -V -stdname` and filtered by the certificate's key type,
  through lab/ground_truth.py's functions (the same rules as the TLS lab).
- Certificates: lab/pki.py's LEAVES, through lab/ground_truth.py.
- Capabilities: each server's compiled-in keyword list (postfix 3.7 smtpd.c
  ehlo_cmd(); dovecot 2.3 imap-login and pop3-login client.c), switched by the
  settings above. They are the only facts not read from a config file, and
  verify.py compares every one with what the running server says.
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
import mailprobe  # noqa: E402
import pki  # noqa: E402

OUT = HERE / "ground_truth.json"
# The kernel gives every connection to 127/8 the source 127.0.0.1 (the "src" of
# lo's local route), so that is where the lab's clients stand.
CLIENT = "127.0.0.1"
DOVECOT_INSTANCES = ("dovecot", "dovecot-plain")  # NAME.conf.in -> RUN/mail/NAME/dovecot.conf
SASL_LISTENER = "auth-postfix"  # dovecot's unix_listener that postfix's smtpd_sasl_path names
# The highest version in Debian 12's libssl: where a server sets no maximum
# (dovecot 2.3 has no such setting), this is it.
LIB_MAX = "TLS 1.3"


# ---------------------------------------------------------------- config tools


def render(run: Path) -> Path:
    """The templates with @RUN@ filled in, where start.sh puts them."""
    mail = run / "mail"
    files = {
        "dovecot-common.conf.in": mail / "common.conf",
        "users.in": mail / "users",
        "postfix/main.cf.in": mail / "postfix/conf/main.cf",
        "postfix/master.cf.in": mail / "postfix/conf/master.cf",
        **{f"{i}.conf.in": mail / i / "dovecot.conf" for i in DOVECOT_INSTANCES},
    }
    for src, dst in files.items():
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text((HERE / src).read_text().replace("@RUN@", str(run)))
    return mail


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, env=gt.ENV, capture_output=True, text=True, check=True).stdout


def postconf(conf: Path, overrides: dict[str, str], *names: str) -> dict[str, str]:
    """Effective, expanded values of main.cf parameters under master.cf -o overrides."""
    args = [a for k, v in overrides.items() for a in ("-o", f"{k}={v}")]
    out = _run("postconf", "-c", str(conf), "-x", *args, *names)
    # An empty value prints as "name =".
    pairs = (
        ln.split(" = ", 1) if " = " in ln else (ln.rstrip(" ="), "") for ln in out.splitlines()
    )
    return dict(pairs)


def doveconf(conf: Path, name: str) -> str:
    return _run("doveconf", "-c", str(conf), "-h", name).strip()


def openssl_versions(spec: str) -> list[str]:
    """Postfix protocol syntax: '>=TLSv1.2', '<=TLSv1.3', or '!TLSv1, !TLSv1.1'."""
    lo, hi = 0, gt.VERSIONS.index(LIB_MAX)
    excluded = set()
    for tok in re.split(r"[\s,:]+", spec.strip()):
        if tok.startswith(">="):
            lo = gt.VERSIONS.index(gt.OPENSSL_PROTO[tok[2:]])
        elif tok.startswith("<="):
            hi = gt.VERSIONS.index(gt.OPENSSL_PROTO[tok[2:]])
        elif tok.startswith("!") and tok[1:] in gt.OPENSSL_PROTO:
            excluded.add(gt.OPENSSL_PROTO[tok[1:]])
        elif tok and not tok.lstrip("!").startswith("SSLv"):
            raise ValueError(f"protocol token {tok!r} not modelled")
    return [v for v in gt.VERSIONS[lo : hi + 1] if v not in excluded]


def tls_facts(
    name: str,
    server: str,
    *,
    versions: list[str],
    cipher: str,
    ciphersuites: str | None,
    groups: list[str],
    server_order: bool,
    cert_label: str,
    dh: str | None,
) -> dict[str, Any]:
    """The TLS lab's fields for one server, by the TLS lab's own rules."""
    cert = gt.certificate_facts([cert_label])
    per_version = {}
    for v in versions:
        s = gt.openssl_server_filter(
            gt.openssl_expand(v, cipher, ciphersuites), set(cert["key_types"]), dh, groups
        )
        if s:
            per_version[v] = s
    gs = {v: groups for v, s in per_version.items() if v == "TLS 1.3" or gt._has_kx(s, "ECDH")}
    t = gt._target(name, 0, server, per_version, gs, server_order, cert, dh, ffdhe_negotiated=False)
    del t["host"], t["port"]  # the TLS lab's fixed address; the caller has the real one
    return t


def cert_summary(t: dict[str, Any], host: str) -> dict[str, Any]:
    (c,) = t["certificates"]
    # The lab leaves name localhost and 127.0.0.1 only: checked by name, every
    # target is fine; checked by IP, the ones on 127.0.0.2/.3 are not.
    t["validation"]["ip"] = host
    t["validation"]["ip_in_san"] = host in pki.LEAVES[c["label"]].names
    return {"label": c["label"], "trusted_by_lab_ca": t["validation"]["trusted_by_lab_ca"]}


def no_tls() -> dict[str, Any]:
    return {
        "versions": [],
        "cipher_suites": {},
        "groups": {},
        "certificate": None,
        "certificates": [],
        "validation": None,
        "key_types": [],
        "dh": None,
    }


def mail_fields(protocol: str, before: list[str] | None) -> dict[str, Any]:
    if before is None:  # implicit TLS: nothing is said in plaintext
        return {
            "plaintext_auth_before_tls": [],
            "plaintext_auth_detail": {"command": None, "sasl": []},
        }
    auth = mailprobe.plaintext_auth(protocol, before)
    return {
        "plaintext_auth_before_tls": auth["offered"],
        "plaintext_auth_detail": {"command": auth["command"], "sasl": auth["sasl"]},
    }


def read_users() -> dict[str, str]:
    user, password = (HERE / "users.in").read_text().split(":")[:2]
    return {"user": user, "password": password.removeprefix("{PLAIN}")}


# ---------------------------------------------------------------- dovecot


DOVECOT_SETTINGS = [
    "ssl",
    "disable_plaintext_auth",
    "auth_mechanisms",
    "imap_capability",
    "login_greeting",
    "login_trusted_networks",
    "base_dir",
    "ssl_min_protocol",
    "ssl_cipher_list",
    "ssl_cipher_suites",
    "ssl_curve_list",
    "ssl_prefer_server_ciphers",
    "ssl_cert",
    "ssl_dh",
]


def dovecot_targets(mail: Path) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The dovecot targets, and each instance's SASL socket -> mechanisms (for postfix)."""
    out, sockets = [], {}
    for inst in DOVECOT_INSTANCES:
        conf = mail / inst / "dovecot.conf"
        s = {k: doveconf(conf, k) for k in DOVECOT_SETTINGS}
        mechs = s["auth_mechanisms"].upper().split()
        # The listener's name is its path (relative to base_dir) unless path is set.
        sock = doveconf(conf, f"service/auth/unix_listener/{SASL_LISTENER}/path") or SASL_LISTENER
        sockets[str(Path(s["base_dir"], sock))] = mechs
        assert s["ssl"] == "yes", "ssl=required/no is not modelled below"
        assert s["imap_capability"], "set it: empty means the compiled-in list"
        assert not s["imap_capability"].startswith("+"), "set it in full"
        lo = gt.VERSIONS.index(gt.OPENSSL_PROTO[s["ssl_min_protocol"]])
        tls_args = {
            "versions": list(gt.VERSIONS[lo : gt.VERSIONS.index(LIB_MAX) + 1]),  # 2.3: no max
            "cipher": s["ssl_cipher_list"],
            "ciphersuites": s["ssl_cipher_suites"] or None,  # empty: the library's
            "groups": s["ssl_curve_list"].split(":"),
            "server_order": s["ssl_prefer_server_ciphers"] == "yes",
            "cert_label": gt.label_of(s["ssl_cert"].lstrip("<")),
            "dh": Path(s["ssl_dh"].lstrip("<")).name.removesuffix(".pem") or None,
        }
        for service, listener, name in dovecot_listeners(HERE / f"{inst}.conf.in"):
            key = f"service/{service}/inet_listener/{listener}"
            host, port = doveconf(conf, f"{key}/address"), int(doveconf(conf, f"{key}/port"))
            implicit = doveconf(conf, f"{key}/ssl") == "yes"
            proto = service.removesuffix("-login")
            # login-common: a client is "secured" over TLS, from a trusted
            # network, or when its IP equals the server's (the lab's trap).
            trusted = any(
                ipaddress.ip_address(CLIENT) in ipaddress.ip_network(n, strict=False)
                for n in s["login_trusted_networks"].split()
            )
            secured_plain = trusted or host == CLIENT
            caps = dovecot_caps(proto, s, mechs, tls=False, secured=secured_plain)
            after = dovecot_caps(proto, s, mechs, tls=True, secured=True)
            shown = after if implicit else caps
            greeting = (
                f"* OK [CAPABILITY {' '.join(shown)}] {s['login_greeting']}"
                if proto == "imap"
                else f"+OK {s['login_greeting']}"
            )
            t = tls_facts(name, "dovecot", **tls_args)
            out.append(
                {
                    "name": name,
                    "host": host,
                    "port": port,
                    "protocol": proto + ("s" if implicit else ""),
                    "tls_start": "implicit" if implicit else "starttls",
                    "server": "dovecot",
                    "instance": inst,
                    "greeting": greeting,
                    "starttls_offered": None if implicit else True,
                    **mail_fields(proto, None if implicit else caps),
                    "capabilities_before": None if implicit else caps,
                    "capabilities_after": after,
                    "certificate": cert_summary(t, host),
                    **t,
                }
            )
    return out, sockets


def dovecot_listeners(template: Path) -> list[tuple[str, str, str]]:
    """(service, inet_listener, target) for each "# target:" comment in a template."""
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


# dovecot 2.3 pop3-login/client.c: POP3_CAPABILITY_REPLY, sent before login.
POP3_BUILTIN = ["CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]


def dovecot_caps(
    proto: str, s: dict[str, str], mechs: list[str], *, tls: bool, secured: bool
) -> list[str]:
    """Pre-login capabilities (imap-login get_capability(), pop3-login cmd_capa())."""
    plain_ok = secured or s["disable_plaintext_auth"] == "no"
    # A mechanism that sends the password is advertised only where plaintext
    # auth is allowed (client_authenticate_get_capabilities()).
    shown = [m for m in mechs if plain_ok or m not in mailprobe.CLEARTEXT_SASL]
    if proto == "imap":
        caps = s["imap_capability"].split()
        if not tls:
            caps.append("STARTTLS")
        # is_login_cmd_disabled(): LOGIN needs plaintext auth and the PLAIN mechanism.
        if not plain_ok or "PLAIN" not in mechs:
            caps.append("LOGINDISABLED")
        return caps + [f"AUTH={m}" for m in shown]
    caps = list(POP3_BUILTIN)
    if not tls:
        caps.append("STLS")
    if plain_ok:
        caps.append("USER")
    return [*caps, " ".join(["SASL", *shown])]


# ---------------------------------------------------------------- postfix

POSTFIX_PARAMS = [
    "syslog_name",
    "smtpd_banner",
    "smtpd_tls_wrappermode",
    "smtpd_tls_security_level",
    "smtpd_tls_auth_only",
    "smtpd_sasl_auth_enable",
    "smtpd_sasl_type",
    "smtpd_sasl_path",
    "smtpd_sasl_security_options",
    "smtpd_sasl_tls_security_options",
    "broken_sasl_auth_clients",
    "smtpd_tls_protocols",
    "smtpd_tls_mandatory_protocols",
    "smtpd_tls_ciphers",
    "smtpd_tls_mandatory_ciphers",
    "smtpd_tls_exclude_ciphers",
    "smtpd_tls_mandatory_exclude_ciphers",
    "smtpd_tls_chain_files",
    "smtpd_tls_dh1024_param_file",
    "smtpd_tls_eecdh_grade",
    "tls_eecdh_auto_curves",
    "tls_preempt_cipherlist",
    "tls_config_file",
    "message_size_limit",
    "disable_vrfy_command",
    "smtputf8_enable",
    "smtpd_discard_ehlo_keywords",
    "tls_high_cipherlist",
    "tls_medium_cipherlist",
    "tls_low_cipherlist",
    "tls_null_cipherlist",
]


def postfix_targets(mail: Path, sasl_sockets: dict[str, list[str]]) -> list[dict[str, Any]]:
    conf = mail / "postfix/conf"
    fields: dict[str, dict[str, str]] = {}
    for line in _run("postconf", "-c", str(conf), "-F").splitlines():
        key, _, value = line.partition(" = ")
        service, typ, field = key.split("/")
        fields.setdefault(f"{service}/{typ}", {})[field] = value
    overrides: dict[str, dict[str, str]] = {}
    for line in _run("postconf", "-c", str(conf), "-P").splitlines():
        key, _, value = line.partition(" = ")
        service, typ, param = key.split("/")
        overrides.setdefault(f"{service}/{typ}", {})[param] = value
    out = []
    for key, f in fields.items():
        if f["command"].split()[0] != "smtpd" or not key.endswith("/inet"):
            continue
        p = postconf(conf, overrides.get(key, {}), *POSTFIX_PARAMS)
        out.append(postfix_target(key.split("/")[0], p, sasl_sockets))
    return out


def postfix_target(
    service: str, p: dict[str, str], sockets: dict[str, list[str]]
) -> dict[str, Any]:
    name = p["syslog_name"].removeprefix("postfix/")
    host, port = service.rsplit(":", 1)
    implicit = p["smtpd_tls_wrappermode"] == "yes"
    tls = implicit or p["smtpd_tls_security_level"] in ("may", "encrypt")
    # Wrapper mode uses the mandatory variants: the lab sets both alike, so
    # which one applies need not be modelled.
    for a, b in (
        ("smtpd_tls_protocols", "smtpd_tls_mandatory_protocols"),
        ("smtpd_tls_ciphers", "smtpd_tls_mandatory_ciphers"),
        ("smtpd_tls_exclude_ciphers", "smtpd_tls_mandatory_exclude_ciphers"),
    ):
        assert p[a] == p[b], f"{name}: {a} != {b} is not modelled"
    assert not p["smtpd_discard_ehlo_keywords"], "not modelled"
    assert p["tls_config_file"] == "none", "the host's openssl.cnf would change the truth"

    mechs: list[str] = []
    mechs_tls: list[str] = []
    if p["smtpd_sasl_auth_enable"] == "yes":
        assert p["smtpd_sasl_type"] == "dovecot"
        offered = sockets[p["smtpd_sasl_path"]]
        mechs = sasl_filter(offered, p["smtpd_sasl_security_options"])
        mechs_tls = sasl_filter(offered, p["smtpd_sasl_tls_security_options"])
    auth_plain = mechs if p["smtpd_tls_auth_only"] == "no" or not tls else []
    before = None if implicit else ehlo(p, starttls=tls, auth=auth_plain)
    after = ehlo(p, starttls=False, auth=mechs_tls) if tls else None

    target: dict[str, Any] = {
        "name": name,
        "host": host,
        "port": int(port),
        "protocol": "smtps" if implicit else "smtp",
        "tls_start": "implicit" if implicit else "starttls" if tls else "none",
        "server": "postfix",
        "instance": "postfix",
        "greeting": f"220 {p['smtpd_banner']}",
        "starttls_offered": None if implicit else tls,
        **mail_fields("smtp", before),
        "capabilities_before": before,
        "capabilities_after": after,
    }
    if not tls:
        return {**target, **no_tls(), "notes": []}
    # tls_misc.c tls_set_ciphers(): the grade's list, then ":!X" per exclusion.
    excluded = re.split(r"[\s,:]+", p["smtpd_tls_exclude_ciphers"].strip())
    cipher = p[f"tls_{p['smtpd_tls_ciphers']}_cipherlist"] + "".join(
        f":!{x}" for x in excluded if x
    )
    chain = next(
        f for f in re.split(r"[\s,]+", p["smtpd_tls_chain_files"]) if f.endswith(".chain.pem")
    )
    if gt.label_of(chain) not in pki.LEAVES:
        # The lab makes no such file: smtpd says 220 to STARTTLS, logs "error
        # opening chain file" and fails every handshake (no certificate).
        return {
            **target,
            **no_tls(),
            "upgrade_fails": True,
            "capabilities_after": None,
            "notes": ["the certificate file is missing: STARTTLS is agreed, TLS fails"],
        }
    dh = p["smtpd_tls_dh1024_param_file"]
    assert p["smtpd_tls_eecdh_grade"] == "auto", "only the auto curve list is modelled"
    t = tls_facts(
        name,
        "postfix",
        versions=openssl_versions(p["smtpd_tls_protocols"]),
        cipher=cipher,
        ciphersuites=None,  # postfix 3.7 sets no TLS 1.3 suites: the library's defaults
        groups=re.split(r"[\s,:]+", p["tls_eecdh_auto_curves"].strip()),
        server_order=p["tls_preempt_cipherlist"] == "yes",
        cert_label=gt.label_of(chain),
        dh=Path(dh).name.removesuffix(".pem") if dh else None,
    )
    return {**target, "certificate": cert_summary(t, host), **t}


def sasl_filter(mechs: list[str], options: str) -> list[str]:
    """xsasl_dovecot_server: the mechanisms smtpd_sasl_*security_options let through."""
    opts = set(options.replace(",", " ").split())
    drop = set()
    if "noplaintext" in opts:
        drop |= set(mailprobe.CLEARTEXT_SASL)
    if "noanonymous" in opts:
        drop.add("ANONYMOUS")
    drop.add("EXTERNAL")  # smtpd_sasl_mechanism_filter's default "!external"
    return [m for m in mechs if m not in drop]


def ehlo(p: dict[str, str], *, starttls: bool, auth: list[str]) -> list[str]:
    """postfix 3.7 smtpd.c ehlo_cmd(): the keywords, in the order it sends them."""
    size = int(p["message_size_limit"])
    kw = [
        ("PIPELINING", True),
        (f"SIZE {size}" if size else "SIZE", True),
        ("VRFY", p["disable_vrfy_command"] == "no"),
        ("ETRN", True),
        ("STARTTLS", starttls),
        ("AUTH " + " ".join(auth), bool(auth)),
        ("AUTH=" + " ".join(auth), bool(auth) and p["broken_sasl_auth_clients"] == "yes"),
        ("ENHANCEDSTATUSCODES", True),
        ("8BITMIME", True),
        ("DSN", True),
        ("SMTPUTF8", p["smtputf8_enable"] == "yes"),
        ("CHUNKING", True),
    ]
    return [k for k, on in kw if on]


# ---------------------------------------------------------------- output


def build() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="protoaudit-mail-truth-") as tmp:
        run = Path(tmp)
        mail = render(run)
        dovecot, sockets = dovecot_targets(mail)
        targets = postfix_targets(mail, sockets) + dovecot
        # Paths of the scratch dir must not leak into the file.
        text = json.dumps(targets).replace(str(run), "RUN")
    targets = json.loads(text)
    return {
        "schema": 1,
        "generated_by": "lab/mail/ground_truth.py (do not edit by hand)",
        "client_address": CLIENT,
        "test_user": read_users(),
        "notes": [
            "capabilities_before: what the server lists before TLS, from client_address "
            "(EHLO keywords without the name line; IMAP CAPABILITY tokens; POP3 CAPA lines); "
            "null for implicit TLS. capabilities_after: the same after TLS; null without TLS.",
            "plaintext_auth_before_tls: the ways to send a password before TLS, as the "
            "server spells them: SMTP AUTH mechanisms; IMAP LOGIN (no LOGINDISABLED) and "
            "AUTH=X; POP3 USER and SASL mechanisms. Only PLAIN and LOGIN count as SASL "
            "mechanisms that carry the password. Each target with a non-empty list accepts "
            "the test user's login in cleartext; every other target refuses it.",
            "starttls_offered is null for implicit TLS (there is no plaintext phase).",
            "Suites per version are exactly those the server accepts when a client offers "
            "that suite alone (with SNI localhost). Names and codes are IANA's.",
            "Dovecot counts a client whose IP equals the server's as secure; its STARTTLS "
            "listeners are on 127.0.0.2/.3 so that the lab's client on 127.0.0.1 is not.",
            "The lab leaves name localhost and 127.0.0.1 only: validation by the name "
            "localhost passes everywhere; by IP it fails where validation.ip_in_san is false.",
        ],
        "targets": {t["name"]: t for t in targets},
    }


def main() -> int:
    text = json.dumps(build(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print("stale: run python3 lab/mail/ground_truth.py", file=sys.stderr)
            return 1
        print("mail ground_truth.json is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
