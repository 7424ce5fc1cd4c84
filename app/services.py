"""Long-lived things, built once in the FastAPI lifespan (or once by a CLI command) and
handed to routes through `Annotated` dependencies (`app/api/deps.py`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.access import Principal, bind_principal
from app.config import Settings
from app.db.embedded import database_url
from app.db.engine import create_engine, create_sessionmaker
from app.embeddings import Embedder, build_embedder
from app.embeddings.metered import MeteredEmbedder
from app.errors import PgaskError, ServiceUnavailable, Unauthorized
from app.keys import KeyStore
from app.llm import ChatModel
from app.observability import Metrics

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    url: URL
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    metrics: Metrics = field(default_factory=Metrics)
    _embedder: Embedder | None = None
    embedder_error: str | None = None
    chat: ChatModel | None = None  # None with LLM_PROVIDER=none: answers are extractive
    keys: KeyStore = field(init=False)

    def __post_init__(self) -> None:
        self.keys = KeyStore(self.sessionmaker, self.settings.api_keys)

    async def cli_principal(self) -> Principal | None:
        """Who a CLI command acts as: PGASK_API_KEY's key, or unscoped without one."""
        secret = self.settings.pgask_api_key
        if secret is None:
            return None
        principal = await self.keys.authenticate(secret.get_secret_value())
        if principal is None:
            raise Unauthorized("PGASK_API_KEY: unknown, revoked or expired key")
        return principal

    def session(self, principal: Principal | None = None) -> AsyncSession:
        """A session whose every transaction acts as `principal` (row-level security);
        None: unscoped, for admins, "no keys configured" and internal work."""
        return bind_principal(self.sessionmaker(), principal)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            raise ServiceUnavailable(f"embedding provider unavailable: {self.embedder_error}")
        return self._embedder

    @classmethod
    async def start(
        cls, settings: Settings, *, load_embedder: bool = True, metrics: Metrics | None = None
    ) -> Services:
        url = await asyncio.to_thread(database_url, settings)
        engine = create_engine(url, settings)
        services = cls(settings, url, engine, create_sessionmaker(engine), metrics or Metrics())
        if settings.llm_provider == "openai":
            services.chat = ChatModel.from_settings(settings, services.metrics)
        if not load_embedder:
            services.embedder_error = "not loaded by this command"
            return services
        try:
            embedder = await asyncio.to_thread(build_embedder, settings)
            services._embedder = MeteredEmbedder(embedder, services.metrics)
        except PgaskError as exc:
            # Keep serving: /healthz stays up and /readyz reports why we are not ready.
            services.embedder_error = str(exc)
            log.error("embedding provider failed to load: %s", exc)
        return services

    async def close(self) -> None:
        if self.chat is not None:
            await self.chat.aclose()
        if self._embedder is not None:
            await self._embedder.aclose()
        await self.engine.dispose()
