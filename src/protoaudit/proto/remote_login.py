"""Recognisers for the plaintext remote-login protocols: telnet, rlogin, rsh and rexec.

None of these protects a password or a session; a scanner only needs to know,
from the bytes, that the service really speaks one of them. Pure functions
over bounded input: they look at no more than `max_length` bytes.

- telnet (RFC 854, RFC 855): a server usually opens with option negotiation,
  IAC DO/DONT/WILL/WONT <option> and IAC SB <option> ... IAC SE.
  `parse_telnet` separates those from the text; `telnet_refusals` answers
  every request with WONT/DONT, which makes most servers go on to their login
  prompt.
- rlogin (RFC 1282, port 513): the client sends "\\0" local user "\\0" remote
  user "\\0" terminal/speed "\\0"; the server answers one zero byte when it
  accepts the start-up.
- rsh (port 514) and rexec (port 512): the client sends the stderr port in
  ASCII ("0": none), then the users (rsh) or the user and the password (rexec)
  and the command, each NUL-terminated; the server answers "\\0", or "\\1" and
  an error line.

`parse_remote_reply` reads the rlogin, rsh and rexec answers; anything but
"\\0" or "\\1" first is a `DecodeError`: that service speaks something else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from protoaudit.errors import DecodeError

MAX_LENGTH = 4096
MAX_FIELD_LENGTH = 1024  # one user name, password, terminal or command we send
MAX_MESSAGE_LENGTH = 512  # of an error line we keep


class TelnetCommand(IntEnum):
    """RFC 854 command codes (and EOR, RFC 885), each after an IAC byte."""

    SE = 240
    NOP = 241
    DATA_MARK = 242
    BREAK = 243
    INTERRUPT_PROCESS = 244
    ABORT_OUTPUT = 245
    ARE_YOU_THERE = 246
    ERASE_CHARACTER = 247
    ERASE_LINE = 248
    GO_AHEAD = 249
    SB = 250
    WILL = 251
    WONT = 252
    DO = 253
    DONT = 254
    IAC = 255


EOR = 239
_NEGOTIATIONS = frozenset(
    {TelnetCommand.WILL, TelnetCommand.WONT, TelnetCommand.DO, TelnetCommand.DONT}
)
# The options servers open with, named as their RFCs spell them (IANA "Telnet Options").
TELNET_OPTION_NAMES = {
    0: "BINARY",  # RFC 856
    1: "ECHO",  # RFC 857
    3: "SUPPRESS-GO-AHEAD",  # RFC 858
    5: "STATUS",  # RFC 859
    6: "TIMING-MARK",  # RFC 860
    24: "TERMINAL-TYPE",  # RFC 1091
    25: "END-OF-RECORD",  # RFC 885
    31: "NAWS",  # RFC 1073
    32: "TERMINAL-SPEED",  # RFC 1079
    33: "TOGGLE-FLOW-CONTROL",  # RFC 1372
    34: "LINEMODE",  # RFC 1184
    35: "X-DISPLAY-LOCATION",  # RFC 1096
    36: "ENVIRON",  # RFC 1408
    37: "AUTHENTICATION",  # RFC 2941
    38: "ENCRYPT",  # RFC 2946
    39: "NEW-ENVIRON",  # RFC 1572
    46: "START-TLS",  # draft-altman-telnet-starttls
    255: "EXTENDED-OPTIONS-LIST",  # RFC 861
}


def telnet_option_name(option: int) -> str:
    return TELNET_OPTION_NAMES.get(option, f"OPTION-{option}")


@dataclass(frozen=True, slots=True)
class TelnetNegotiation:
    command: int  # TelnetCommand.DO, DONT, WILL or WONT
    option: int

    def __str__(self) -> str:
        return f"IAC {TelnetCommand(self.command).name} {telnet_option_name(self.option)}"


@dataclass(frozen=True, slots=True)
class TelnetSubnegotiation:
    option: int
    data: bytes  # between IAC SB <option> and IAC SE, IAC IAC undoubled

    def __str__(self) -> str:
        return f"IAC SB {telnet_option_name(self.option)} ... IAC SE"


@dataclass(frozen=True, slots=True)
class TelnetGreeting:
    negotiations: tuple[TelnetNegotiation, ...]
    subnegotiations: tuple[TelnetSubnegotiation, ...]
    commands: tuple[int, ...]  # other IAC commands: NOP, GA, AYT ... and unknown codes
    text: str  # the data bytes, control characters but newline and tab dropped
    incomplete: bool  # the input ended inside an IAC sequence

    @property
    def negotiates(self) -> bool:
        """The server spoke telnet option negotiation: the mark of a telnet service."""
        return bool(self.negotiations or self.subnegotiations)

    def describe(self) -> str:
        """The negotiation in words, for an observation: "IAC DO TERMINAL-TYPE, ..."."""
        return ", ".join(str(part) for part in (*self.negotiations, *self.subnegotiations))


def parse_telnet(data: bytes, *, max_length: int = MAX_LENGTH) -> TelnetGreeting:
    """The option negotiation and text in a server's first bytes; never raises."""
    data = data[:max_length]
    negotiations: list[TelnetNegotiation] = []
    subnegotiations: list[TelnetSubnegotiation] = []
    commands: list[int] = []
    text = bytearray()
    position = 0
    incomplete = False
    while position < len(data):
        byte = data[position]
        if byte != TelnetCommand.IAC:
            text.append(byte)
            position += 1
            continue
        if position + 1 >= len(data):
            incomplete = True
            break
        command = data[position + 1]
        if command == TelnetCommand.IAC:
            text.append(TelnetCommand.IAC)  # IAC IAC is a data byte 255
            position += 2
        elif command in _NEGOTIATIONS:
            if position + 2 >= len(data):
                incomplete = True
                break
            negotiations.append(TelnetNegotiation(command, data[position + 2]))
            position += 3
        elif command == TelnetCommand.SB:
            found = _subnegotiation(data, position + 2)
            if found is None:
                incomplete = True
                break
            subnegotiation, position = found
            subnegotiations.append(subnegotiation)
        else:
            commands.append(command)
            position += 2
    return TelnetGreeting(
        negotiations=tuple(negotiations),
        subnegotiations=tuple(subnegotiations),
        commands=tuple(commands),
        text=_printable(bytes(text)),
        incomplete=incomplete,
    )


