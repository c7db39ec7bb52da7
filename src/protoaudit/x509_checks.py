"""Facts about X.509 certificates and chains, as pure functions.

Nothing here touches the network or the clock: the caller passes the chain as
the server sent it, the trust roots and the time. `describe` turns one
certificate into a `CertificateInfo`; `validate` runs cryptography's WebPKI
verifier (`cryptography.x509.verification`) and, separately from its first
error, works out each fact on its own (name match, validity window, self-signed
leaf, missing issuer), so that an expired certificate still says whether its
name matches.

Host names are matched as RFC 6125 section 6.4 and the CA/Browser Forum
Baseline Requirements describe: against subjectAltName only (the subject's
common name is ignored, as browsers and the verifier do), case-insensitively,
with a wildcard only as the whole leftmost label and never across a dot.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import (
    dsa,
    ec,
    ed448,
    ed25519,
    padding,
    rsa,
    x448,
    x25519,
)
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from protoaudit.errors import ProtoauditError
from protoaudit.observations import CertificateInfo

__all__ = [
    "TrustRoots",
    "TrustStoreError",
    "ValidationResult",
    "describe",
    "hostname_matches",
    "is_self_signed",
    "load_roots",
    "validate",
]

_Extension = TypeVar("_Extension", bound=x509.ExtensionType)
_IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A path longer than this is not a WebPKI path; the bound also stops loops of
# certificates that name each other as issuer.
_MAX_PATH_LENGTH = 10

_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"


class TrustStoreError(ProtoauditError):
    """The trust store file cannot be read or holds no certificate: the user's fault."""


class TrustRoots:
    """Root certificates to validate against, with a description a report can show."""

    __slots__ = ("_by_subject", "certificates", "description", "store")

    def __init__(self, certificates: Sequence[x509.Certificate], description: str) -> None:
        if not certificates:
            raise TrustStoreError(f"{description}: no certificate")
        self.certificates = tuple(certificates)
        self.description = description
        self.store = Store(list(self.certificates))
        self._by_subject: dict[bytes, list[x509.Certificate]] = {}
        for certificate in self.certificates:
            key = certificate.subject.public_bytes()
            self._by_subject.setdefault(key, []).append(certificate)

    def with_subject(self, name: x509.Name) -> list[x509.Certificate]:
        return self._by_subject.get(name.public_bytes(), [])

    def is_anchor(self, certificate: x509.Certificate) -> bool:
        """True when a root has this certificate's subject and key (the cert itself or a
        re-issue of it, such as a cross-signed copy of a root)."""
        key = _public_key_der(certificate)
        return key is not None and any(
            _public_key_der(root) == key for root in self.with_subject(certificate.subject)
        )


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """What validating one chain found; each fact stands on its own."""

    trusted: bool
    trust_error: str | None  # short plain English; None when trusted
    hostname_checked: str
    hostname_matches: bool
    not_yet_valid: bool  # leaf only; issuers' windows show in trust_error
    expired: bool  # leaf only
    days_left: int  # whole days until the leaf's notAfter, negative once expired
    self_signed: bool  # the leaf is self-issued and its signature verifies with its own key
    chain_incomplete: bool  # the leaf's issuer was neither sent nor a root
    ocsp_stapled: bool
    must_staple_unmet: bool  # the leaf demands a stapled OCSP response and none came


# ---------------------------------------------------------------- trust store


def load_roots(ca_file: str | None) -> TrustRoots:
    """Mozilla's roots (certifi) by default; with `ca_file`, that file's roots *instead*.

    Raises TrustStoreError when the file cannot be read or holds no PEM certificate.
    """
    if ca_file is None:
        return _mozilla_roots()
    try:
        data = Path(ca_file).read_bytes()
    except OSError as error:
        raise TrustStoreError(f"cannot read CA file {ca_file}: {error.strerror}") from error
    certificates = _load_pem_bundle(data)
    if not certificates:
        raise TrustStoreError(f"CA file {ca_file} holds no readable PEM certificate")
    return TrustRoots(certificates, f"ca-file {ca_file} (instead of the Mozilla roots)")


@functools.cache
def _mozilla_roots() -> TrustRoots:
    # certifi is the Mozilla bundle; parsed once per process.
    # Imported here: certifi pulls in importlib.resources (~50 ms), and a scan
    # with --ca-file never needs it.
    import certifi  # noqa: PLC0415

    data = Path(certifi.where()).read_bytes()
    return TrustRoots(_load_pem_bundle(data), f"Mozilla (certifi {certifi.__version__})")


