"""Sans-I/O OpenVPN control channel for a scanner: hard resets, acknowledgements, TLS bytes.

Theory of operation
-------------------
OpenVPN has no banner. A client opens a session with a hard reset
(P_CONTROL_HARD_RESET_CLIENT_V2, or _V3 for tls-crypt-v2), the server
answers with its own (P_CONTROL_HARD_RESET_SERVER_V2), and from then on the
control channel carries a TLS handshake in P_CONTROL_V1 packets, which each
side acknowledges (P_ACK_V1, or acknowledgements piggybacked on its own
packets) and retransmits until acknowledged. A probe needs:

- whether anything answers a reset at all. A server with tls-auth or
  tls-crypt (the "HMAC firewall") drops every packet without the right
  HMAC, so it stays silent to a probe, which holds no key: that is the
  configuration OpenVPN's security guidance asks for. A server that answers
  anyone can be made to do TLS work by anyone, and shows its TLS to anyone.
- where it answers, the server's TLS: a ClientHello carried through the
  channel, and the server's answer read back out of it.

    packets.ControlPacket / decode_packet    the packet layout (no tls-auth/tls-crypt)
    packets.frame / StreamDeframer           TCP: a 2-byte length before each packet
    channel.ControlChannel                   the client's reliability layer

The TLS itself is the TLS codec's (`protoaudit.proto.tls`): the channel only
moves its bytes. Over UDP the probe owns time: it sends
`ControlChannel.unacknowledged()` again when its timer fires.

WireGuard cannot be detected this way, or any way: it answers nothing that
does not carry a valid MAC over the server's public key (its "silence is a
virtue" design), so a scanner cannot tell it from a closed port.

What is refused, and why
------------------------
Decoders raise only `DecodeError`; the channel turns one into a `Malformed`
event and stops reading. Refused: unknown opcodes, packets over 4096 bytes,
more than 8 acknowledgements, an empty ACK, leftover bytes in an ACK, a TCP
length of 0 or over the limit, an answer to the reset that is not a server
reset (or not packet id 0), a client-only opcode from the server, more than
256 KiB of TLS data, and more than 64 packets that change nothing
(duplicates, data packets, other sessions, packets far beyond the window).

Nothing here opens a socket or reads a clock; session ids are the caller's.
"""
