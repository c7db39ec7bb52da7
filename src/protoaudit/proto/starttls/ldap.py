"""LDAP StartTLS (RFC 4511 4.14, RFC 4513 3), as a sans-I/O dialog.

LDAP has no greeting: the client speaks first. The dialog sends one
ExtendedRequest and reads one LDAPMessage back:

    C: LDAPMessage { messageID 1, [APPLICATION 23] { [0] "1.3.6.1.4.1.1466.20037" } }
    S: LDAPMessage { messageID 1, [APPLICATION 24] { resultCode, matchedDN,
                     diagnosticMessage, [3] referral?, [10] responseName?, [11] value? } }

States: WAIT_RESPONSE, then READY (resultCode success) or FAILED (any other
resultCode, a Notice of Disconnection, bad bytes, a close).

What it refuses, each as FAILED with the reason in words:

- a message whose BER length exceeds MAX_MESSAGE_LENGTH, or an indefinite
  length (ber.py): the dialog never buffers more than one bounded message;
- a response to another messageID, or another operation than ExtendedResponse;
- a responseName that is not the StartTLS OID (RFC 4511 4.14.2);
- a Notice of Disconnection (messageID 0, RFC 4511 4.4.1) or any other
  unsolicited notification: the server is hanging up instead of answering;
- bytes after a successful response: nothing may come between the response
  and the TLS handshake, and a client that kept such bytes would take
  plaintext an attacker injected as if it came over TLS (the response
  injection class of CVE-2021-23222 and CVE-2011-0411).

The outcome's starttls_offered is set from the answer (LDAP can say in
advance only through the root DSE's supportedExtension, which a scanner
asking for StartTLS straight away does not read): True for success, False
for a refusal, None when the server hung up without answering.
"""

from __future__ import annotations

from dataclasses import dataclass

from protoaudit.errors import DecodeError
from protoaudit.proto.starttls import ber
from protoaudit.proto.starttls.byte_dialog import ByteDialog, bytes_after_go_ahead
from protoaudit.sanitize import quote_bytes

PROTOCOL = "ldap"
STARTTLS_OID = "1.3.6.1.4.1.1466.20037"
NOTICE_OF_DISCONNECTION_OID = "1.3.6.1.4.1.1466.20036"
MESSAGE_ID = 1
MAX_MESSAGE_LENGTH = 16384  # contents of one LDAPMessage before TLS: a StartTLS reply is ~40 bytes
MAX_DIAGNOSTIC_SHOWN = 200  # characters of diagnosticMessage quoted in a failure

# Application tags of LDAPMessage.protocolOp (RFC 4511 4.2 ff.).
EXTENDED_REQUEST = 23
EXTENDED_RESPONSE = 24
# Context tags inside ExtendedRequest and ExtendedResponse (RFC 4511 4.12, 4.1.9).
REQUEST_NAME = 0
REQUEST_VALUE = 1
REFERRAL = 3
RESPONSE_NAME = 10
RESPONSE_VALUE = 11
CONTROLS = 0

SUCCESS = 0
SEQUENCE_IDENTIFIER = 0x30

# RFC 4511 Appendix A.1 and the IANA "LDAP Result Code Registry" (RFC 4520 3.6).
RESULT_CODE_NAMES: dict[int, str] = {
    0: "success",
    1: "operationsError",
    2: "protocolError",
    3: "timeLimitExceeded",
    4: "sizeLimitExceeded",
    5: "compareFalse",
    6: "compareTrue",
    7: "authMethodNotSupported",
    8: "strongerAuthRequired",
    10: "referral",
    11: "adminLimitExceeded",
    12: "unavailableCriticalExtension",
    13: "confidentialityRequired",
    14: "saslBindInProgress",
    16: "noSuchAttribute",
    17: "undefinedAttributeType",
    18: "inappropriateMatching",
    19: "constraintViolation",
    20: "attributeOrValueExists",
    21: "invalidAttributeSyntax",
    32: "noSuchObject",
    33: "aliasProblem",
    34: "invalidDNSyntax",
    36: "aliasDereferencingProblem",
    48: "inappropriateAuthentication",
    49: "invalidCredentials",
    50: "insufficientAccessRights",
    51: "busy",
    52: "unavailable",
    53: "unwillingToPerform",
    54: "loopDetect",
    64: "namingViolation",
    65: "objectClassViolation",
    66: "notAllowedOnNonLeaf",
    67: "notAllowedOnRDN",
    68: "entryAlreadyExists",
    69: "objectClassModsProhibited",
    71: "affectsMultipleDSAs",
    80: "other",
    118: "canceled",
    119: "noSuchOperation",
    120: "tooLate",
    121: "cannotCancel",
    122: "assertionFailed",
    123: "authorizationDenied",
}


