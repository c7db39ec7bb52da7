"""Hardening advice for an SSH server: what to remove, and the configuration that does it.

From one target's observations: every offered algorithm the data classes weak
or broken (and ChaCha20-Poly1305 while Terrapin is open), per category, in the
server's order; then lines for the server's software, told apart by its
identification string.

- OpenSSH (`OpenSSH_9.2p1`, `OpenSSH_for_Windows_8.1`): sshd_config lines.
  `config_lines` removes from OpenSSH's built-in defaults with the '-' prefix
  (OpenSSH 7.5 and later; older versions get explicit lists there too);
  `allow_list_lines` names what stays explicitly (what the server offers
  minus what is removed). Both carry the same non-list settings
  (PasswordAuthentication, KbdInteractiveAuthentication, Compression …), so
  either block can be pasted on its own.
- Dropbear chooses algorithms when it is built: `config_lines` are
  localoptions.h defines; runtime options are notes.
- Anything else: `remove` says what to take out; there are no lines.

Nothing here touches a server; the advice is text for a person to review.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from protoaudit.observations import (
    Observation,
    SshAlgorithms,
    SshAuthMethods,
    SshGexModulus,
    SshHostKey,
    SshIdentification,
)
from protoaudit.policy.facts import of_kind
from protoaudit.policy.ssh_algorithms import (
    CATEGORIES,
    CATEGORY_LABELS,
    Category,
    load_algorithm_data,
    offered_algorithms,
)
from protoaudit.policy.ssh_rules import ssh_thresholds, terrapin_exposure

OPENSSH_DIRECTIVES: Mapping[Category, str] = {
    "kex": "KexAlgorithms",
    "host_key": "HostKeyAlgorithms",
    "encryption": "Ciphers",
    "mac": "MACs",
}
# `ssh -Q <query>` lists what an OpenSSH build supports, per category.
OPENSSH_QUERIES: Mapping[Category, str] = {
    "kex": "kex",
    "host_key": "key",
    "encryption": "cipher",
    "mac": "mac",
}
OPENSSH_REMOVE_PREFIX_SINCE = (7, 5)
OPENSSH_KBD_INTERACTIVE_KEYWORD_SINCE = (8, 7)  # ChallengeResponseAuthentication before
OPENSSH_RSA_SHA2_SINCE = (7, 2)
OPENSSH_STRICT_KEX_SINCE = (9, 6)
OPENSSH_SNTRUP761_SINCE = (8, 5)
OPENSSH_MLKEM768_SINCE = (9, 9)

_OPENSSH_VERSION = re.compile(r"OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)")
_DSA_HOST_KEYS = frozenset(
    {"ssh-dss", "ssh-dss-cert-v01@openssh.com", "ssh-dss-cert-v00@openssh.com"}
)


@dataclass(frozen=True, slots=True)
class SshHardening:
    software: str | None  # from the identification line; None when none was seen
    config_file: str | None  # what config_lines are for: "sshd_config", "localoptions.h"
    remove: dict[Category, tuple[str, ...]]  # every category; () when nothing goes
    keep: dict[Category, tuple[str, ...]]  # what the server offers minus `remove`
    config_lines: tuple[str, ...]
    allow_list_lines: tuple[str, ...]  # OpenSSH only
    notes: tuple[str, ...]

    @property
    def changes_needed(self) -> bool:
        return bool(self.config_lines or any(self.remove.values()))


def openssh_version(software: str) -> tuple[int, int] | None:
    """(major, minor) of an OpenSSH identification's software field, else None."""
    match = _OPENSSH_VERSION.match(software)
    return (int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the advice needs, gathered once from the observations."""

    remove: dict[Category, tuple[str, ...]]
    keep: dict[Category, tuple[str, ...]]
    unknown: tuple[str, ...]
    terrapin_ciphers: tuple[str, ...]  # removed because strict kex is missing
    password_methods: tuple[str, ...]
    none_accepted: bool
    ssh1: bool
    post_quantum: bool | None  # None when no kex list was seen
    small_rsa_keys: tuple[tuple[str, int], ...]  # (fingerprint, bits)
    small_gex_primes: bool


def _gather(observations: Sequence[Observation]) -> _Facts:
    limits = ssh_thresholds()
    remove: dict[Category, list[str]] = {category: [] for category in CATEGORIES}
    keep: dict[Category, list[str]] = {category: [] for category in CATEGORIES}
    unknown: list[str] = []
    terrapin: list[str] = []
    post_quantum: bool | None = None
    for algorithms in of_kind(observations, SshAlgorithms):
        exposed = {name for item in terrapin_exposure(algorithms) for name in item.ciphers}
        for offer in offered_algorithms(algorithms):
            category = offer.info.category
            if offer.info.needs_removal or offer.name in exposed:
                remove[category].append(offer.name)
            else:
                keep[category].append(offer.name)
            if offer.name in exposed:
                terrapin.append(offer.name)
            if offer.info.classification == "unknown":
                unknown.append(offer.name)
            if category == "kex":
                post_quantum = bool(post_quantum) or offer.info.post_quantum
    password = [
        method
        for auth in of_kind(observations, SshAuthMethods)
        for method in auth.methods
        if method in ("password", "keyboard-interactive")
    ]
    return _Facts(
        remove={category: tuple(dict.fromkeys(names)) for category, names in remove.items()},
        keep={
            category: tuple(name for name in dict.fromkeys(names) if name not in remove[category])
            for category, names in keep.items()
        },
        unknown=tuple(dict.fromkeys(unknown)),
        terrapin_ciphers=tuple(dict.fromkeys(terrapin)),
        password_methods=tuple(dict.fromkeys(password)),
        none_accepted=any(auth.none_accepted for auth in of_kind(observations, SshAuthMethods)),
        ssh1=any(
            item.protocol_version.startswith("1.")
            for item in of_kind(observations, SshIdentification)
        ),
        post_quantum=post_quantum,
        small_rsa_keys=tuple(
            dict.fromkeys(
                (key.fingerprint_sha256, key.bits)
                for key in of_kind(observations, SshHostKey)
                if key.key_type == "ssh-rsa" and key.bits < limits.rsa_key_bits_min
            )
        ),
        small_gex_primes=any(
            item.modulus_bits < limits.dh_group_bits_min
            for item in of_kind(observations, SshGexModulus)
        ),
    )


def _list_lines(facts: _Facts, *, removal_form: bool) -> list[str]:
    lines = []
    for category, directive in OPENSSH_DIRECTIVES.items():
        removed, kept = facts.remove[category], facts.keep[category]
        if not removed:
            continue
        if removal_form:
            lines.append(f"{directive} -{','.join(removed)}")
        elif kept:
            lines.append(f"{directive} {','.join(kept)}")
    return lines


def _openssh_settings(facts: _Facts, version: tuple[int, int] | None) -> list[str]:
    settings = []
    if "zlib" in facts.remove["compression"]:
        settings.append("Compression delayed")  # zlib@openssh.com only, after authentication
    if "password" in facts.password_methods:
        settings.append("PasswordAuthentication no")
    if "keyboard-interactive" in facts.password_methods:
        modern = version is None or version >= OPENSSH_KBD_INTERACTIVE_KEYWORD_SINCE
        keyword = "KbdInteractiveAuthentication" if modern else "ChallengeResponseAuthentication"
        settings.append(f"{keyword} no")
    if facts.none_accepted:
        settings.append("PermitEmptyPasswords no")
    if facts.ssh1:
        settings.append("Protocol 2")  # only OpenSSH before 7.4 still knew SSH-1
    return settings


def _shown(version: tuple[int, int] | None) -> str:
    return "" if version is None else f" {version[0]}.{version[1]}"


def _openssh_line_notes(facts: _Facts, version: tuple[int, int] | None) -> list[str]:
    """How to apply the lines; only said when there are lines."""
    notes = []
    if version is None:
        notes.append(
            "The OpenSSH version could not be read from the identification; the '-' form "
            "needs OpenSSH 7.5 or later."
        )
    elif version < OPENSSH_REMOVE_PREFIX_SINCE:
        notes.append(
            f"OpenSSH{_shown(version)} predates the '-' prefix (7.5): config_lines name what stays."
        )
    else:
        notes.append(
            "The '-' lines remove algorithms from OpenSSH's built-in defaults; where "
            "sshd_config already sets an explicit list, edit that list or use the "
            "allow-list lines instead."
        )
    notes.append(
        "sshd uses the first value it reads for each keyword: put these lines in a file "
        "under /etc/ssh/sshd_config.d/ that sorts first (Debian and Ubuntu include it at "
        "the top of sshd_config) or above any existing line, check with `sshd -T`, then "
        "reload sshd."
    )
    for category, directive in OPENSSH_DIRECTIVES.items():
        if facts.remove[category] and not facts.keep[category]:
            notes.append(
                f"No acceptable {CATEGORY_LABELS[category]} algorithm is offered, so the "
                f"allow-list form has no {directive} line: pick one from "
                f"`ssh -Q {OPENSSH_QUERIES[category]}` on the server."
            )
    return notes


def _openssh_advice(facts: _Facts, version: tuple[int, int] | None) -> list[str]:
    """What the lines alone do not fix: host keys, moduli, upgrades."""
    notes = []
    shown = _shown(version)
    if any(name in _DSA_HOST_KEYS for name in facts.remove["host_key"]):
        notes.append(
            "Also delete the HostKey line for the DSA key (usually /etc/ssh/ssh_host_dsa_key): "
            "sshd offers a host-key algorithm for every key it loads."
        )
    if "ssh-rsa" in facts.remove["host_key"] and version and version < OPENSSH_RSA_SHA2_SINCE:
        notes.append(
            f"OpenSSH{shown} has no rsa-sha2-256/512: without ssh-rsa its RSA host key is "
            "unusable, so upgrade or rely on an Ed25519 or ECDSA host key."
        )
    for fingerprint, bits in facts.small_rsa_keys:
        notes.append(
            f"Replace the {bits}-bit RSA host key {fingerprint}: "
            "ssh-keygen -t rsa -b 3072 -f /etc/ssh/ssh_host_rsa_key (or offer only Ed25519); "
            "clients that pinned the old key will warn once."
        )
    if facts.small_gex_primes:
        floor = ssh_thresholds().dh_group_bits_min - 1  # moduli(5) lists size minus one
        notes.append(
            f"Remove primes under {floor + 1} bits from /etc/ssh/moduli: "
            f"awk '$5 >= {floor}' /etc/ssh/moduli > /etc/ssh/moduli.new && "
            "mv /etc/ssh/moduli.new /etc/ssh/moduli"
        )
    if facts.terrapin_ciphers and (version is None or version < OPENSSH_STRICT_KEX_SINCE):
        notes.append(
            "Upgrade to OpenSSH 9.6 or later (or a distribution backport) for strict key "
            "exchange against Terrapin (CVE-2023-48795); until then "
            f"{', '.join(facts.terrapin_ciphers)} is removed here."
        )
    if facts.post_quantum is False:
        if version is not None and version >= OPENSSH_MLKEM768_SINCE:
            notes.append(
                f"OpenSSH{shown} has mlkem768x25519-sha256 built in: an explicit "
                "KexAlgorithms list must be leaving it out."
            )
        elif version is not None and version >= OPENSSH_SNTRUP761_SINCE:
            notes.append(
                f"OpenSSH{shown} has sntrup761x25519-sha512@openssh.com built in (a default "
                "from 9.0): add it to KexAlgorithms, or upgrade to 9.9+ for "
                "mlkem768x25519-sha256."
            )
        else:
            notes.append(
                f"OpenSSH{shown} has no post-quantum key exchange: upgrade to 9.9 or later "
                "for mlkem768x25519-sha256."
            )
    if "keyboard-interactive" in facts.password_methods:
        notes.append(
            "keyboard-interactive also carries PAM second factors (one-time passwords): "
            "keep it if that is how users log in."
        )
    return notes


def _dropbear(facts: _Facts) -> tuple[list[str], list[str]]:
    options = load_algorithm_data().dropbear_options
    removed = [name for category in CATEGORIES for name in facts.remove[category]]
    defines = dict.fromkeys(f"#define {options[name]} 0" for name in removed if name in options)
    notes = []
    if defines:
        notes.append(
            "Dropbear chooses its algorithms when it is built: put these lines in "
            "localoptions.h and rebuild (default_options.h lists every option)."
        )
    missing = [name for name in removed if name not in options]
    if missing:
        notes.append(
            f"No Dropbear build option is known for {', '.join(missing)}: "
            "check default_options.h of this Dropbear version."
        )
    if facts.terrapin_ciphers:
        notes.append(
            "Terrapin (CVE-2023-48795): upgrade to a Dropbear release with strict key exchange "
            "(kex-strict-s-v00@openssh.com); until then ChaCha20-Poly1305 is turned off here."
        )
    if facts.password_methods:
        notes.append("Start dropbear with -s to refuse password logins (-g: for root only).")
    if facts.none_accepted:
        notes.append("Do not start dropbear with -B, which allows blank-password logins.")
    if facts.post_quantum is False:
        notes.append(
            "Current Dropbear releases offer post-quantum key exchange "
            "(DROPBEAR_MLKEM768, DROPBEAR_SNTRUP761): upgrade or enable them."
        )
    return list(defines), notes


def ssh_hardening(observations: Sequence[Observation]) -> SshHardening:
    """What to change on the SSH server these observations describe."""
    facts = _gather(observations)
    identification = next(iter(of_kind(observations, SshIdentification)), None)
    software = identification.software if identification else None
    unknown_note = (
        [f"protoaudit does not know {', '.join(facts.unknown)}: kept, review by hand."]
        if facts.unknown
        else []
    )
    if software is not None and software.startswith("OpenSSH"):
        version = openssh_version(software)
        settings = _openssh_settings(facts, version)
        allow_list = [*_list_lines(facts, removal_form=False), *settings]
        removal_form = version is None or version >= OPENSSH_REMOVE_PREFIX_SINCE
        config = [*_list_lines(facts, removal_form=True), *settings] if removal_form else allow_list
        notes = [
            *(_openssh_line_notes(facts, version) if config else []),
            *_openssh_advice(facts, version),
        ]
        return SshHardening(
            software=software,
            config_file="sshd_config",
            remove=facts.remove,
            keep=facts.keep,
            config_lines=tuple(config),
            allow_list_lines=tuple(allow_list),
            notes=(*notes, *unknown_note),
        )
    if software is not None and software.lower().startswith("dropbear"):
        defines, notes = _dropbear(facts)
        return SshHardening(
            software=software,
            config_file="localoptions.h",
            remove=facts.remove,
            keep=facts.keep,
            config_lines=tuple(defines),
            allow_list_lines=(),
            notes=(*notes, *unknown_note),
        )
    notes = []
    if any(facts.remove.values()):
        notes.append(
            f"{software or 'This server'} is neither OpenSSH nor Dropbear: take the "
            "algorithms under `remove` out in its own configuration."
        )
    if facts.terrapin_ciphers:
        notes.append(
            "Terrapin (CVE-2023-48795): until the server supports strict key exchange "
            f"(kex-strict-s-v00@openssh.com), {', '.join(facts.terrapin_ciphers)} stays removed."
        )
    if facts.password_methods:
        notes.append("Turn off password and keyboard-interactive logins; ask for keys.")
    if facts.none_accepted:
        notes.append("Require authentication: the 'none' method let a client in.")
    return SshHardening(
        software=software,
        config_file=None,
        remove=facts.remove,
        keep=facts.keep,
        config_lines=(),
        allow_list_lines=(),
        notes=(*notes, *unknown_note),
    )
