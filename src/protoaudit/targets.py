"""The one place that turns what a user typed into `Target`s.

Accepted forms: `host`, `host:port`, `[v6]:port`, bare IPv6, and
`scheme://host[:port][/path]` where the scheme names a service in SERVICES.
Anything else is a TargetError naming the input, so a batch can report it in
one line and go on with the other targets.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from protoaudit.errors import TargetError


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    default_port: int
    transport: str  # "tcp" or "udp"
    tls_start: str  # "implicit": TLS from the first byte; "starttls": after `dialog`; "none"
    dialog: str | None = None  # the STARTTLS dialog's protocol, in protoaudit.proto.starttls
    family: str = "tls"  # which probes apply: "tls", "ssh" or "remote-login"


def _implicit(name: str, port: int) -> Service:
    return Service(name, port, "tcp", "implicit")


def _starttls(name: str, port: int, dialog: str | None = None) -> Service:
    return Service(name, port, "tcp", "starttls", dialog or name)


def _other(name: str, port: int, family: str) -> Service:
    return Service(name, port, "tcp", "none", None, family)


# The only place that knows ports and how TLS starts on them.
SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        _implicit("tls", 443),
        _implicit("https", 443),
        _starttls("smtp", 25),
        _starttls("submission", 587, "smtp"),
        _implicit("smtps", 465),
        _implicit("submissions", 465),
        _starttls("lmtp", 24),
        _starttls("pop3", 110),
        _implicit("pop3s", 995),
        _starttls("imap", 143),
        _implicit("imaps", 993),
        _starttls("ftp", 21),
        _implicit("ftps", 990),
        _starttls("ldap", 389),
        _implicit("ldaps", 636),
        _starttls("xmpp", 5222),
        _starttls("xmpp-server", 5269),
        _implicit("xmpps", 5223),
        _starttls("postgres", 5432),
        _starttls("mysql", 3306),
        _starttls("nntp", 119),
        _implicit("nntps", 563),
        _starttls("sieve", 4190),
        _starttls("irc", 6667),
        _implicit("ircs", 6697),
        _other("ssh", 22, "ssh"),
        # What SSH replaced: audited only to confirm they are there, and say so.
        _other("telnet", 23, "remote-login"),
        _other("rexec", 512, "remote-login"),
        _other("rlogin", 513, "remote-login"),
        _other("rsh", 514, "remote-login"),
        # A name to validate, not a host to connect to: `dnssec:example.com[/TYPE]`.
        Service("dnssec", 53, "udp", "none", None, "dnssec"),
        # A mail domain: every MX, audited as SMTP with STARTTLS and DANE (RFC 7672).
        Service("mail", 25, "tcp", "none", None, "mail"),
        # Below TLS and beside it: IKE (UDP), OpenVPN (UDP or TCP), SOCKS proxies.
        Service("ike", 500, "udp", "none", None, "ike"),
        Service("openvpn", 1194, "udp", "none", None, "openvpn"),
        _other("socks5", 1080, "socks"),
        _other("socks4", 1080, "socks"),
        # An OpenPGP key published in DNS for a mail address (RFC 7929); a key file.
        Service("openpgpkey", 53, "udp", "none", None, "openpgpkey"),
        Service("pgp", 0, "file", "none", None, "pgp"),
    )
}
# Families whose targets are names to look up, not ports to connect to.
NAME_FAMILIES = ("dnssec", "mail", "openpgpkey", "pgp")
ALIASES = {"postgresql": "postgres", "smtp-submission": "submission", "managesieve": "sieve"}
# A bare host:port on a well-known port means that port's service; the
# scheme-less default stays plain TLS (443 and anything unknown).
BY_PORT: dict[int, str] = {
    service.default_port: name
    for name, service in reversed(list(SERVICES.items()))
    if name not in ("tls", "submissions") and service.family not in NAME_FAMILIES
}


def service_named(name: str) -> Service:
    """The service for a scheme or a --starttls word ("none" means implicit TLS)."""
    name = ALIASES.get(name.lower(), name.lower())
    if name == "none":
        return SERVICES["tls"]
    try:
        return SERVICES[name]
    except KeyError:
        raise TargetError(f"unknown service {name!r}") from None


@dataclass(frozen=True, slots=True)
class Target:
    host: str  # a name, or an IP address without brackets
    port: int
    service: str = "tls"
    sni: str | None = None  # None: derive from host (no SNI for IP addresses)
    original: str = ""
    # One port of a whole-host audit (--all-services): a closed port is no failure.
    sweep: bool = False
    dns_type: str = "A"  # dnssec: targets: the record type validated
    transport: str = "tcp"  # "udp" for ike:// and openvpn:// (unless openvpn://…/tcp)

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    @property
    def server_name(self) -> str | None:
        """The SNI to send: the explicit one, else the host when it is a name."""
        if self.sni is not None:
            return self.sni or None
        return None if self.is_ip else self.host

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?)+$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$")


def _port(text: str, original: str) -> int:
    if not text.isdigit():
        raise TargetError(f"{original!r}: port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise TargetError(f"{original!r}: port {port} is outside 1-65535")
    return port


def _host(text: str, original: str) -> str:
    if not text:
        raise TargetError(f"{original!r}: no host")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not _HOSTNAME.match(text) or text.replace(".", "").isdigit():
        raise TargetError(f"{original!r}: {text!r} is not a host name or IP address")
    return text.rstrip(".").lower()


_DNS_NAME = re.compile(
    r"^(?=.{1,253}\.?$)([A-Za-z0-9_*]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
    r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$|^\.$"
)
_DNS_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,15}$|^TYPE[0-9]{1,5}$")


def _dnssec_target(text: str, original: str) -> Target:
    """`dnssec:NAME` or `dnssec:NAME/TYPE`: a DNS name (underscores allowed, `.` the root)."""
    name, _, dns_type = text.removeprefix("//").partition("/")
    if not _DNS_NAME.match(name):
        raise TargetError(f"{original!r}: {name!r} is not a DNS name")
    dns_type = dns_type.upper() or "A"
    if not _DNS_TYPE.match(dns_type):
        raise TargetError(f"{original!r}: {dns_type!r} is not a DNS record type")
    if name != ".":
        name = name.rstrip(".").lower()
    return Target(name, 53, "dnssec", original=original.strip(), dns_type=dns_type)


def _mail_target(text: str, original: str) -> Target:
    """`mail:DOMAIN[:PORT]`: the port the MX hosts are audited on (25 unless a lab says)."""
    domain, _, port_text = text.removeprefix("//").partition(":")
    if not _DNS_NAME.match(domain) or domain == ".":
        raise TargetError(f"{original!r}: {domain!r} is not a mail domain")
    port = _port(port_text, original) if port_text else 25
    return Target(
        domain.rstrip(".").lower(), port, "mail", original=original.strip(), dns_type="MX"
    )


_MAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")


def _openpgpkey_target(text: str, original: str) -> Target:
    """`openpgpkey:user@example.com`: the key published for that address (RFC 7929)."""
    local, at, domain = text.strip().rpartition("@")
    if not at or not _MAIL_LOCAL.match(local) or not _DNS_NAME.match(domain) or domain == ".":
        raise TargetError(f"{original!r}: {text!r} is not a mail address")
    address = f"{local}@{domain.rstrip('.').lower()}"
    return Target(address, 53, "openpgpkey", original=original.strip(), dns_type="OPENPGPKEY")


def parse_target(text: str, *, sni: str | None = None, service: str | None = None) -> Target:
    original = text
    text = text.strip()
    if not text:
        raise TargetError("empty target")
    if text[:7].lower() == "dnssec:":
        return _dnssec_target(text[7:], original)
    if text[:5].lower() == "mail:":
        return _mail_target(text[5:], original)
    if text[:11].lower() == "openpgpkey:":
        return _openpgpkey_target(text[11:], original)
    scheme_match = _SCHEME.match(text)
    if scheme_match:
        scheme, text = scheme_match.group(1).lower(), scheme_match.group(2)
        if ALIASES.get(scheme, scheme) not in SERVICES:
            raise TargetError(f"{original!r}: unknown scheme {scheme!r}")
        if scheme == "pgp":
            raise TargetError(f"{original!r}: audit key files with `protoaudit pgp FILE`")
        if SERVICES[ALIASES.get(scheme, scheme)].family in NAME_FAMILIES:
            raise TargetError(f"{original!r}: write {scheme}:NAME, not {scheme}://")
        service = service or scheme
        text, _, path = text.partition("/")
        if "@" in text:
            raise TargetError(f"{original!r}: credentials in a target are not accepted")
    chosen = service_named(service or "tls")
    if text.startswith("["):
        host_part, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise TargetError(f"{original!r}: unclosed '['")
        if rest and not rest.startswith(":"):
            raise TargetError(f"{original!r}: unexpected {rest!r} after ']'")
        host = host_part
        port = _port(rest[1:], original) if rest else chosen.default_port
        try:
            host = str(ipaddress.IPv6Address(host))
        except ValueError as error:
            raise TargetError(f"{original!r}: {host!r} is not an IPv6 address") from error
    elif text.count(":") > 1:  # a bare IPv6 address, no port
        host, port = _host(text, original), chosen.default_port
    elif ":" in text:
        host_text, _, port_text = text.partition(":")
        host, port = _host(host_text, original), _port(port_text, original)
    else:
        host, port = _host(text, original), chosen.default_port
    if service is None and port in BY_PORT:
        chosen = SERVICES[BY_PORT[port]]
    transport = chosen.transport
    if chosen.name == "openvpn" and scheme_match and path.lower() in ("udp", "tcp"):
        transport = path.lower()
    elif chosen.name == "openvpn" and scheme_match and path:
        raise TargetError(f"{original!r}: openvpn:// takes /udp or /tcp, not /{path}")
    return Target(
        host=host,
        port=port,
        service=chosen.name,
        sni=sni,
        original=original.strip(),
        transport=transport,
    )


def every_service(target: Target) -> Iterator[Target]:
    """The target's host on each well-known TCP port of SERVICES, as that port's service.

    What listens there is confirmed by the probes from what it says (a TLS
    handshake, a STARTTLS dialog, SSH's identification, telnet's option
    negotiation, an r-service's first byte), not assumed from the port.
    """
    shown = f"[{target.host}]" if ":" in target.host else target.host
    for port in sorted(BY_PORT):
        service = SERVICES[BY_PORT[port]]
        if service.transport == "tcp":
            yield Target(target.host, port, service.name, target.sni, f"{shown}:{port}", sweep=True)


def read_target_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line that names a target: blanks and # comments skipped."""
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            yield number, text
