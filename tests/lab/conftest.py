"""Fixtures for tests that talk to the real servers of lab/start.sh.

`lab` gives the ground truth (lab/ground_truth.json), the lab CA and a helper to
look targets up. When a lab port does not answer, the test is skipped on a
developer's machine ("run lab/start.sh") and fails in CI, where a missing server
is a broken pipeline, not a reason to pass.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRUTH_FILE = ROOT / "lab" / "ground_truth.json"
DEFAULT_RUN_DIR = "/tmp/protoaudit-lab"


@dataclass(frozen=True)
class Lab:
    truth: Mapping[str, Any]  # the whole ground_truth.json
    run_dir: Path
    ca_file: Path  # the lab root CA: pass as --ca-file / trust anchor

    @property
    def targets(self) -> Mapping[str, Any]:
        return self.truth["targets"]  # type: ignore[no-any-return]

    def target(self, name: str) -> Mapping[str, Any]:
        """Ground truth of one target (host, port, versions, cipher_suites, ...)."""
        return self.targets[name]  # type: ignore[no-any-return]

    def address(self, name: str) -> tuple[str, int]:
        t = self.target(name)
        return t["host"], t["port"]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _unavailable(reason: str) -> None:
    message = f"TLS lab not available: {reason} (run lab/start.sh)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def lab() -> Lab:
    truth = json.loads(TRUTH_FILE.read_text())
    run_dir = Path(os.environ.get("PROTOAUDIT_LAB_DIR", DEFAULT_RUN_DIR))
    ca_file = run_dir / "pki" / "ca.pem"
    down = [
        f"{name} {t['host']}:{t['port']}"
        for name, t in truth["targets"].items()
        if not _answers(t["host"], t["port"])
    ]
    if down:
        _unavailable("no answer from " + ", ".join(down))
    if not ca_file.is_file():
        _unavailable(f"no lab CA at {ca_file}")
    return Lab(truth=truth, run_dir=run_dir, ca_file=ca_file)
