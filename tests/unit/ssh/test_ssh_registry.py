"""The SSH registry: the packaged name lists, held against OpenSSH's and dropbear's own."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from importlib import resources

import pytest
from ssh_helpers import expected, load_hex

from protoaudit.proto.ssh.encoding import check_name
from protoaudit.proto.ssh.ident import parse_identification
from protoaudit.proto.ssh.kexinit import KexInit
from protoaudit.proto.ssh.packet import PacketReader
from protoaudit.registry import ssh as registry

ALGORITHM_FILES = (
    "ssh_kex_methods.csv",
    "ssh_host_key_algorithms.csv",
    "ssh_encryption_algorithms.csv",
    "ssh_mac_algorithms.csv",
    "ssh_compression_algorithms.csv",
)
DATA_FILES = (*ALGORITHM_FILES, "ssh_disconnect_reasons.csv")


def text(filename: str) -> str:
    return resources.files("protoaudit.registry").joinpath("data", filename).read_text("utf-8")


def rows(filename: str) -> list[dict[str, str]]:
    return list(csv.DictReader(line for line in text(filename).splitlines() if line[:1] != "#"))


@pytest.mark.parametrize("filename", DATA_FILES)
def test_every_data_file_names_its_source_and_snapshot(filename: str) -> None:
    header = [line for line in text(filename).splitlines() if line.startswith("#")]
    assert text(filename).startswith("#")
    assert any("https://www.iana.org/assignments/ssh-parameters/" in line for line in header)
    assert any(re.search(r"Snapshot: .*\d{4}", line) for line in header)


@pytest.mark.parametrize("filename", ALGORITHM_FILES)
def test_names_are_unique_and_well_formed(filename: str) -> None:
    names = [row["name"] for row in rows(filename)]
    assert len(names) == len(set(names))
    for name in names:
        assert check_name(name.removesuffix("*").encode()) is None, name


def test_tables_load_and_are_read_only() -> None:
    assert len(registry.kex_methods()) >= 40
    assert len(registry.host_key_algorithms()) >= 30
    assert len(registry.encryption_algorithms()) >= 35
    assert len(registry.mac_algorithms()) >= 20
    assert len(registry.compression_algorithms()) == 3
    assert len(registry.disconnect_reasons()) == 15
    assert registry.kex_methods() is registry.kex_methods()
    with pytest.raises(TypeError):
        registry.kex_methods()["x"] = registry.kex_method("x")  # type: ignore[index]


def test_lookups() -> None:
    assert registry.kex_method("curve25519-sha256").hash == "sha256"
    assert registry.kex_method("kex-strict-s-v00@openssh.com").marker
    assert registry.host_key_algorithm("rsa-sha2-512").key_type == "ssh-rsa"
    cert = registry.host_key_algorithm("rsa-sha2-256-cert-v01@openssh.com")
    assert (cert.key_type, cert.signature, cert.certificate) == (
        "ssh-rsa-cert-v01@openssh.com",
        "rsa-sha2-256",
        True,
    )
    assert registry.encryption_algorithm("chacha20-poly1305@openssh.com").aead
    assert registry.encryption_algorithm("3des-cbc").block_bits == 64
    assert registry.mac_algorithm("hmac-sha2-256-etm@openssh.com").etm
    assert registry.disconnect_reason(11).name == "SSH_DISCONNECT_BY_APPLICATION"


def test_families_match_by_prefix() -> None:
    assert registry.kex_method("ecdh-sha2-1.3.132.0.10").kind == "ecdh"
    gss = registry.kex_method("gss-group14-sha256-toWM5Slw5Ew8Mqkay+al2g==")
    assert (gss.kind, gss.hash, gss.reference) == ("gss", "sha256", "RFC 8732")
    member = registry.host_key_algorithm("ecdsa-sha2-1.3.132.0.10")
    assert (member.key_type, member.signature) == ("ecdsa-sha2-1.3.132.0.10",) * 2
    # The exact row wins over the family, and the family name alone is no member.
    assert registry.kex_method("ecdh-sha2-nistp256").hash == "sha256"
    assert not registry.kex_method("ecdh-sha2-").known


def test_unknown_names_survive() -> None:
    for entry in (
        registry.kex_method("brand-new@example.com"),
        registry.host_key_algorithm("brand-new@example.com"),
        registry.encryption_algorithm("brand-new@example.com"),
        registry.mac_algorithm("brand-new@example.com"),
        registry.compression_algorithm("brand-new@example.com"),
    ):
        assert entry.name == "brand-new@example.com"
        assert not entry.known
    assert registry.disconnect_reason(1000).name == "UNKNOWN_1000"
    assert registry.kex_method("Curve25519-SHA256").known is False  # names are case-sensitive


# -- against the servers -------------------------------------------------------------------------


def defaults(column: str, table: str) -> list[str]:
    entries = getattr(registry, table)().values()
    return [entry.name for entry in entries if getattr(entry, column) == "default"]


def test_openssh_defaults_are_sshd_t_s() -> None:
    sshd_t = expected()["sshd_T"]["openssh"]
    kex = set(defaults("openssh", "kex_methods"))
    markers = {name for name in kex if registry.kex_method(name).marker}
    assert kex - markers == set(sshd_t["kexalgorithms"])
    assert markers == {"ext-info-c", "kex-strict-c-v00@openssh.com", "kex-strict-s-v00@openssh.com"}
    assert set(defaults("openssh", "host_key_algorithms")) == set(sshd_t["hostkeyalgorithms"])
    assert set(defaults("openssh", "encryption_algorithms")) == set(sshd_t["ciphers"])
    assert set(defaults("openssh", "mac_algorithms")) == set(sshd_t["macs"])


def dropbear_kex_init() -> KexInit:
    found = parse_identification(load_hex("dropbear_curve25519_ed25519.hex"))
    assert found is not None
    reader = PacketReader()
    reader.feed(found[1])
    payload = reader.next_payload()
    assert payload is not None
    return KexInit.decode(payload)


def test_dropbear_defaults_are_what_dropbear_sent() -> None:
    kex_init = dropbear_kex_init()
    assert set(defaults("dropbear", "kex_methods")) == set(kex_init.kex_algorithms)
    assert set(defaults("dropbear", "encryption_algorithms")) == set(
        kex_init.encryption_algorithms_client_to_server
    )
    assert set(defaults("dropbear", "mac_algorithms")) == set(
        kex_init.mac_algorithms_client_to_server
    )
    assert set(defaults("dropbear", "compression_algorithms")) == set(
        kex_init.compression_algorithms_client_to_server
    )
    # It had RSA, P-256, Ed25519 and DSA keys; P-384 and P-521 were seen in another run.
    host_keys = set(defaults("dropbear", "host_key_algorithms"))
    assert host_keys - set(kex_init.server_host_key_algorithms) == {
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
    }


QUERIES = {
    "kex": "kex_methods",
    "cipher": "encryption_algorithms",
    "mac": "mac_algorithms",
    "key-sig": "host_key_algorithms",
    "compression": "compression_algorithms",
}


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client here")
@pytest.mark.parametrize("query", sorted(QUERIES))
def test_everything_ssh_q_lists_is_known(query: str) -> None:
    listed = subprocess.run(["ssh", "-Q", query], capture_output=True, text=True, check=True)
    table = getattr(registry, QUERIES[query])()
    for name in listed.stdout.split():
        assert name in table, name
        # A name this OpenSSH has is "removed" in the file only if the file is wrong.
        assert table[name].openssh != "removed", name


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client here")
@pytest.mark.parametrize("query", sorted(QUERIES))
def test_what_the_file_says_openssh_9_2_has_ssh_q_lists(query: str) -> None:
    version = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=True).stderr
    if not version.startswith("OpenSSH_9.2"):
        pytest.skip(f"the openssh column describes OpenSSH 9.2, this is {version.split(',')[0]}")
    listed = set(
        subprocess.run(
            ["ssh", "-Q", query], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    table = getattr(registry, QUERIES[query])()
    claimed = {name for name, entry in table.items() if entry.openssh in ("default", "supported")}
    claimed -= {name for name in claimed if QUERIES[query] == "kex_methods" and table[name].marker}
    assert claimed == listed
