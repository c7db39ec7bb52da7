"""Trust anchors from text and files, and the server argument."""

from __future__ import annotations

from pathlib import Path

import dns.name
import pytest

from protoaudit.probes.dnssec import default_root_servers, parse_server, read_trust_anchor_file
from protoaudit.proto.dnssec.anchors import MAX_ANCHOR_TEXT, TrustAnchorError, parse_trust_anchors
from unit.dnssec.dnssec_helpers import make_key

ROOT_DS = ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"


def test_ds_and_dnskey_lines_with_comments_and_parentheses() -> None:
    key = make_key(ksk=True).dnskey
    flags, protocol, algorithm, public = key.to_text().split(" ", 3)
    multi_line = f"lab. 3600 IN DNSKEY {flags} {protocol} {algorithm} (\n  {public} ) ; KSK\n"
    anchors = parse_trust_anchors(f"; lab anchors\n{ROOT_DS}\n{multi_line}")
    root = anchors.for_zone(dns.name.root)
    assert [ds.key_tag for ds in root] == [20326]
    lab = anchors.for_zone(dns.name.from_text("lab."))
    assert len(lab) == 1
    assert lab[0].digest_type == 2
    assert anchors.closest(dns.name.from_text("www.lab.")) == dns.name.from_text("lab.")
    assert anchors.closest(dns.name.from_text("example.")) == dns.name.root


def test_an_anchor_below_the_root_covers_only_its_subtree() -> None:
    anchors = parse_trust_anchors("lab. IN DS 1 13 2 " + "ab" * 32)
    assert anchors.closest(dns.name.from_text("example.")) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "; only a comment\n",
        ". IN A 192.0.2.1",
        ". IN DS 20326 8 2 NOTHEX",
        ". CH DS 20326 8 2 " + "ab" * 32,
        "x" * (MAX_ANCHOR_TEXT + 1),
        "\n".join(f"a{index}. IN DS 1 13 2 {'ab' * 32}" for index in range(65)),
    ],
)
def test_bad_anchor_text_raises_one_error_type(text: str) -> None:
    with pytest.raises(TrustAnchorError):
        parse_trust_anchors(text)


def test_read_trust_anchor_file(tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    path.write_text(ROOT_DS + "\n")
    assert read_trust_anchor_file(path).for_zone(dns.name.root)[0].key_tag == 20326
    with pytest.raises(TrustAnchorError, match="No such file"):
        read_trust_anchor_file(tmp_path / "missing")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(TrustAnchorError, match="UTF-8"):
        read_trust_anchor_file(binary)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.53.53", ("127.0.53.53", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5300", ("::1", 5300)),
    ],
)
def test_parse_server(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["resolver.example", "127.0.0.1:0", "127.0.0.1:99999", "[::1]x"])
def test_parse_server_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_server(text)


def test_default_root_servers_list_ipv4_first() -> None:
    servers = default_root_servers(5353)
    assert servers[0] == ("198.41.0.4", 5353)
    assert len(servers) == 26
    assert ":" in servers[-1][0]
