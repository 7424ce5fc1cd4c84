"""Read replicas: PostgreSQL streaming-replication standbys (`DATABASE_READ_URLS`) that serve
reads, chosen round robin among the healthy ones; the primary serves everything else and
every read no replica can serve.

A replica is healthy when it answers, is in recovery (a standby: a "replica" that is really a
primary is refused with a warning, since reads from it could miss writes made elsewhere) and
lags at most `PGASK_REPLICA_MAX_LAG_SECONDS`. Health is checked at most once a second per
replica, by whichever read needs it first (no background task to start or stop).

Read-your-writes: a read that names a commit position (`ReadIntent.min_lsn`, the
`X-Pgask-Min-LSN` header) goes to a replica whose `pg_last_wal_replay_lsn()` has reached it,
waiting up to `PGASK_READ_WAIT_MS` for one, and to the primary otherwise.

What a read may use is set per request in the `read_intent` context variable (by the API's
read routes); code below the API only calls `Database.read_session()`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.errors import InvalidInput, first_line

log = logging.getLogger(__name__)

PRIMARY = "primary"
_CHECK_SECONDS = 1.0  # how old a replica's health may be before a read checks it again
_CHECK_TIMEOUT = 2.0  # a replica that takes longer to answer its check is down
_POLL_SECONDS = 0.02  # between looks at the replay position while a read waits for it
_LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")

# Lag is 0 when everything received is replayed (an idle primary sends nothing, so the
# last replayed commit may be old without the replica being behind); otherwise the age of
# the last replayed commit. NULL (unknown: nothing replayed yet, or not streaming) counts as
# too far behind.
_HEALTH = text(
    "SELECT pg_is_in_recovery(),"
    " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0"
    " ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 END"
)
_REPLAYED = text("SELECT coalesce(pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn), false)")


def parse_lsn(value: str) -> str:
    """A WAL position as PostgreSQL prints it (`16/B374D848`); InvalidInput otherwise."""
    if not _LSN.match(value):
        raise InvalidInput(
            f"X-Pgask-Min-LSN: {value[:40]!r} is not a WAL position like 0/1A2B3C4D "
            "(send back the X-Pgask-LSN of a write)"
        )
    return value.upper()


@dataclass
class ReadIntent:
    """What one request's reads may use; `served_by` records the replica that served it."""

    min_lsn: str | None = None
    replicas_allowed: bool = True
    served_by: Replica | None = None


read_intent: ContextVar[ReadIntent | None] = ContextVar("pgask_read_intent", default=None)


@dataclass(frozen=True)
class ReplicaStatus:
    name: str
    url: str  # password hidden
    reachable: bool
    in_recovery: bool | None = None
    lag_seconds: float | None = None
    error: str | None = None

    def usable(self, max_lag: float) -> bool:
        return (
            self.reachable
            and bool(self.in_recovery)
            and self.lag_seconds is not None
            and self.lag_seconds <= max_lag
        )


@dataclass
class Replica:
    name: str
    url: URL
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    status: ReplicaStatus = field(init=False)
    _checked_at: float = field(default=float("-inf"), init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.status = ReplicaStatus(self.name, self.shown_url, reachable=False, error="unchecked")

    @property
    def shown_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    async def current(self) -> ReplicaStatus:
        """The status, checked again when older than a second (by one read at a time:
        the others meanwhile go by the last one)."""
        if time.monotonic() - self._checked_at >= _CHECK_SECONDS and not self._lock.locked():
            async with self._lock:
                await self.check()
        return self.status

    async def check(self) -> ReplicaStatus:
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT), self.engine.connect() as conn:
                in_recovery, lag = (await conn.execute(_HEALTH)).one()
        except Exception as exc:  # whatever the failure, the replica is down for now
            self.mark_down(f"{type(exc).__name__}: {first_line(exc, 200)}")
            return self.status
        if not in_recovery and self.status.in_recovery is not False:
            log.warning(
                "DATABASE_READ_URLS: %s (%s) is not in recovery, so it is not a replica: "
                "refused for reads",
                self.name,
                self.shown_url,
            )
        self.status = ReplicaStatus(self.name, self.shown_url, True, in_recovery, lag)
        self._checked_at = time.monotonic()
        return self.status

    def mark_down(self, error: str) -> None:
        if self.status.reachable or self.status.error == "unchecked":
            log.warning("read replica %s (%s) is down: %s", self.name, self.shown_url, error)
        self.status = ReplicaStatus(self.name, self.shown_url, reachable=False, error=error)
        self._checked_at = time.monotonic()

    async def has_replayed(self, lsn: str) -> bool:
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT), self.engine.connect() as conn:
                return bool(await conn.scalar(_REPLAYED, {"lsn": lsn}))
        except Exception as exc:  # down since its last check
            self.mark_down(f"{type(exc).__name__}: {first_line(exc, 200)}")
            return False


class Replicas:
    """The configured replicas and the choice of one for each read."""

    def __init__(
        self, replicas: list[Replica], *, max_lag_seconds: float, read_wait_ms: int
    ) -> None:
        self.replicas = replicas
        self.max_lag = max_lag_seconds
        self.read_wait = read_wait_ms / 1000
        self._turn = itertools.count()
        self.on_read: Callable[[str], None] = lambda _target: None

    async def choose(self, intent: ReadIntent) -> Replica | None:
        """A replica for this read, or None for the primary."""
        if not self.replicas or not intent.replicas_allowed:
            return None
        deadline = time.monotonic() + (self.read_wait if intent.min_lsn else 0)
        while True:
            for replica in self._in_turn():
                if not (await replica.current()).usable(self.max_lag):
                    continue
                if intent.min_lsn is None or await replica.has_replayed(intent.min_lsn):
                    return replica
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(_POLL_SECONDS)

    def _in_turn(self) -> list[Replica]:
        start = next(self._turn) % len(self.replicas)
        return self.replicas[start:] + self.replicas[:start]

    async def statuses(self) -> list[ReplicaStatus]:
        """Each replica's status, checked now (for /readyz)."""
        return [await replica.check() for replica in self.replicas]

    async def dispose(self) -> None:
        for replica in self.replicas:
            await replica.engine.dispose()
