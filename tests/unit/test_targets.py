import pytest

from protoaudit.errors import TargetError
from protoaudit.targets import parse_target, read_target_lines


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
