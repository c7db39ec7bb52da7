"""The pipeline's layers, enforced: each stage knows only the ones before it.

proto/ is sans-I/O (no asyncio, sockets, ssl, threads or engine); policy/
judges observations without touching the network; report/ formats what it is
given and reaches neither probes nor engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "protoaudit"

FORBIDDEN = {
    "proto": (
        "asyncio",
        "socket",
        "ssl",
        "threading",
        "selectors",
        "OpenSSL",
        "protoaudit.engine",
        "protoaudit.probes",
        "protoaudit.scan",
    ),
    "policy": (
        "asyncio",
        "socket",
        "ssl",
        "OpenSSL",
        "protoaudit.engine",
        "protoaudit.probes",
        "protoaudit.scan",
        "protoaudit.report",
    ),
    "report": (
        "asyncio",
        "socket",
        "ssl",
        "OpenSSL",
        "protoaudit.engine",
        "protoaudit.probes",
        "protoaudit.scan",
    ),
    "registry": ("asyncio", "socket", "protoaudit.engine", "protoaudit.probes", "protoaudit.proto"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_it_must_not(layer: str) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files, f"no modules in {layer}/"
    offences = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in files
        for name in sorted(_imports(path))
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer])
    ]
    assert offences == []


def test_the_check_would_catch_an_offence(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import asyncio\nfrom protoaudit.engine.transport import connect\n")
    assert {"asyncio", "protoaudit.engine.transport"} <= _imports(module)
