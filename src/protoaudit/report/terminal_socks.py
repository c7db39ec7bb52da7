"""The SOCKS part of the terminal report: methods, the RFC 1929 probe, SOCKS 4, CONNECTs.

Whatever the server sent (reply details quoting its bytes, bound addresses)
goes through `wire`, which sanitises it. Nothing is judged here: the colour
of NO AUTHENTICATION REQUIRED only echoes what the policy says of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.table import Table
from rich.text import Text

from protoaudit.observations import Observation
from protoaudit.observations_socks import (
    Socks4Detection,
    SocksConnect,
    SocksMethods,
    SocksUsernamePassword,
)
from protoaudit.policy.facts import of_kind
from protoaudit.proto.socks.constants import Method, method_name
from protoaudit.report.terminal_base import table, wire, words

METHOD_STYLES: dict[int, str] = {
    Method.NO_AUTHENTICATION_REQUIRED: "bold red",
    Method.USERNAME_PASSWORD: "yellow",
    Method.GSSAPI: "green",
}


def _method(code: int | None) -> Text:
    if code is None:
        return words("no answer", "dim")
    if code == Method.NO_ACCEPTABLE_METHODS:
        return words("none acceptable (0xFF)", "dim")
    return words(f"{method_name(code)} (0x{code:02X})", METHOD_STYLES.get(code, ""))


def _methods(methods: SocksMethods, verbose: bool) -> Table:
    shown = table("SOCKS 5 methods", "Offered", "Server chose")
    for offer in methods.offers:
        offered = ", ".join(f"0x{code:02X}" for code in offer.offered)
        chosen = _method(offer.selected)
        if offer.selected is None or verbose:
            chosen.append_text(words(" — "))
            chosen.append_text(wire(offer.detail, 300, "dim"))
        shown.add_row(words(offered), chosen)
    accepted = Text()
    for index, code in enumerate(methods.accepted):
        if index:
            accepted.append_text(words(", "))
        accepted.append_text(_method(code))
    shown.add_row(words("accepted alone"), accepted if methods.accepted else words("none"))
    return shown


def _password(probe: SocksUsernamePassword) -> Table:
    shown = table("SOCKS username/password (RFC 1929, in the clear)", "Field", "Value")
    shown.add_row(words("fake pair sent"), wire(probe.username))
    if probe.answered:
        verdict = "ACCEPTED" if probe.fake_pair_accepted else "refused"
        style = "bold red" if probe.fake_pair_accepted else "green"
        shown.add_row(words("server's answer"), words(f"status {probe.status}: {verdict}", style))
    else:
        shown.add_row(words("server's answer"), wire(probe.detail, 300, "dim"))
    shown.add_row(words("credentials travel"), words("in the clear (RFC 1929)", "yellow"))
    return shown


def _socks4(detection: Socks4Detection) -> Table:
    shown = table("SOCKS 4", "Field", "Value")
    spoken = (
        words("yes (no authentication in SOCKS 4)", "yellow")
        if detection.speaks_socks4
        else words("no")
    )
    shown.add_row(words("speaks SOCKS 4"), spoken)
    shown.add_row(words(f"reply to command {detection.command}"), wire(detection.detail, 300))
    return shown


def _connects(connects: Sequence[SocksConnect]) -> Table:
    shown = table(
        "CONNECT without authentication (to the probe target)", "SOCKS", "Target", "Result"
    )
    for connect in connects:
        result = words("relayed", "bold red") if connect.succeeded else words("refused", "green")
        result.append_text(words(" — "))
        result.append_text(wire(connect.detail, 300))
        if connect.bound_address is not None:
            result.append_text(words(" — bound "))
            result.append_text(wire(f"{connect.bound_address}:{connect.bound_port}"))
        shown.add_row(
            words(connect.version), wire(f"{connect.target_host}:{connect.target_port}"), result
        )
    return shown


def socks_tables(observations: Sequence[Observation], verbose: bool) -> Iterator[Table]:
    """Every SOCKS table this target's observations call for, in order."""
    for methods in of_kind(observations, SocksMethods):
        yield _methods(methods, verbose)
    for probe in of_kind(observations, SocksUsernamePassword):
        yield _password(probe)
    for detection in of_kind(observations, Socks4Detection):
        yield _socks4(detection)
    connects = list(of_kind(observations, SocksConnect))
    if connects:
        yield _connects(connects)
