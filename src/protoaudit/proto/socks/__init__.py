"""Sans-I/O SOCKS codec for a scanner: SOCKS 5 method selection and requests, RFC 1929, SOCKS 4/4A.

Theory of operation
-------------------
A SOCKS server says nothing until a client speaks. A probe learns what it
needs from a few short exchanges, each on its own connection:

- which authentication methods the server accepts: a method selection
  request (RFC 1928 3) offering one method at a time, then all of them, in
  both orders (what a server picks from several is its preference, or the
  client's order);
- whether USERNAME/PASSWORD is really RFC 1929: one obviously fake pair,
  sent in the clear as RFC 1929 always sends it, and the server's STATUS;
- whether it relays for anyone: a CONNECT (RFC 1928 4) without
  authentication, only to a target the user named;
- whether it also speaks SOCKS 4, which has no authentication at all: a
  version-4 request with a command SOCKS 4 does not have, for 0.0.0.0 port
  0, which connects nowhere, answered (or not) with a version-4 reply.

    client.Socks5Client(methods, credentials=, request=)  ──>  bytes_to_send() /
    client.Socks4Client(request)                               receive_data(bytes) / next_event()
        messages.*    RFC 1928 and RFC 1929 messages
        socks4.*      SOCKS 4 and 4A requests and replies
        constants     versions, IANA method names, commands, reply codes

What is refused, and why
------------------------
Decoders raise only `DecodeError` (protocol "socks", field, offset); the
clients turn one into a single `Malformed` event and stop reading. Refused:
a wrong version byte (at once, without waiting for the rest), a method that
was not offered, an unknown address type, an empty domain name, SOCKS 4
replies with codes other than 90-93, NUL-terminated strings longer than 255
bytes, bytes the server sends before the client has asked, and leftover
bytes inside a message. Every variable field has a one-byte length, so no
message a client waits for exceeds 262 bytes.

Nothing here opens a socket; no real credentials ever pass through it (the
probe's pair is fake by construction).
"""
