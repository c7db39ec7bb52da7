"""STARTTLS dialogs: the plaintext steps that come before TLS in mail, FTP, LDAP, databases.

Each protocol's dialog is a sans-I/O state machine (see base.py for the shape
and its bounds). `dialog_factory` picks one by the service table's name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from protoaudit.errors import TargetError
from protoaudit.proto.starttls.base import Dialog

# protocol -> (module, class, how the class is told the server's name).
_DIALOGS: dict[str, tuple[str, str, str | None]] = {
    "smtp": ("protoaudit.proto.starttls.smtp", "SmtpStartTls", None),
    "lmtp": ("protoaudit.proto.starttls.smtp", "LmtpStartTls", None),
    "pop3": ("protoaudit.proto.starttls.pop3", "Pop3StartTls", None),
    "imap": ("protoaudit.proto.starttls.imap", "ImapStartTls", None),
    "ftp": ("protoaudit.proto.starttls.ftp", "FtpStartTls", None),
    "nntp": ("protoaudit.proto.starttls.nntp", "NntpStartTls", None),
    "sieve": ("protoaudit.proto.starttls.sieve", "SieveStartTls", None),
    "irc": ("protoaudit.proto.starttls.irc", "IrcStartTls", None),
    "ldap": ("protoaudit.proto.starttls.ldap", "LdapStartTls", None),
    "postgres": ("protoaudit.proto.starttls.postgres", "PostgresStartTls", None),
    "mysql": ("protoaudit.proto.starttls.mysql", "MysqlStartTls", None),
    "xmpp": ("protoaudit.proto.starttls.xmpp", "XmppStartTls", "domain"),
    "xmpp-server": ("protoaudit.proto.starttls.xmpp", "XmppStartTls", "domain"),
}
# Fixed keywords beyond the host: the server-to-server stream is the same class.
_EXTRA: dict[str, dict[str, object]] = {"xmpp-server": {"server_to_server": True}}
# Replays (every probe connection after the first) skip the capability command
# where the protocol allows: one round trip less on each of dozens of connections.
_REPLAY: dict[str, dict[str, object]] = {
    name: {"ask_capabilities": False} for name in ("pop3", "imap", "ftp", "nntp")
}


def dialog_factory(protocol: str, host: str, *, replay: bool = False) -> Callable[[], Dialog]:
    """A maker of fresh dialogs for `protocol`, addressed to `host` where the protocol asks.

    With `replay`, the dialog goes straight for TLS where it can (the first,
    recorded dialog already asked for the capabilities).
    """
    try:
        module_name, class_name, host_keyword = _DIALOGS[protocol]
    except KeyError:
        raise TargetError(f"no STARTTLS dialog for {protocol!r}") from None
    dialog_class = getattr(importlib.import_module(module_name), class_name)
    keywords: dict[str, object] = {host_keyword: host} if host_keyword else {}
    keywords.update(_EXTRA.get(protocol, {}))
    if replay:
        keywords.update(_REPLAY.get(protocol, {}))

    def make() -> Dialog:
        dialog: Dialog = dialog_class(**keywords)
        return dialog

    return make


def guess_from_greeting(greeting: bytes) -> str | None:
    """The STARTTLS service a server-first greeting belongs to, or None when unsure.

    For a bare host:port that turned out not to speak TLS: mail, FTP, news and
    Sieve servers introduce themselves before the client says anything.
    """
    head = greeting[:512]
    words = head.upper()
    if len(head) >= 5 and head[3] == 0 and head[4] == 10:  # MySQL: length, seq 0, protocol 10
        return "mysql"
    if head.startswith(b"+OK"):
        return "pop3"
    if head.startswith(b"* OK"):
        return "imap"
    if head.startswith(b'"IMPLEMENTATION"'):
        return "sieve"
    if head.startswith((b"220 ", b"220-")):
        if b"FTP" in words:
            return "ftp"
        if b"SMTP" in words or b"LMTP" in words:
            return "lmtp" if b"LMTP" in words else "smtp"
        return None
    if head.startswith((b"200 ", b"201 ")) and (b"NNTP" in words or b"NEWS" in words):
        return "nntp"
    return None