def _load_pem_bundle(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle that cryptography can read.

    One at a time, so that one root cryptography refuses (the Mozilla bundle has a
    root with a non-positive serial, which cryptography deprecates) costs only itself.
    """
    certificates: list[x509.Certificate] = []
    for block in data.split(_PEM_BEGIN)[1:]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            try:
                certificates.append(x509.load_pem_x509_certificate(_PEM_BEGIN + block))
            except ValueError:
                continue
    return certificates


# ---------------------------------------------------------------- describe


def describe(certificate: x509.Certificate) -> CertificateInfo:
    """Every field a report needs about one certificate, no judgement.

    A malformed extension reads as absent here; the verifier rejects such a chain.
    """
    key_type, key_bits, curve = _key_facts(certificate)
    san = _extension(certificate, x509.SubjectAlternativeName)
    basic_constraints = _extension(certificate, x509.BasicConstraints)
    scts = _extension(certificate, x509.PrecertificateSignedCertificateTimestamps)
    return CertificateInfo(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial_hex=_serial_hex(certificate.serial_number),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        key_type=key_type,
        key_bits=key_bits,
        curve=curve,
        signature_algorithm=_signature_algorithm_name(certificate),
        signature_hash=_signature_hash_name(certificate),
        san_dns=tuple(san.get_values_for_type(x509.DNSName)) if san else (),
        san_ip=tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)) if san else (),
        sha256_fingerprint=certificate.fingerprint(hashes.SHA256()).hex(":").upper(),
        is_ca=basic_constraints.ca if basic_constraints else False,
        self_issued=_self_issued(certificate),
        sct_count=len(scts) if scts else 0,
        must_staple=_must_staple(certificate),
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii", "replace"),
    )


def _serial_hex(serial: int) -> str:
    # RFC 5280 wants positive serials, but some certificates in the wild are negative.
    digits = f"{abs(serial):X}"
    if len(digits) % 2:
        digits = "0" + digits
    return ("-" if serial < 0 else "") + digits


def _key_facts(certificate: x509.Certificate) -> tuple[str, int, str | None]:
    """(key_type, key_bits, curve)."""
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return f"unknown ({certificate.public_key_algorithm_oid.dotted_string})", 0, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 448, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    if isinstance(key, x25519.X25519PublicKey):
        return "X25519", 256, None
    if isinstance(key, x448.X448PublicKey):
        return "X448", 448, None
    return f"unknown ({certificate.public_key_algorithm_oid.dotted_string})", 0, None


def _signature_algorithm_name(certificate: x509.Certificate) -> str:
    oid = certificate.signature_algorithm_oid
    name = oid._name  # cryptography's name for the OID, "Unknown OID" when it has none
    return oid.dotted_string if name == "Unknown OID" else name


def _signature_hash_name(certificate: x509.Certificate) -> str | None:
    try:
        algorithm = certificate.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    return algorithm.name if algorithm is not None else None


def _extension(certificate: x509.Certificate, kind: type[_Extension]) -> _Extension | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:  # malformed or duplicated extensions; reported by the verifier
        return None


def _must_staple(certificate: x509.Certificate) -> bool:
    feature = _extension(certificate, x509.TLSFeature)
    return feature is not None and x509.TLSFeatureType.status_request in feature


def _self_issued(certificate: x509.Certificate) -> bool:
    return certificate.issuer == certificate.subject


def _public_key_der(certificate: x509.Certificate) -> bytes | None:
    try:
        return certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, UnsupportedAlgorithm):
        return None


def signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool | None:
    """Whether `issuer`'s key verifies `certificate`'s signature; None when we cannot tell.

    Done by hand rather than with `verify_directly_issued_by`, which refuses SHA-1
    signatures: a SHA-1 self-signed certificate is still self-signed.
    """
    try:
        key = issuer.public_key()
        signature = certificate.signature
        data = certificate.tbs_certificate_bytes
        if isinstance(key, rsa.RSAPublicKey):
            rsa_padding = certificate.signature_algorithm_parameters
            hash_algorithm = certificate.signature_hash_algorithm
            if hash_algorithm is None or not isinstance(
                rsa_padding, padding.PKCS1v15 | padding.PSS
            ):
                return None
            key.verify(signature, data, rsa_padding, hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            ecdsa = certificate.signature_algorithm_parameters
            if not isinstance(ecdsa, ec.ECDSA):
                return None
            key.verify(signature, data, ecdsa)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        elif isinstance(key, dsa.DSAPublicKey):
            hash_algorithm = certificate.signature_hash_algorithm
            if hash_algorithm is None:
                return None
            key.verify(signature, data, hash_algorithm)
        else:
            return None
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return True


def is_self_signed(certificate: x509.Certificate) -> bool:
    """Self-issued and its signature verifies with its own key."""
    return _self_issued(certificate) and signed_by(certificate, certificate) is True


# ---------------------------------------------------------------- host names


def _normalise_hostname(hostname: str) -> str | _IpAddress | None:
    """An A-label DNS name in lower case, an IP address, or None when it is neither."""
    text = hostname.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    text = text.rstrip(".").lower()
    if not text or any(label == "" for label in text.split(".")):
        return None
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii", "replace")
        except UnicodeError:
            return None
    return text


def hostname_matches(certificate: x509.Certificate, hostname: str) -> bool:
    """RFC 6125 matching of `hostname` (a DNS name or IP literal) against the SAN."""
    target = _normalise_hostname(hostname)
    san = _extension(certificate, x509.SubjectAlternativeName)
    if target is None or san is None:
        return False
    if not isinstance(target, str):
        return target in san.get_values_for_type(x509.IPAddress)
    return any(
        _dns_name_matches(pattern, target) for pattern in san.get_values_for_type(x509.DNSName)
    )


def _dns_name_matches(pattern: str, hostname: str) -> bool:
    pattern = pattern.rstrip(".").lower()
    if pattern == hostname:
        return True
    if not pattern.startswith("*."):
        return False
    # The wildcard stands for exactly one whole label, and must leave at least two
    # labels after it ("*.com" matches nothing).
    suffix = pattern[2:]
    if "*" in suffix or suffix.count(".") < 1:
        return False
    first_label, _, rest = hostname.partition(".")
    return bool(first_label) and rest == suffix


# ---------------------------------------------------------------- validation


def validate(
    chain_der: Sequence[bytes],
    *,
    hostname: str,
    roots: TrustRoots | Sequence[x509.Certificate],
    now: datetime,
    ocsp_stapled: bool,
) -> ValidationResult:
    """Validate a chain as the server sent it (leaf first) for `hostname` at `now`.

    `now` must be timezone-aware. Raises ValueError when the chain is empty or a
    certificate in it cannot be parsed.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not chain_der:
        raise ValueError("empty certificate chain")
    chain = [x509.load_der_x509_certificate(der) for der in chain_der]
    if not isinstance(roots, TrustRoots):
        roots = TrustRoots(roots, "given roots")
    leaf = chain[0]

    not_yet_valid = now < leaf.not_valid_before_utc
    expired = now > leaf.not_valid_after_utc
    days_left = (leaf.not_valid_after_utc - now) // timedelta(days=1)
    self_signed = is_self_signed(leaf)
    matches = hostname_matches(leaf, hostname)
    path_end, missing_issuer = _walk_to_root(chain, roots)

    verifier_error = _run_verifier(chain, hostname, roots, now)
    trust_error: str | None = None
    if verifier_error is not None:
        trust_error = _explain(
            verifier_error,
            leaf=leaf,
            roots=roots,
            hostname=hostname,
            self_signed=self_signed,
            expired=expired,
            not_yet_valid=not_yet_valid,
            matches=matches,
            path_end=path_end,
            missing_issuer=missing_issuer,
        )
    return ValidationResult(
        trusted=verifier_error is None,
        trust_error=trust_error,
        hostname_checked=hostname,
        hostname_matches=matches,
        not_yet_valid=not_yet_valid,
        expired=expired,
        days_left=days_left,
        self_signed=self_signed,
        chain_incomplete=missing_issuer is leaf,
        ocsp_stapled=ocsp_stapled,
        must_staple_unmet=_must_staple(leaf) and not ocsp_stapled,
    )


def _run_verifier(
    chain: list[x509.Certificate], hostname: str, roots: TrustRoots, now: datetime
) -> str | None:
    """The verifier's error text, or None when the chain verifies."""
    target = _normalise_hostname(hostname)
    if target is None:
        return "invalid hostname"
    subject: x509.DNSName | x509.IPAddress
    subject = x509.DNSName(target) if isinstance(target, str) else x509.IPAddress(target)
    verifier = PolicyBuilder().store(roots.store).time(now).build_server_verifier(subject)
    try:
        verifier.verify(chain[0], chain[1:])
    except VerificationError as error:
        return str(error)
    return None


def _issuer_candidates(
    certificate: x509.Certificate, chain: list[x509.Certificate], roots: TrustRoots
) -> Iterator[x509.Certificate]:
    # Roots first: a client stops at the first trusted issuer it finds.
    yield from roots.with_subject(certificate.issuer)
    yield from (sent for sent in chain if sent.subject == certificate.issuer)


def _find_issuer(
    certificate: x509.Certificate, chain: list[x509.Certificate], roots: TrustRoots
) -> x509.Certificate | None:
    key_id = _authority_key_id(certificate)
    for candidate in _issuer_candidates(certificate, chain, roots):
        if candidate is certificate:
            continue
        subject_key_id = _subject_key_id(candidate)
        if key_id is not None and subject_key_id is not None and key_id != subject_key_id:
            continue
        if signed_by(certificate, candidate) is not False:
            return candidate
    return None


def _walk_to_root(
    chain: list[x509.Certificate], roots: TrustRoots
) -> tuple[x509.Certificate, x509.Certificate | None]:
    """Follow issuers up from the leaf through the sent certificates and the roots.

    Returns (last certificate reached, the certificate whose issuer is missing or None).
    The walk ends at a trust anchor, at a self-issued certificate, or where no issuer
    can be found: the last of these is an incomplete chain.
    """
    current = chain[0]
    seen: set[bytes] = set()
    for _ in range(_MAX_PATH_LENGTH):
        if roots.is_anchor(current) or _self_issued(current):
            return current, None
        fingerprint = current.fingerprint(hashes.SHA256())
        if fingerprint in seen:
            return current, None
        seen.add(fingerprint)
        issuer = _find_issuer(current, chain, roots)
        if issuer is None:
            return current, current
        current = issuer
    return current, None


def _authority_key_id(certificate: x509.Certificate) -> bytes | None:
    authority = _extension(certificate, x509.AuthorityKeyIdentifier)
    return authority.key_identifier if authority else None


def _subject_key_id(certificate: x509.Certificate) -> bytes | None:
    subject = _extension(certificate, x509.SubjectKeyIdentifier)
    return subject.digest if subject else None


# "invalid extension: 2.5.29.15: Certificate is missing required extension (encountered …)"
_EXTENSION_PROBLEM = re.compile(r"invalid extension: (?P<oid>[0-9.]+): (?P<problem>[^(]*)")

# The verifier's messages, most specific first, in the words a report uses.
_VERIFIER_WORDING: tuple[tuple[str, str], ...] = (
    ("not valid at validation time", "an issuing certificate is expired or not yet valid"),
    ("Forbidden signature algorithm", "a forbidden signature algorithm is used in the chain"),
    ("key is too weak", "a key in the chain is too weak"),
    ("no subjectAltName", "the certificate has no subjectAltName"),
    ("no matching subjectAltName", "hostname mismatch"),
    ("cA must not be asserted in an EE", "the server certificate is a CA certificate"),
    ("EKU", "the certificate is not valid for server authentication"),
    ("name constraint", "a name constraint forbids the certificate's names"),
    ("exceeds max depth", "no path to a trusted root within the length limit"),
    ("missing required extension", "a certificate lacks a required extension"),
    ("candidates exhausted", "no valid path to a trusted root"),
    ("invalid hostname", "the hostname to check is not a valid DNS name or IP address"),
)


def _explain(
    verifier_error: str,
    *,
    leaf: x509.Certificate,
    roots: TrustRoots,
    hostname: str,
    self_signed: bool,
    expired: bool,
    not_yet_valid: bool,
    matches: bool,
    path_end: x509.Certificate,
    missing_issuer: x509.Certificate | None,
) -> str:
    """Why the chain is not trusted, in one short phrase.

    Our own facts come first because the verifier's text is terse and changes
    between cryptography releases; the verifier has the last word on what else
    went wrong.
    """
    if self_signed and not roots.is_anchor(leaf):
        return "self-signed certificate"
    if missing_issuer is leaf:
        return (
            f"incomplete chain: the issuer '{leaf.issuer.rfc4514_string()}' "
            "was not sent and is not a trusted root"
        )
    if missing_issuer is not None:
        # The server sent its intermediates; what is missing above them is most
        # likely a root this trust store does not have.
        return (
            f"unknown issuer: '{missing_issuer.issuer.rfc4514_string()}' "
            "was not sent and is not a trusted root"
        )
    if _self_issued(path_end) and not roots.is_anchor(path_end):
        return f"untrusted root: '{path_end.subject.rfc4514_string()}' is not in the trust store"
    if expired:
        return f"certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}"
    if not_yet_valid:
        return f"certificate not valid before {leaf.not_valid_before_utc:%Y-%m-%d}"
    if not matches:
        return f"hostname mismatch: '{hostname}' is not among the certificate's names"
    extension_problem = _EXTENSION_PROBLEM.search(verifier_error)
    if extension_problem:
        oid = x509.ObjectIdentifier(extension_problem["oid"])
        name = oid._name if oid._name != "Unknown OID" else oid.dotted_string
        if "missing" in extension_problem["problem"]:
            return f"a certificate in the chain lacks the {name} extension"
        return f"a certificate in the chain has an invalid {name} extension"
    for marker, wording in _VERIFIER_WORDING:
        if marker in verifier_error:
            return wording
    detail = verifier_error.removeprefix("validation failed: ").split(" (encountered", 1)[0]
    return f"not trusted: {detail}"