def result_code_name(code: int) -> str:
    """The registry's name; an unregistered code keeps its number (`resultCode4711`)."""
    return RESULT_CODE_NAMES.get(code, f"resultCode{code}")


def encode_extended_request(
    message_id: int = MESSAGE_ID, request_name: str = STARTTLS_OID, value: bytes | None = None
) -> bytes:
    """An LDAPMessage carrying an ExtendedRequest (RFC 4511 4.12)."""
    body = ber.encode_context(REQUEST_NAME, request_name.encode("ascii"))
    if value is not None:
        body += ber.encode_context(REQUEST_VALUE, value)
    return ber.encode_sequence(
        ber.encode_integer(message_id), ber.encode_application(EXTENDED_REQUEST, body)
    )


STARTTLS_REQUEST = encode_extended_request()


@dataclass(frozen=True, slots=True)
class ExtendedResponse:
    """An LDAPMessage carrying an ExtendedResponse, with RFC 4511's field names."""

    message_id: int
    result_code: int
    matched_dn: bytes = b""
    diagnostic_message: bytes = b""
    referral: tuple[bytes, ...] = ()
    response_name: str | None = None
    response_value: bytes | None = None

    def encode(self) -> bytes:
        body = (
            ber.encode_enumerated(self.result_code)
            + ber.encode_octet_string(self.matched_dn)
            + ber.encode_octet_string(self.diagnostic_message)
        )
        if self.referral:
            uris = b"".join(ber.encode_octet_string(uri) for uri in self.referral)
            body += ber.encode_context(REFERRAL, uris, constructed=True)
        if self.response_name is not None:
            body += ber.encode_context(RESPONSE_NAME, self.response_name.encode("ascii"))
        if self.response_value is not None:
            body += ber.encode_context(RESPONSE_VALUE, self.response_value)
        return ber.encode_sequence(
            ber.encode_integer(self.message_id),
            ber.encode_application(EXTENDED_RESPONSE, body),
        )

    @classmethod
    def decode(cls, data: bytes, *, max_length: int = MAX_MESSAGE_LENGTH) -> ExtendedResponse:
        """One whole LDAPMessage; raises DecodeError for anything but an ExtendedResponse."""
        message = ber.decode_exactly(data, max_length=max_length)
        if not message.is_tag(ber.UNIVERSAL, ber.SEQUENCE, constructed=True):
            raise message.fail("LDAPMessage", f"{message.name}, not a SEQUENCE")
        parts = message.children("LDAPMessage")
        if len(parts) < 2:
            raise message.fail("LDAPMessage", "needs a messageID and a protocolOp")
        message_id_element, operation = parts[0], parts[1]
        if not message_id_element.is_tag(ber.UNIVERSAL, ber.INTEGER):
            raise message_id_element.fail("messageID", f"{message_id_element.name}, not INTEGER")
        message_id = message_id_element.as_integer("messageID")
        if not 0 <= message_id <= 2**31 - 1:
            raise message_id_element.fail("messageID", f"{message_id} is out of range")
        for extra in parts[2:3]:
            if not extra.is_tag(ber.CONTEXT, CONTROLS, constructed=True):
                raise extra.fail("controls", f"{extra.name} where only [0] Controls may follow")
            extra.children("controls")
        if len(parts) > 3:
            raise parts[3].fail("LDAPMessage", f"{len(parts) - 3} elements after the controls")
        if not operation.is_tag(ber.APPLICATION, EXTENDED_RESPONSE, constructed=True):
            raise operation.fail(
                "protocolOp", f"{operation.name}, not an ExtendedResponse [APPLICATION 24]"
            )
        return cls._decode_body(message_id, operation)

    @classmethod
    def _decode_body(cls, message_id: int, operation: ber.Element) -> ExtendedResponse:
        fields = list(operation.children("ExtendedResponse"))
        if len(fields) < 3:
            raise operation.fail(
                "ExtendedResponse", "needs resultCode, matchedDN and diagnosticMessage"
            )
        code, matched_dn, diagnostic = fields[:3]
        if not code.is_tag(ber.UNIVERSAL, ber.ENUMERATED):
            raise code.fail("resultCode", f"{code.name}, not ENUMERATED")
        result_code = code.as_integer("resultCode")
        if result_code < 0:
            raise code.fail("resultCode", f"{result_code} is negative")
        for element, name in ((matched_dn, "matchedDN"), (diagnostic, "diagnosticMessage")):
            if not element.is_tag(ber.UNIVERSAL, ber.OCTET_STRING):
                raise element.fail(name, f"{element.name}, not OCTET STRING")
        referral: tuple[bytes, ...] = ()
        response_name: str | None = None
        response_value: bytes | None = None
        last_number = -1
        for element in fields[3:]:
            # The optional fields come in tag order, each at most once (RFC 4511 4.12).
            if element.tag_class != ber.CONTEXT or element.number <= last_number:
                raise element.fail("ExtendedResponse", f"unexpected {element.name}")
            last_number = element.number
            if element.number == REFERRAL:
                uris = element.children("referral")
                if not uris:
                    raise element.fail(
                        "referral", "empty referral (RFC 4511 4.1.10: SIZE (1..MAX))"
                    )
                referral = tuple(uri.as_octets("referral.uri") for uri in uris)
            elif element.number == RESPONSE_NAME:
                raw_name = element.as_octets("responseName")
                if not raw_name.isascii():
                    raise element.fail("responseName", "an OID is ASCII")
                response_name = raw_name.decode("ascii")
            elif element.number == RESPONSE_VALUE:
                response_value = element.as_octets("responseValue")
            else:
                raise element.fail("ExtendedResponse", f"unexpected {element.name}")
        return cls(
            message_id=message_id,
            result_code=result_code,
            matched_dn=matched_dn.as_octets("matchedDN"),
            diagnostic_message=diagnostic.as_octets("diagnosticMessage"),
            referral=referral,
            response_name=response_name,
            response_value=response_value,
        )


