"""XMPP STARTTLS (RFC 6120 5.4), client-to-server and server-to-server.

The client opens the stream and the server answers with its own stream
header and <stream:features>; if STARTTLS is among them, the client asks for
it and the server says <proceed/> (TLS starts with the next byte) or
<failure/> (and closes the stream):

    C: <?xml version='1.0'?><stream:stream to='DOMAIN' version='1.0'
         xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>
    S: <?xml version='1.0'?><stream:stream from='DOMAIN' id='…' version='1.0' …>
       <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>
       </starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>…</stream:features>
    C: <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>
    S: <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>

States: WAIT_HEADER -> WAIT_FEATURES -> IN_FEATURES -> WAIT_PROCEED -> READY,
and FAILED from any of them. A server-to-server stream (port 5269) is the
same with the jabber:server namespace; it also declares the dialback
namespace (XEP-0220), without which some servers leave dialback out of
their features, and may say who we are with `from`.

The server's bytes go through expat incrementally, under limits a hostile
server cannot stretch: MAX_DIALOG_BYTES in all, MAX_DEPTH of nesting,
MAX_ELEMENTS elements, MAX_TEXT characters of text in one element. What
RFC 6120 11.1 forbids in a stream is refused: a DTD (so no entity can be
declared, let alone expanded), comments, processing instructions; expat
itself refuses undeclared entities. Refused as well, each as FAILED with the
reason:

- a first element that is not <stream:stream>, a content namespace other
  than the one we opened (a client stream answered as jabber:server), no
  version='1.0' (RFC 6120 4.7.5: a pre-1.0 server sends no features, so it
  cannot offer STARTTLS);
- a stream error (<stream:error>, RFC 6120 4.9), with its condition and text;
- <failure/> instead of <proceed/>, or <proceed/> before we asked;
- bytes after <proceed/>: nothing may come before the TLS handshake, and a
  client that kept them would take plaintext an attacker injected as if it
  came over TLS (the response injection class of CVE-2011-0411).

The outcome lists each feature as `{namespace}name` (Clark notation), with
`required` after STARTTLS when the server demands it and the mechanisms
after SASL's; PLAIN or LOGIN offered before TLS, or legacy iq-auth
(XEP-0078), is plaintext authentication offered.
"""

from __future__ import annotations

import enum
from dataclasses import replace
from xml.parsers import expat

from protoaudit.proto.starttls.base import MAX_DIALOG_BYTES, DialogOutcome
from protoaudit.proto.starttls.byte_dialog import ByteDialog, bytes_after_go_ahead
from protoaudit.sanitize import quote_bytes

STREAMS_NS = "http://etherx.jabber.org/streams"
CLIENT_NS = "jabber:client"
SERVER_NS = "jabber:server"
DIALBACK_NS = "jabber:server:dialback"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
STREAM_ERRORS_NS = "urn:ietf:params:xml:ns:xmpp-streams"
IQ_AUTH_FEATURE_NS = "http://jabber.org/features/iq-auth"
XML_NS = "http://www.w3.org/XML/1998/namespace"

MAX_DEPTH = 16  # the stream is 1, a feature 3; real features nest to about 5
MAX_ELEMENTS = 1000
MAX_TEXT = 8192  # characters of text in one element (a mechanism name, an error's text)
MAX_TEXT_SHOWN = 200

STARTTLS_COMMAND = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
PLAINTEXT_MECHANISMS = ("PLAIN", "LOGIN")

# expat reports a namespaced name as "URI<separator>local"; a space cannot occur in a URI.
_SEPARATOR = " "
_STREAM = f"{STREAMS_NS} stream"
_FEATURES = f"{STREAMS_NS} features"
_STREAM_ERROR = f"{STREAMS_NS} error"
_STARTTLS = f"{TLS_NS} starttls"
_REQUIRED = f"{TLS_NS} required"
_PROCEED = f"{TLS_NS} proceed"
_FAILURE = f"{TLS_NS} failure"
_MECHANISMS = f"{SASL_NS} mechanisms"
_MECHANISM = f"{SASL_NS} mechanism"


def _escape_attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace("'", "&apos;")
        .replace('"', "&quot;")
    )


def stream_header(
    domain: str, *, server_to_server: bool = False, from_domain: str | None = None
) -> bytes:
    """The opening of our stream, exactly as sent."""
    namespace = SERVER_NS if server_to_server else CLIENT_NS
    attributes = f"to='{_escape_attribute(domain)}'"
    if from_domain is not None:
        attributes += f" from='{_escape_attribute(from_domain)}'"
    declarations = f"xmlns='{namespace}' xmlns:stream='{STREAMS_NS}'"
    if server_to_server:
        declarations += f" xmlns:db='{DIALBACK_NS}'"
    header = f"<?xml version='1.0'?><stream:stream {attributes} version='1.0' {declarations}>"
    return header.encode("utf-8")


