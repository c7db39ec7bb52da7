"""A target file with a malformed line: one line of error for it, the rest still audited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_helpers import TIMEOUT, Handler, Peer, assert_clean_exit, run_cli

Serve = Callable[[Handler], Peer]

# A hostile peer must never make the scanner hang: fail fast if it does.
pytestmark = pytest.mark.timeout(30)


async def _close_at_once(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


def test_target_file_with_a_malformed_line(serve: Serve, tmp_path: Path) -> None:
    peer = serve(_close_at_once)
    targets = tmp_path / "targets.txt"
    targets.write_text(
        f"# lab hosts\nhost:99999\n\n127.0.0.1:{peer.port}  # the good one\n   \n",
        encoding="utf-8",
    )
    run = run_cli("-i", str(targets), "--json", "-", "--timeout", str(TIMEOUT))
    # Then the bad line is one line on stderr, naming it, and the exit code says so
    assert_clean_exit(run, codes=(3,))
    errors = run.stderr.strip().splitlines()
    assert len(errors) == 1, run.stderr
    assert f"{targets}:2" in errors[0]
    assert "99999" in errors[0]
    # And the good target was audited all the same; blanks and comments were no targets
    document = run.json()
    assert [target["port"] for target in document["targets"]] == [peer.port]
    assert peer.connections >= 1
    assert [error["target"] for error in document["errors"]] == [f"{targets}:2: host:99999"]


def test_malformed_targets_on_the_command_line(serve: Serve) -> None:
    peer = serve(_close_at_once)
    run = run_cli(":443", f"127.0.0.1:{peer.port}", "host:99999", "--timeout", str(TIMEOUT))
    assert_clean_exit(run, codes=(3,))
    errors = run.stderr.strip().splitlines()
    assert len(errors) == 2, run.stderr
    assert "':443'" in errors[0]
    assert "99999" in errors[1]
    assert f"127.0.0.1:{peer.port}" in run.stdout