def _describe(response: ExtendedResponse) -> str:
    code = response.result_code
    text = f"resultCode {code} ({result_code_name(code)})"
    diagnostic = response.diagnostic_message.decode("utf-8", "replace")
    if diagnostic:
        if len(diagnostic) > MAX_DIAGNOSTIC_SHOWN:
            diagnostic = diagnostic[:MAX_DIAGNOSTIC_SHOWN] + "\u2026"
        text += f": {diagnostic}"
    return text


class LdapStartTls(ByteDialog):
    """The StartTLS extended operation; see the module docstring."""

    protocol = PROTOCOL

    __slots__ = ("_buffer", "_expected")

    def __init__(self) -> None:
        super().__init__(STARTTLS_REQUEST)
        self._buffer = bytearray()
        self._expected: int | None = None  # the whole message's size, once its header is in

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a message."""
        return len(self._buffer)

    def _on_data(self, data: bytes) -> None:
        self._buffer += data
        if self._buffer[0] != SEQUENCE_IDENTIFIER:
            # Every LDAPMessage is a SEQUENCE: a banner or an HTTP reply fails here at once.
            self._fail(f"not an LDAP message: {quote_bytes(bytes(self._buffer))}")
            return
        try:
            if self._expected is None:
                # A header is at most 9 bytes: identifier, 0x84 and four length octets.
                head = bytes(self._buffer[:16])
                self._expected = ber.frame_length(head, max_length=MAX_MESSAGE_LENGTH)
            size = self._expected
            if size is None or size > len(self._buffer):
                return
            response = ExtendedResponse.decode(bytes(self._buffer[:size]))
        except DecodeError as error:
            self._fail(f"not an LDAP message ({quote_bytes(bytes(self._buffer))}): {error}")
            return
        trailing = len(self._buffer) - size
        self._buffer.clear()
        self._on_response(response, trailing)

    def _closed_failure(self) -> str:
        if self._buffer:
            return (
                f"connection closed by the server in the middle of its response "
                f"({len(self._buffer)} bytes received: {quote_bytes(bytes(self._buffer))})"
            )
        return "connection closed by the server before it answered StartTLS"

    def _on_response(self, response: ExtendedResponse, trailing: int) -> None:
        if response.message_id == 0:
            if response.response_name == NOTICE_OF_DISCONNECTION_OID:
                self._fail(f"server sent a Notice of Disconnection: {_describe(response)}")
            else:
                self._fail(
                    f"server sent an unsolicited notification "
                    f"({response.response_name or 'no responseName'}): {_describe(response)}"
                )
            return
        if self._outgoing:
            self._fail("server answered before the StartTLS request was sent")
            return
        if response.message_id != MESSAGE_ID:
            self._fail(
                f"server answered messageID {response.message_id}; the request was {MESSAGE_ID}"
            )
            return
        if response.response_name not in (None, STARTTLS_OID):
            self._fail(
                f"StartTLS response names {response.response_name!r}, not {STARTTLS_OID} "
                f"(RFC 4511 4.14.2)"
            )
            return
        if response.result_code != SUCCESS:
            self._offered = False
            self._fail(f"StartTLS refused: {_describe(response)}")
            return
        self._offered = True
        if trailing:
            self._fail(bytes_after_go_ahead(trailing, "the StartTLS response"))
            return
        self._ready()

    def _fail(self, reason: str) -> None:
        super()._fail(reason)
        self._buffer.clear()


__all__ = [
    "MAX_MESSAGE_LENGTH",
    "NOTICE_OF_DISCONNECTION_OID",
    "RESULT_CODE_NAMES",
    "STARTTLS_OID",
    "STARTTLS_REQUEST",
    "ExtendedResponse",
    "LdapStartTls",
    "encode_extended_request",
    "result_code_name",
]
