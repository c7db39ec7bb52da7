"""OpenPGP keys: reading a key file, a keyring export or a published key into observations.

Theory of operation. `reader.read_keys` takes the bytes as given (armored or binary, one
key or a keyring), bounds them (16 MiB, 20 000 packets) with our own framing before any
library sees them, lets Sequoia-PGP (pysequoia) decide whether it is a keyring at all, then
reads each certificate's facts from its packets: algorithms and sizes,
creation and expiry, revocations, key flags, user IDs, and every self-signature, checked
with `cryptography` (`protoaudit.proto.openpgp`). Unusable input raises PgpInputError with
one line saying why; nothing in a key makes it raise anything else or run long.

Library choice: pysequoia over PGPy (compared on 2026-11-28 with pysequoia 0.1.35 and
PGPy 0.6.0, on keys made by GnuPG 2.2.40 and by Sequoia itself).

- Maintenance: pysequoia is released several times a year on Sequoia-PGP 2.x; PGPy's last
  release is 0.6.0 (November 2022) and its parser predates RFC 9580.
- Hostile input: pysequoia raised one exception type (RuntimeError) for every truncated,
  random, overlong or bit-flipped input we tried; PGPy raised PGPError, ValueError,
  IndexError, AttributeError and StopIteration, silently returned no key for a packet
  whose length runs past the end, and returned the readable part of a truncated keyring.
- Key versions and curves: pysequoia reads v4 and v6 (RFC 9580) keys, Ed25519/Ed448,
  X25519/X448 and the RFC 9980 post-quantum algorithms; PGPy fails on any v6 key and on
  Ed448 ("28 is not a valid PubKeyAlgorithm").
- Facts exposed: PGPy exposes key sizes, curves, hash algorithms and signature checks;
  pysequoia's packet API exposes hash algorithms, signature types, key flags and times but
  not key sizes or curves, and its certificate API judges through Sequoia's
  StandardPolicy, which raises on exactly what an audit must report (a 1024-bit RSA key,
  a SHA-1 binding) and cannot be switched off from Python. So we read key material and
  check self-signatures ourselves (`proto.openpgp.packets`, `proto.openpgp.verify`), on
  input Sequoia has already accepted.
- Cost: Sequoia's parse is superlinear in the packet count (8 million empty user IDs in
  16 MB: 29 s to split into packets, 136 s to build the certificate), hence our own
  framing and packet bound first.
- Size and wheels: pysequoia ships cp311 manylinux wheels (3.1 MB download, 9.6 MB
  installed, no Python dependencies); PGPy is a 0.6 MB pure-Python sdist needing pyasn1
  and cryptography (and `imghdr`, gone in Python 3.13).
- Licence: pysequoia's own code is Apache-2.0, but the wheel statically links
  sequoia-openpgp and buffered-reader, which are LGPL-2.0-or-later (its SBOM says so), so
  the installed extension is LGPL-2.0-or-later; protoaudit only imports it (a separate,
  replaceable module), which the LGPL allows from MIT code. PGPy is BSD-3-Clause.
"""