def clark(name: str) -> str:
    """expat's "URI local" as `{URI}local`; an unqualified name as it is."""
    namespace, separator, local = name.rpartition(_SEPARATOR)
    return f"{{{namespace}}}{local}" if separator else name


def _split(name: str) -> tuple[str, str]:
    namespace, _, local = name.rpartition(_SEPARATOR)
    return namespace, local


def _tag_end(data: bytearray, start: int) -> int:
    """Index of the '>' that closes the tag starting at `start`, quotes respected; -1 if none."""
    quote = 0
    for index in range(start, len(data)):
        byte = data[index]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in (0x22, 0x27):
            quote = byte
        elif byte == 0x3E:
            return index
    return -1


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT_SHOWN else text[:MAX_TEXT_SHOWN] + "\u2026"


class _Refused(Exception):
    """Raised from an expat handler to stop parsing; the reason becomes the failure."""


class _State(enum.Enum):
    """Where a running dialog is; READY and FAILED are its status (byte_dialog.py)."""

    WAIT_HEADER = enum.auto()
    WAIT_FEATURES = enum.auto()
    IN_FEATURES = enum.auto()
    WAIT_PROCEED = enum.auto()


class XmppStartTls(ByteDialog):
    """One XMPP stream up to <proceed/>; see the module docstring.

    `domain` goes in the stream header's `to` (the probe passes the target's
    host name unless told otherwise); `server_to_server` opens a jabber:server
    stream as a peer server would, optionally saying `from_domain`.
    """

    __slots__ = (
        "_banner",
        "_depth",
        "_elements",
        "_error_condition",
        "_error_text",
        "_feature",
        "_features",
        "_namespace",
        "_parser",
        "_plaintext_auth",
        "_proceed_start",
        "_received",
        "_root_namespace",
        "_starttls_sent",
        "_state",
        "_text",
        "protocol",
    )

    def __init__(
        self, *, domain: str, server_to_server: bool = False, from_domain: str | None = None
    ) -> None:
        super().__init__(
            stream_header(domain, server_to_server=server_to_server, from_domain=from_domain)
        )
        self.protocol = "xmpp-server" if server_to_server else "xmpp"
        self._namespace = SERVER_NS if server_to_server else CLIENT_NS
        self._state = _State.WAIT_HEADER
        self._received = bytearray()  # everything the server sent, within MAX_DIALOG_BYTES
        self._banner = ""
        self._starttls_sent = False
        self._proceed_start = 0  # where <proceed starts in _received
        self._depth = 0
        self._elements = 0
        self._root_namespace: str | None = None  # the default namespace the server declared
        self._features: list[str] = []
        self._feature: str | None = None  # the feature (depth 3) being read
        self._plaintext_auth: list[str] = []
        self._text: list[str] | None = None  # text being collected, when it matters
        self._error_condition: str | None = None
        self._error_text = ""
        self._parser = self._new_parser()

    def _new_parser(self) -> expat.XMLParserType:
        # The encoding is fixed: XML streams are UTF-8 (RFC 6120 11.6), whatever they declare.
        parser = expat.ParserCreate(encoding="UTF-8", namespace_separator=_SEPARATOR)
        parser.ordered_attributes = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        # expat 2.6 may hold back a token that arrives in small pieces until more
        # data comes; a <proceed/> trickling in must be seen when its last byte is.
        if hasattr(parser, "SetReparseDeferralEnabled"):
            parser.SetReparseDeferralEnabled(False)
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters
        parser.StartNamespaceDeclHandler = self._namespace_declared
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        parser.EntityDeclHandler = self._refuse_entity
        parser.ProcessingInstructionHandler = self._refuse_instruction
        parser.CommentHandler = self._refuse_comment
        parser.ExternalEntityRefHandler = self._refuse_external
        return parser

    # The Dialog interface.

    @property
    def outcome(self) -> DialogOutcome:
        return replace(
            super().outcome,
            banner=self._banner,
            capabilities_before=tuple(self._features),
            plaintext_auth_offered=tuple(self._plaintext_auth),
        )

    @property
    def buffered(self) -> int:
        """Server bytes kept (all of them, for the check after <proceed/>): at most the budget."""
        return len(self._received)

    def bytes_to_send(self) -> bytes:
        """Our stream header first, <starttls/> once the features offer it; else nothing."""
        outgoing = super().bytes_to_send()
        if outgoing == STARTTLS_COMMAND:
            self._starttls_sent = True
        return outgoing

    def _on_data(self, data: bytes) -> None:
        if len(self._received) + len(data) > MAX_DIALOG_BYTES:
            self._fail(f"more than {MAX_DIALOG_BYTES} bytes before STARTTLS could start")
            return
        self._received += data
        try:
            self._parser.Parse(data, False)
        except _Refused as refusal:
            self._fail(str(refusal))
        except expat.ExpatError as error:
            reason = f"not a well-formed XML stream: {expat.ErrorString(error.code)} "
            reason += f"at byte {self._parser.ErrorByteIndex}"
            if self._state is _State.WAIT_HEADER:
                reason += f" ({quote_bytes(bytes(self._received))})"
            self._fail(reason)

    def _closed_failure(self) -> str:
        waiting = {
            _State.WAIT_HEADER: "its stream header",
            _State.WAIT_FEATURES: "its stream features",
            _State.IN_FEATURES: "the end of its stream features",
            _State.WAIT_PROCEED: "its answer to <starttls/>",
        }[self._state]
        return f"connection closed by the server before {waiting}"

    # expat handlers: each raises _Refused to end the dialog.

    def _refuse_doctype(self, *_: object) -> None:
        raise _Refused("the server sent a DTD, which an XML stream must not contain")

    def _refuse_entity(self, *_: object) -> None:
        raise _Refused("the server declared an entity, which an XML stream must not contain")

    def _refuse_instruction(self, *_: object) -> None:
        raise _Refused("the server sent a processing instruction (RFC 6120 11.1)")

    def _refuse_comment(self, *_: object) -> None:
        raise _Refused("the server sent an XML comment (RFC 6120 11.1)")

    def _refuse_external(self, *_: object) -> int:
        raise _Refused("the server referred to an external entity")

    def _namespace_declared(self, prefix: str | None, uri: str) -> None:
        if self._depth == 0 and prefix is None:
            self._root_namespace = uri

    def _start(self, name: str, attributes: list[str]) -> None:
        self._elements += 1
        if self._elements > MAX_ELEMENTS:
            raise _Refused(f"more than {MAX_ELEMENTS} elements before STARTTLS could start")
        if self._depth >= MAX_DEPTH:
            raise _Refused(f"elements nested more than {MAX_DEPTH} deep")
        self._depth += 1
        if self._text is not None:
            raise _Refused(f"an element ({clark(name)}) inside text-only content")
        if self._depth == 1:
            self._on_stream_header(name, attributes)
        elif self._depth == 2:
            self._on_top_level(name)
        elif self._state is _State.IN_FEATURES:
            self._on_feature_child(name)
        elif self._error_condition is not None:
            self._on_error_child(name)

    def _end(self, name: str) -> None:
        depth = self._depth
        self._depth -= 1
        if self._text is not None and depth >= 3:
            self._end_text(depth)
        if depth == 1:
            raise _Refused(self._closed_reason())
        if depth == 2:
            self._on_top_level_end(name)

    def _characters(self, data: str) -> None:
        if self._text is not None:
            if sum(map(len, self._text)) + len(data) > MAX_TEXT:
                raise _Refused(f"more than {MAX_TEXT} characters of text in one element")
            self._text.append(data)
        elif self._depth <= 1 and data.strip():
            raise _Refused(f"text between stream elements: {_shorten(data)!r}")

    # What the events mean.

    def _on_stream_header(self, name: str, attributes: list[str]) -> None:
        if name != _STREAM:
            raise _Refused(f"the server's first element is {clark(name)}, not <stream:stream>")
        pairs = list(zip(attributes[::2], attributes[1::2], strict=True))
        shown = " ".join(f"{self._attribute_name(key)}='{value}'" for key, value in pairs)
        self._banner = f"<stream:stream {shown}>" if shown else "<stream:stream>"
        if self._root_namespace is None:
            raise _Refused("the stream header declares no content namespace (RFC 6120 4.8.2)")
        if self._root_namespace != self._namespace:
            raise _Refused(
                f"the server answered with a {self._root_namespace} stream; "
                f"this dialog opened {self._namespace}"
            )
        version = dict(pairs).get("version")
        if not _is_version_1(version):
            shown_version = "no version" if version is None else f"version {version!r}"
            raise _Refused(
                f"{shown_version} in the stream header: a server before XMPP 1.0 sends no "
                f"stream features, so it cannot offer STARTTLS (RFC 6120 4.7.5)"
            )
        self._state = _State.WAIT_FEATURES

    @staticmethod
    def _attribute_name(key: str) -> str:
        namespace, local = _split(key)
        if not namespace:
            return key
        return f"xml:{local}" if namespace == XML_NS else clark(key)

    def _on_top_level(self, name: str) -> None:
        if name == _STREAM_ERROR:
            self._error_condition = ""
            return
        if self._state is _State.WAIT_FEATURES and name == _FEATURES:
            self._state = _State.IN_FEATURES
            return
        if self._state is _State.WAIT_PROCEED and name == _PROCEED:
            if not self._starttls_sent:
                raise _Refused("the server sent <proceed/> before we asked for STARTTLS")
            self._proceed_start = self._parser.CurrentByteIndex
            return
        if self._state is _State.WAIT_PROCEED and name == _FAILURE:
            raise _Refused("the server answered <starttls/> with <failure/> (RFC 6120 5.4.2.2)")
        waiting = "stream features" if self._state is _State.WAIT_FEATURES else "<proceed/>"
        raise _Refused(f"unexpected {clark(name)} while waiting for {waiting}")

    def _on_top_level_end(self, name: str) -> None:
        if self._error_condition is not None:
            text = f": {self._error_text}" if self._error_text else ""
            raise _Refused(f"stream error {self._error_condition or '(no condition)'}{text}")
        if self._state is _State.IN_FEATURES:
            self._on_features_end()
        elif self._state is _State.WAIT_PROCEED and name == _PROCEED:
            self._on_proceed()

    def _on_feature_child(self, name: str) -> None:
        namespace, local = _split(name)
        if self._depth == 3:
            self._feature = name
            self._features.append(clark(name))
            if namespace == IQ_AUTH_FEATURE_NS and local == "auth":
                self._plaintext_auth.append("iq-auth")
        elif self._depth == 4 and (self._feature, name) == (_STARTTLS, _REQUIRED):
            self._features[-1] += " required"
        elif self._depth == 4 and (self._feature, name) == (_MECHANISMS, _MECHANISM):
            self._text = []

    def _on_error_child(self, name: str) -> None:
        if self._depth != 3:
            return
        namespace, local = _split(name)
        if namespace != STREAM_ERRORS_NS:
            return  # application-specific conditions (RFC 6120 4.9.4) add nothing we show
        if local == "text":
            self._text = []
        elif not self._error_condition:
            self._error_condition = local

    def _end_text(self, depth: int) -> None:
        text = "".join(self._text or ())
        self._text = None
        if self._state is _State.IN_FEATURES and depth == 4:
            mechanism = text.strip()
            self._features[-1] += f" {mechanism}"
            if mechanism.upper() in PLAINTEXT_MECHANISMS:
                self._plaintext_auth.append(mechanism.upper())
        elif self._error_condition is not None:
            self._error_text = _shorten(text)

    def _on_features_end(self) -> None:
        starttls = f"{{{TLS_NS}}}starttls"
        self._offered = any(feature.split(" ")[0] == starttls for feature in self._features)
        if not self._offered:
            raise _Refused("server does not offer STARTTLS")
        self._outgoing = STARTTLS_COMMAND
        self._state = _State.WAIT_PROCEED

    def _on_proceed(self) -> None:
        # Where <proceed/> (or its </proceed>) ends: anything after it came in plaintext.
        # expat reports an empty element's end just past it, and an end tag's at its
        # start, so the empty form is told by its '/>' and measured from its start.
        end = _tag_end(self._received, self._proceed_start)
        if end > 0 and self._received[end - 1] != ord("/"):
            end = _tag_end(self._received, self._parser.CurrentByteIndex)
        trailing = len(self._received) - end - 1 if end >= 0 else 0
        if trailing:
            shown = quote_bytes(bytes(self._received[end + 1 :]))
            raise _Refused(bytes_after_go_ahead(trailing, "<proceed/>", shown))
        self._ready()

    def _closed_reason(self) -> str:
        if self._state is _State.WAIT_PROCEED:
            return "the server closed the stream instead of answering <starttls/>"
        return "the server closed the stream before STARTTLS could start"

    def _fail(self, reason: str) -> None:
        super()._fail(reason)
        self._outgoing = b""


def _is_version_1(version: str | None) -> bool:
    """RFC 6120 4.7.5: "major.minor", integers; 1.0 or later has stream features."""
    if version is None:
        return False
    major, dot, minor = version.partition(".")
    if not dot or not major.isdigit() or not minor.isdigit() or len(major) > 4:
        return False
    return int(major) >= 1


__all__ = [
    "CLIENT_NS",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "MAX_TEXT",
    "SASL_NS",
    "SERVER_NS",
    "STARTTLS_COMMAND",
    "STREAMS_NS",
    "TLS_NS",
    "XmppStartTls",
    "clark",
    "stream_header",
]
