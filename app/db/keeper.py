"""Keeping the embedded PostgreSQL up under a running `pgask serve`, and noticing its death
under a running `pgask ingest`.

A postmaster killed with SIGKILL (or by the OOM killer) leaves every pgask process on its
data dir without a database until something starts it again. `Keeper.run` checks the
postmaster every second; when it is gone, it logs one line, starts it again (PostgreSQL runs
its crash recovery) and logs one line more. Failed starts are retried after 1, 2, 4 ... s;
after PGASK_EMBEDDED_RESTART_ATTEMPTS failures in a row it logs that it gives up and
`/readyz` reports it. A server that dies again within a minute of a restart does not get a
fresh count, so a server that cannot stay up is not restarted forever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.config import Settings
from app.db.embedded import EmbeddedServer
from app.errors import ServiceUnavailable

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0
FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 30.0
STABLE_SECONDS = 60.0  # up this long after a restart: the next death gets a fresh count
DYING_SECONDS = 10.0  # the longest wait for a postmaster to finish exiting, once a query failed


async def postmaster_death(server: EmbeddedServer) -> None:
    """Return once no postmaster runs (`server.pid` names the one that died)."""
    while True:  # polled: nothing signals a postmaster's death to a process not its parent
        if await asyncio.to_thread(server.postmaster_pid) is None:
            return
        await asyncio.sleep(CHECK_SECONDS)


async def postmaster_died(server: EmbeddedServer) -> bool:
    """Whether no postmaster runs, or none does within DYING_SECONDS: after a SIGKILL its
    backends end ("unexpected postmaster exit") while the postmaster itself is still
    exiting, so a query can fail before the postmaster is seen gone (seen in CI, where a
    loaded machine stretched that exit over seconds)."""
    deadline = time.monotonic() + DYING_SECONDS
    while await asyncio.to_thread(server.postmaster_pid) is not None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.1)
    return True


class Keeper:
    """Restarts the embedded server when it dies, until it gives up (`gave_up` says why)."""

    def __init__(self, server: EmbeddedServer, attempts: int) -> None:
        self.server = server
        self.attempts = attempts
        self.gave_up: str | None = None
        self._failures = 0
        self._restarted_at = -STABLE_SECONDS

    async def run(self) -> None:
        while self.gave_up is None:
            await postmaster_death(self.server)
            log.error("embedded PostgreSQL (pid %s) died; restarting it", self.server.pid)
            if time.monotonic() - self._restarted_at >= STABLE_SECONDS:
                self._failures = 0
            await self._restart()

    async def _restart(self) -> None:
        while self._failures < self.attempts:
            try:
                seconds = await asyncio.to_thread(self.server.restart)
            except ServiceUnavailable as exc:
                self._failures += 1
                wait = min(FIRST_WAIT_SECONDS * 2 ** (self._failures - 1), MAX_WAIT_SECONDS)
                log.warning(
                    "embedded PostgreSQL did not start (attempt %d of %d): %s; see %s",
                    self._failures,
                    self.attempts,
                    exc,
                    self.server.log_file,
                )
                if self._failures < self.attempts:
                    await asyncio.sleep(wait)
                continue
            self._restarted_at = time.monotonic()
            log.warning(
                "embedded PostgreSQL restarted (pid %s) in %.1f s", self.server.pid, seconds
            )
            return
        self.gave_up = (
            f"the embedded PostgreSQL died and did not start again ({self.attempts} attempts,"
            f" PGASK_EMBEDDED_RESTART_ATTEMPTS); see {self.server.log_file}, then restart"
            " pgask serve"
        )
        log.error("giving up: %s", self.gave_up)


@asynccontextmanager
async def kept(settings: Settings) -> AsyncIterator[Keeper | None]:
    """A Keeper watching the embedded server while the block runs (None with DATABASE_URL)."""
    server = await asyncio.to_thread(EmbeddedServer.of, settings)
    if server is None:
        yield None
        return
    keeper = Keeper(server, settings.database.embedded_restart_attempts)
    task = asyncio.create_task(keeper.run(), name="embedded-postgres-keeper")
    try:
        yield keeper
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
