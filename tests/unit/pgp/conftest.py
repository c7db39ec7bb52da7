"""The GnuPG-made keys, generated once per session (about 3 s) in a temporary GNUPGHOME."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from unit.pgp.gpg_keys import GpgKeys, available, generate, stop_agent


@pytest.fixture(scope="session")
def gpg_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgKeys]:
    if not available():
        pytest.skip("GnuPG (gpg, gpgconf) is not installed")
    home = tmp_path_factory.mktemp("gnupg")
    try:
        yield generate(home)
    finally:
        stop_agent(home)
