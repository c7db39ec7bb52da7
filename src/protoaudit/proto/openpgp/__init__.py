"""OpenPGP (RFC 9580): the parts of the format a key audit reads, sans-I/O.

Theory of operation. A key file is text or binary. `armor` turns ASCII armor (section 6.2)
into binary, recording rather than enforcing the CRC-24 line (section 6.1 forbids
rejecting data over it). `packets` frames the binary stream into packets (section 4.2)
and reads the two kinds a key audit needs beyond user IDs: key packets (section 5.5:
version, creation time, algorithm, the size or curve of the key material, the v4 or v6
fingerprint) and signature packets (section 5.2: type, algorithms, subpackets, and the
octets the hash covers). `verify` checks a self-signature against the primary key with
`cryptography` (section 5.2.4), judging nothing: old algorithms are checked like new ones.
`names` gives registry names to algorithm numbers and curve OIDs, from the IANA tables in
``data/``.

What it refuses, and why: partial and indeterminate packet lengths (only data packets may
use them, and a key stream that does is not a key), tag 0, v4 key packets over 65535
octets (their fingerprint cannot be computed), MPIs over 65536 bits, more than 256
subpackets in an area, more packets than the caller allows; each with DecodeError
naming the field and offset. What it does not refuse: unknown algorithms, versions and
curves, which come back with what could be read, so that a key from the future is
reported rather than rejected. Secret key material is skipped, never interpreted.

The packages that use this: `protoaudit.pgp` (reading keys into observations, with
Sequoia-PGP deciding what is a certificate at all) and `protoaudit.probes.openpgpkey`.
"""