def _subnegotiation(data: bytes, start: int) -> tuple[TelnetSubnegotiation, int] | None:
    """The subnegotiation whose option byte is at `start`, and the position after IAC SE."""
    if start >= len(data):
        return None
    option = data[start]
    body = bytearray()
    position = start + 1
    while position + 1 < len(data):
        if data[position] == TelnetCommand.IAC:
            following = data[position + 1]
            if following == TelnetCommand.SE:
                return TelnetSubnegotiation(option, bytes(body)), position + 2
            if following == TelnetCommand.IAC:
                body.append(TelnetCommand.IAC)
                position += 2
                continue
        body.append(data[position])
        position += 1
    return None


def _printable(raw: bytes) -> str:
    # NVT: CR LF is a newline and CR NUL a bare carriage return (RFC 854).
    text = raw.replace(b"\r\n", b"\n").replace(b"\r\0", b"\n").decode("utf-8", "replace")
    return "".join(ch for ch in text if ch in "\n\t" or (ch >= " " and ch != "\x7f"))


def telnet_refusals(greeting: TelnetGreeting) -> bytes:
    """IAC WONT for every DO and IAC DONT for every WILL, once each (RFC 854)."""
    answers: list[bytes] = []
    for negotiation in greeting.negotiations:
        if negotiation.command == TelnetCommand.DO:
            answer = bytes([TelnetCommand.IAC, TelnetCommand.WONT, negotiation.option])
        elif negotiation.command == TelnetCommand.WILL:
            answer = bytes([TelnetCommand.IAC, TelnetCommand.DONT, negotiation.option])
        else:
            continue  # DONT and WONT are never acknowledged
        if answer not in answers:
            answers.append(answer)
    return b"".join(answers)


# -- rlogin, rsh, rexec --------------------------------------------------------------------


def _fields(*fields: str) -> bytes:
    encoded = []
    for field in fields:
        raw = field.encode("utf-8")
        if b"\0" in raw or len(raw) > MAX_FIELD_LENGTH:
            raise ValueError(
                f"field {field[:32]!r} holds a NUL or is over {MAX_FIELD_LENGTH} bytes"
            )
        encoded.append(raw + b"\0")
    return b"".join(encoded)


def _stderr_port(port: int | None) -> str:
    if port is None:
        return "0"
    if not 0 < port < 65536:
        raise ValueError(f"stderr port {port} is not a TCP port")
    return str(port)


def rlogin_request(local_user: str, remote_user: str, terminal: str = "dumb/38400") -> bytes:
    """The rlogin start-up (RFC 1282): "\\0", then the three fields, each NUL-terminated."""
    return b"\0" + _fields(local_user, remote_user, terminal)


def rsh_request(
    local_user: str, remote_user: str, command: str, *, stderr_port: int | None = None
) -> bytes:
    """The rsh (rshd, port 514) request; no stderr port unless asked for."""
    return _fields(_stderr_port(stderr_port), local_user, remote_user, command)


def rexec_request(
    user: str, password: str, command: str, *, stderr_port: int | None = None
) -> bytes:
    """The rexec (rexecd, port 512) request: the password travels in clear."""
    return _fields(_stderr_port(stderr_port), user, password, command)


@dataclass(frozen=True, slots=True)
class RemoteReply:
    # The first byte was 0: the server took the request. What follows may still refuse
    # the login (rsh-redone's in.rshd sends a zero byte, then "Authentication failure"),
    # or prompt for a password.
    accepted: bool
    message: str  # the first line after the status byte


def parse_remote_reply(
    data: bytes, *, protocol: str = "rsh", max_length: int = MAX_MESSAGE_LENGTH
) -> RemoteReply | None:
    """An rlogin, rsh or rexec server's answer; None until it has sent a byte."""
    if not data:
        return None
    status = data[0]
    if status not in (0, 1):
        reason = f"first byte 0x{status:02x} is neither 0 (accepted) nor 1 (refused)"
        raise DecodeError(protocol, "status", 0, reason)
    message = data[1 : 1 + max_length].split(b"\n", 1)[0]
    return RemoteReply(accepted=status == 0, message=_printable(message).strip())
