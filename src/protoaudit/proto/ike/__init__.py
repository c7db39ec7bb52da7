"""Sans-I/O IKE codec for a scanner: the ISAKMP header and the payloads of first messages.

Theory of operation
-------------------
A probe never completes an exchange. It sends the first message of IKEv2
IKE_SA_INIT, IKEv1 Main Mode or IKEv1 Aggressive Mode, and reads the
responder's one answer: the proposal or transform it chose, an error notify
(NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD with the group it wants, COOKIE), its
Vendor IDs, and in Aggressive Mode the HASH_R that exposes a pre-shared key.
There is no state machine beyond "one request, one answer", so there is no
transition table: each module is a pair of pure functions.

    exchanges.sa_init_request / read_sa_init_response      IKEv2 (RFC 7296 1.2, 2.6, 2.23)
    exchanges.main_mode_request / aggressive_mode_request   IKEv1 (RFC 2409 5)
    exchanges.read_v1_response
        message.encode_message / decode_message             header + payload chain
        payloads.*                                          one dataclass per payload
        keyexchange.public_value                            our KE data (MODP, ECP, X25519/448)

Modules:

- `constants`: payload and exchange types, flags, protocol IDs, the few notify
  and attribute numbers the logic acts on. Transform IDs, attribute values,
  notify names and Vendor IDs come from `protoaudit.registry.ike`.
- `payloads`: RFC 7296 3.3-3.12 (SA, proposals, transforms and their Key Length
  attribute, KE, Nonce, Notify, Vendor ID, CERTREQ, SK as opaque) and RFC 2408
  3.4-3.16 with RFC 2407 (IKEv1 SA with DOI and situation, proposals and
  transforms with data attributes, KE, ID, HASH, SIG, CERT, Notification,
  Vendor ID, RFC 3947 NAT-D). Unknown payload types survive as UnknownPayload.
- `message`: RFC 2408 3.1 / RFC 7296 3.1 header and the generic payload chain,
  and the RFC 3948 non-ESP marker that frames every IKE message on the NAT-T
  port (UDP 4500): added on send, required and stripped on receipt.
- `keyexchange`: initiator public values from a caller-given secret.
- `exchanges`: the first messages, RFC 7296 2.23 NAT detection hashes, and
  what an answer says.

What is refused, and why
------------------------
Decoders raise only `DecodeError` (protocol "ike", field, offset, reason).
Refused: on the NAT-T port, a datagram without the non-ESP marker (an ESP
packet, or garbage); a header Length other than the datagram's (short:
leftover bytes; long: truncated), a major version other than 1 or 2, a payload length below
its 4-byte header (the zero-length loop of a hostile chain), a chain of more
than 64 payloads, more than 64 proposals, 256 transforms or 32 attributes,
substructure markers other than 0 and 2 (proposals) or 0 and 3 (transforms),
a transform count that disagrees with the transforms present, and bytes left
over inside any payload or after the chain. `read_*` functions raise
`ProtocolViolation` for well-formed answers that break the exchange's rules
(two proposals chosen, an INVALID_KE_PAYLOAD without one group).

Nothing here opens a socket, reads a clock or draws randomness: SPIs, nonces
and private values are the caller's.
"""
