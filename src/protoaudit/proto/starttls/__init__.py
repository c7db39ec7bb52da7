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
_DIALOGS: dict[str, tuple[str, str, str | None]] = {}


def dialog_factory(protocol: str, host: str) -> Callable[[], Dialog]:
    """A maker of fresh dialogs for `protocol`, addressed to `host` where the protocol asks."""
    try:
        module_name, class_name, host_keyword = _DIALOGS[protocol]
    except KeyError:
        raise TargetError(f"no STARTTLS dialog for {protocol!r}") from None
    dialog_class = getattr(importlib.import_module(module_name), class_name)
    keywords = {host_keyword: host} if host_keyword else {}

    def make() -> Dialog:
        dialog: Dialog = dialog_class(**keywords)
        return dialog

    return make
