"""The vocabulary of DNSSEC verdicts: four statuses (RFC 4033 section 5) and their reasons.

A reason is a short stable string that a report, a policy rule or a test can match on; the
words for a person go in a separate `detail`.
"""

from __future__ import annotations

from typing import Final

# Statuses, worst last for `worst()`: a bogus step makes the whole answer bogus.
SECURE: Final = "secure"
INSECURE: Final = "insecure"
INDETERMINATE: Final = "indeterminate"
BOGUS: Final = "bogus"
STATUSES: Final = (SECURE, INSECURE, INDETERMINATE, BOGUS)

# bogus: the data claims to be signed and is not, or the chain of trust is broken.
SIGNATURE_EXPIRED: Final = "signature_expired"
SIGNATURE_NOT_YET_VALID: Final = "signature_not_yet_valid"
NO_KEY_MATCHES_DS: Final = "no_key_matches_ds"  # no DNSKEY has a DS's key tag and algorithm
DS_DIGEST_MISMATCH: Final = "ds_digest_mismatch"  # a key has them, but its digest differs
SIGNATURE_INVALID: Final = "signature_invalid"  # the cryptography fails, or a wrong signer
MISSING_RRSIG: Final = "missing_rrsig"
MISSING_DNSKEY: Final = "missing_dnskey"  # no key set, or no key with the RRSIG's key tag
DENIAL_INVALID: Final = "denial_invalid"  # NXDOMAIN/NODATA/no-DS without a valid proof
# insecure (and, for one RRSIG among others, a bogus detail): RFC 4035 5.2, RFC 6840 5.2.
UNSUPPORTED_ALGORITHM: Final = "unsupported_algorithm"
UNSUPPORTED_DIGEST: Final = "unsupported_digest"
# insecure only.
UNSIGNED_DELEGATION: Final = "unsigned_delegation"  # the parent proves there is no DS
OPT_OUT: Final = "opt_out"  # an NSEC3 opt-out span covers the delegation or name
NSEC3_ITERATIONS: Final = "nsec3_iterations"  # above the limit validators accept (RFC 9276)
NO_TRUST_ANCHOR: Final = "no_trust_anchor"  # the name is not under any trust anchor

# indeterminate: we could not find out.
TIMEOUT: Final = "timeout"
UNREACHABLE: Final = "unreachable"
MALFORMED: Final = "malformed"  # bytes that are no DNS message, or a truncated one
MISMATCHED_RESPONSE: Final = "mismatched_response"  # another ID, question or name
TRUNCATED: Final = "truncated"  # TC=1 over UDP and no usable answer over TCP
SERVER_FAILURE: Final = "server_failure"  # SERVFAIL, REFUSED, NOTIMP, FORMERR …
LAME: Final = "lame"  # not authoritative and no referral towards the name
REFERRAL_LOOP: Final = "referral_loop"  # a referral to the same zone, upwards or sideways
REFERRAL_LIMIT: Final = "referral_limit"
QUERY_LIMIT: Final = "query_limit"
DEADLINE: Final = "deadline"
CNAME_LOOP: Final = "cname_loop"
CNAME_LIMIT: Final = "cname_limit"
NO_SERVERS: Final = "no_servers"  # no address for any name server of a zone
NOT_ALLOWED: Final = "not_allowed"  # every server address was outside what we may contact
RESPONSE_TOO_LARGE: Final = "response_too_large"
BAD_QUERY: Final = "bad_query"  # the caller's name or type cannot be asked (ANY, a bad name)

_RANK = {status: rank for rank, status in enumerate(STATUSES)}


def worst(first: str, second: str) -> str:
    """The status that wins when two steps of one validation disagree."""
    return first if _RANK[first] >= _RANK[second] else second
