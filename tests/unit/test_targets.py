from dataclasses import replace
from datetime import UTC, datetime

import pytest

from protoaudit.errors import TargetError
from protoaudit.observations import ConnectionFailure, Observation
from protoaudit.results import TargetResult
from protoaudit.targets import Target, every_service, parse_target, read_target_lines


@pytest.mark.parametrize(
    ("text", "host", "port", "server_name"),
    [
        ("example.com", "example.com", 443, "example.com"),
        ("Example.COM.", "example.com", 443, "example.com"),
        ("example.com:8443", "example.com", 8443, "example.com"),
        ("https://example.com", "example.com", 443, "example.com"),
        ("https://example.com:8443/path?q=1", "example.com", 8443, "example.com"),
        ("[::1]:443", "::1", 443, None),
        ("[::1]", "::1", 443, None),
        ("::1", "::1", 443, None),
        ("127.0.0.1:4433", "127.0.0.1", 4433, None),
        ("  127.0.0.1  ", "127.0.0.1", 443, None),
    ],
)
def test_accepted_forms(text: str, host: str, port: int, server_name: str | None) -> None:
    target = parse_target(text)
    assert (target.host, target.port, target.server_name) == (host, port, server_name)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("host:99999", "outside 1-65535"),
        ("host:0", "outside 1-65535"),
        (":443", "no host"),
        ("", "empty target"),
        ("host:abc", "not a number"),
        ("gopher://host", "unknown scheme"),
        ("[::1", "unclosed"),
        ("[nothex]:443", "not an IPv6 address"),
        ("bad host!", "not a host name"),
        ("https://user:pw@host", "credentials"),
        ("999.1.1.1", "not a host name"),
    ],
)
def test_rejected_forms_name_the_input(text: str, words: str) -> None:
    with pytest.raises(TargetError, match=words):
        parse_target(text)


def test_explicit_sni_wins_and_empty_sni_sends_none() -> None:
    assert parse_target("127.0.0.1", sni="www.example.com").server_name == "www.example.com"
    assert parse_target("example.com", sni="").server_name is None


def test_target_file_lines_skip_blanks_and_comments() -> None:
    lines = ["# lab\n", "\n", "127.0.0.1:4431  # modern\n", "   \n", "host:99999\n"]
    assert list(read_target_lines(lines)) == [(3, "127.0.0.1:4431"), (5, "host:99999")]


def test_every_service_is_each_well_known_tcp_port_once() -> None:
    swept = list(every_service(parse_target("[::1]:8443")))

    ports = [t.port for t in swept]
    assert ports == sorted(set(ports))
    assert {22, 23, 25, 443, 512, 513, 514, 993} <= set(ports)
    assert all(t.sweep and t.host == "::1" for t in swept)
    by_port = {t.port: t for t in swept}
    assert (by_port[22].service, by_port[513].service, by_port[465].service) == (
        "ssh",
        "rlogin",
        "smtps",
    )
    assert by_port[443].original == "[::1]:443"


def test_a_swept_port_is_closed_only_when_every_connect_failed() -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    target = next(every_service(parse_target("127.0.0.1")))
    refused = ConnectionFailure(stage="connect", reason="refused", detail="")
    no_tls = ConnectionFailure(stage="tls", reason="no-tls", detail="")

    def result(target: Target, *observations: Observation) -> TargetResult:
        return TargetResult(target, "127.0.0.1", started, 0.0, observations, (), None)

    assert result(target, refused).closed
    assert not result(target, no_tls).closed  # something answered there
    assert not result(target).closed
    assert not result(replace(target, sweep=False), refused).closed  # asked for: a failure


@pytest.mark.parametrize(
    ("text", "host", "service", "port", "dns_type"),
    [
        ("dnssec:example.com", "example.com", "dnssec", 53, "A"),
        ("dnssec:_443._tcp.Example.COM./tlsa", "_443._tcp.example.com", "dnssec", 53, "TLSA"),
        ("dnssec:.", ".", "dnssec", 53, "A"),
        ("DNSSEC://example.com/TYPE65", "example.com", "dnssec", 53, "TYPE65"),
        ("mail:example.com", "example.com", "mail", 25, "MX"),
        ("mail:secure.test:2525", "secure.test", "mail", 2525, "MX"),
    ],
)
def test_names_to_validate_and_mail_domains(
    text: str, host: str, service: str, port: int, dns_type: str
) -> None:
    target = parse_target(text)
    assert (target.host, target.service, target.port, target.dns_type) == (
        host,
        service,
        port,
        dns_type,
    )


@pytest.mark.parametrize(
    "text", ["dnssec:", "dnssec:bad name", "dnssec:a..b", "dnssec:x/A Y", "mail:.", "mail:x:0"]
)
def test_bad_names_are_target_errors(text: str) -> None:
    with pytest.raises(TargetError):
        parse_target(text)
