"""Sans-I/O SSH codec for a scanner: identification, KEXINIT and one key exchange, in clear.

Theory of operation
-------------------
A probe never opens a session. It sends its identification and one KEXINIT,
reads what the server sends before encryption starts, and at most runs one key
exchange method up to the server's reply, which carries the host key and the
host key's signature over the exchange hash. That is all that algorithm
enumeration, host-key collection and group-exchange modulus probing need:

    kex.KeyExchange(offer, rng)    ──>  bytes_to_send() / receive_data(bytes) / next_event()
        ident.parse_identification      the "SSH-2.0-..." line and the lines before it
        packet.PacketReader             cuts the stream into payloads (no cipher yet)
        kexinit.KexInit, messages.*     KEXINIT, DISCONNECT, IGNORE, DEBUG, UNIMPLEMENTED
        negotiation.negotiate           RFC 4253 7.1 over the two KEXINITs
        agreement.*, methods            the client's half of each key agreement
        certificates.decode_host_key    K_S: a plain key (keys) or an OpenSSH certificate
        signatures.verify_signature     the host key's signature over H

Modules:

- `constants`: message numbers. Algorithm names and disconnect reasons come
  from `protoaudit.registry.ssh`.
- `encoding`: RFC 4251 5 data types over `protoaudit.wire` (string, mpint,
  name-list, boolean, uint64), every length bounded.
- `ident`: RFC 4253 4.2, with pre-banner lines bounded in count and bytes.
- `packet`: RFC 4253 6 before NEWKEYS: block size 8, padding at least 4,
  packet_length at most 35000 (6.1) unless the caller says otherwise.
- `kexinit`, `messages`: RFC 4253 7.1 and 11. Encoders serialise what they are
  given so that a probe can craft odd messages.
- `keys`, `certificates`, `signatures`: RFC 4253 6.6, RFC 5656, RFC 8332,
  RFC 8709 and OpenSSH's PROTOCOL.certkeys; verification through `cryptography`.
- `modp`: the RFC 2409/3526 primes of the fixed-group methods, from the RFCs'
  formula.
- `agreement`, `methods`: finite-field DH (fixed group and RFC 4419 group
  exchange), ECDH on P-256/384/521 (RFC 5656), curve25519-sha256 (RFC 8731)
  and mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex) when
  `cryptography` has ML-KEM-768. sntrup761x25519-sha512 is not implemented.
- `offer`, `events`, `kex`: the state machine, a transition table in the
  style of h11. States are named after the last message received:
  WAIT_IDENTIFICATION, AFTER_IDENTIFICATION, AFTER_KEXINIT, AFTER_GEX_GROUP;
  it ends in DONE (the stop point), CLOSED (DISCONNECT), NEGOTIATION_FAILED
  (SSH-1 only, no algorithm in common) or FAILED (malformed input).

What is refused, and why
------------------------
Decoders raise only `DecodeError` (protocol, field, offset, reason), and
`KeyExchange` turns every one into a single `Malformed` event and stops
reading: a hostile server can end its own probe, never the scan. Refused: an
identification line over 255 bytes, more than 16 lines or 8 KiB before it,
binary data where a banner should be; packets over 35000 bytes, misaligned or
with less than 4 bytes of padding; name-lists with more than 128 names, empty,
over-long or non-ASCII names; mpints over 16384 bits; bytes left over inside
any message; more than 16 IGNORE/DEBUG/UNIMPLEMENTED messages; and any message
the transition table does not expect. A signature that does not verify is not
refused: it is a fact, reported in the reply event.

Nothing here opens a socket, reads a clock or draws global randomness: the
cookie, the padding and every private value come from the caller's rng.
"""
