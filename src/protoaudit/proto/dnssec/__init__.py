"""DNSSEC validation logic, sans-I/O: given records and a time, what is proven.

Theory of operation. A validator believes a DNSKEY set when a trusted DS matches one of its
keys and that key signed it; it believes any other RRset when a believed key of the zone
signed it; it believes that something does not exist when a believed NSEC or NSEC3 chain
says so. That is all of RFC 4035 section 5, split here by question:

- `signatures`: one RRset against a zone's keys (RFC 4035 5.3): signer, labels, validity
  period (against the `now` passed in, never the clock), key tag and algorithm, and the
  signature itself, through dnspython's `validate_rrsig`. Failures come back as a reason.
- `delegation`: the step across a zone cut (RFC 4035 5.2): DS to DNSKEY matching, telling
  "no key matches the DS" from "a key matches its tag but not its digest", then the RRSIG
  over the DNSKEY set by a matched key. All-unsupported DS algorithms make a zone insecure.
- `denial`, `nsec`, `nsec3`, `proofs`: NXDOMAIN, NODATA, no-DS and wildcard proofs with NSEC
  (RFC 4035 5.4, RFC 6840 4) and NSEC3 (RFC 5155 8, closest encloser proof, opt-out, and
  RFC 9276's iteration limit).
- `algorithms`: which algorithms and digest types are usable (the registry's RFC 8624
  columns, and what dnspython implements).
- `anchors`: trust anchors from DS or DNSKEY text, and IANA's root anchors.
- `messages`: building DO-bit queries and classifying responses (answer, alias, referral,
  negative, or a failure such as a referral loop) for the resolver in `probes.dnssec`.
- `reasons`: the status and reason vocabulary every result uses.

What it refuses: anything that does not verify is never "secure"; malformed keys, hostile
NSEC3 iteration counts, thousands of records or signatures are bounded (MAX_* constants)
and reported, never raised. Nothing here imports asyncio or sockets.
"""
