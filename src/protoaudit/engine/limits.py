"""Concurrency limits: one global, one per host, shared by every probe of a scan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Limiter:
    def __init__(self, total: int, per_host: int) -> None:
        self._total = asyncio.Semaphore(total)
        self._per_host_limit = per_host
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._per_host.get(host)
        if semaphore is None:
            semaphore = self._per_host[host] = asyncio.Semaphore(self._per_host_limit)
        self._users[host] = self._users.get(host, 0) + 1
        try:
            async with semaphore, self._total:
                yield
        finally:
            # Forget idle hosts so that memory stays flat over long target lists.
            self._users[host] -= 1
            if not self._users[host]:
                del self._users[host]
                del self._per_host[host]
