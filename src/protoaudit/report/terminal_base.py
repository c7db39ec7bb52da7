"""Pieces every part of the terminal report uses: peer text made safe, our words, tables."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from protoaudit.sanitize import for_terminal


def wire(text: str, limit: int = 200, style: str = "") -> Text:
    """Text that came from the peer, made safe and never read as markup."""
    return Text(for_terminal(text, limit), style=style)


def words(text: str, style: str = "") -> Text:
    """Our own words, still as Text so that brackets are never markup."""
    return Text(text, style=style)


def table(title: str, *columns: str, whole: tuple[str, ...] = ()) -> Table:
    """A table with a title; columns named in `whole` are never wrapped (names to copy)."""
    made = Table(title=words(title, "bold"), title_justify="left", header_style="bold")
    for column in columns:
        # fold, not ellipsis: long text wraps rather than being silently cut
        made.add_column(words(column), overflow="fold", no_wrap=column in whole)
    return made
