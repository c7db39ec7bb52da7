"""Sans-I/O TLS and SSL codec for a scanner: hellos out, the server's clear-text answer in.

Theory of operation
-------------------
A probe never completes a handshake. It sends one crafted first flight and
reads what the server says in clear before encryption starts, which is all
that version, cipher suite, group and certificate enumeration need:

    hello.build_client_hello(...)  ──>  record bytes for the socket
    exchange.HelloExchange         ──>  receive_data(bytes) / next_event()
        records.RecordBuffer           cuts the stream into records
        records.HandshakeBuffer        reassembles handshake messages
        server.*                       parses ServerHello, Certificate, ...
    server.ServerKeyExchange.decode     once the probe knows the suite's key exchange
    keyshare.make_key_share             real public values for key_share

Modules:

- `constants`: content types, handshake types, protocol versions, SSL 2.0
  message types: the structure around code points. Cipher suites, groups,
  signature schemes, extensions and alerts are never spelt here; they come
  from `protoaudit.registry.tls` by name.
- `records`: record framing (RFC 8446 5.1, RFC 5246 6.2, SSL 2.0 two-byte
  headers) and handshake reassembly, with every length bounded before use.
- `hello`: ClientHello (RFC 8446 4.1.2) and extension bodies; SSL 2.0
  CLIENT-HELLO. Encoders serialise what they are given so probes can craft
  odd messages.
- `server`: ServerHello/HelloRetryRequest (RFC 8446 4.1.3), Alert (6),
  Certificate (RFC 5246 7.4.2, RFC 8446 4.4.2), ServerKeyExchange (RFC 8422
  5.4, RFC 5246 7.4.3), ServerHelloDone, SSL 2.0 SERVER-HELLO and ERROR.
- `sslv2`: SSL 2.0 CLIENT-HELLO, SERVER-HELLO and ERROR (also offered by
  `hello` and `server`).
- `keyshare`: x25519, x448, NIST and brainpool curves, RFC 7919 ffdhe, and
  the ML-KEM hybrids of draft-ietf-tls-ecdhe-mlkem, from caller-given rng.
- `ffdhe`: the RFC 7919 primes.
- `exchange`: the state machine for one probe connection, a transition
  table in the style of h11. Its states are named after the last message
  received: WAIT_SERVER_HELLO, then (TLS 1.2 and below) AFTER_SERVER_HELLO,
  AFTER_CERTIFICATE, AFTER_CERTIFICATE_STATUS, AFTER_SERVER_KEY_EXCHANGE,
  AFTER_CERTIFICATE_REQUEST; it ends in DONE (the stop point: ServerHello,
  a HelloRetryRequest, a TLS 1.3 ServerHello, ServerHelloDone or an SSL 2.0
  SERVER-HELLO), CLOSED (fatal alert, close_notify, SSL 2.0 ERROR) or
  FAILED (malformed or unexpected input).

What is refused, and why
------------------------
Decoders raise only `DecodeError` (protocol, field, offset, reason), and
`HelloExchange` turns every such error into one `Malformed` event and stops
reading: a hostile server can end its own probe, never the scan. Refused:
unknown record content types, records over 2^14 + 2048 bytes, more than 1 MiB
buffered, a handshake message declaring more than 256 KiB, lengths that
overrun their block, bytes left over inside a block or after a message,
duplicate extensions in a ServerHello, and any message the transition table
does not expect in the current state.

Nothing here opens a socket, reads a clock or draws global randomness: the
client random, session id and key-share private values are arguments.
"""
