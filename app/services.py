"""Long-lived things the HTTP app and the CLI build once (in the FastAPI lifespan, or in
`app.commands.common.started`) and hand on: routes get them through `Annotated`
dependencies (`app/api/deps.py`), commands from the context manager.

Ingestion does not see this bag: it gets an `ingest.context.Ingestion` (a `Database`, its
few settings, a metrics callback) and an `Embedder`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.access import UNRESTRICTED, Principal
from app.config import Settings
from app.db.database import Database
from app.db.keeper import Keeper
from app.embeddings import Embedder, build_embedder
from app.embeddings.metered import MeteredEmbedder
from app.errors import PgaskError, ServiceUnavailable, Unauthorized
from app.keys import KeyStore
from app.observability import Metrics
from app.rag.service import Answerer

if TYPE_CHECKING:  # the openai package loads only with LLM_PROVIDER=openai (see `start`)
    from app.llm import ChatModel

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    metrics: Metrics = field(default_factory=Metrics)
    loaded_embedder: Embedder | None = None  # None: see `embedder_error`
    embedder_error: str | None = None
    chat: ChatModel | None = None  # None with LLM_PROVIDER=none: answers are extractive
    keys: KeyStore = field(init=False)
    keeper: Keeper | None = None  # `pgask serve` on the embedded server: restarts it

    def __post_init__(self) -> None:
        self.keys = KeyStore(self.db, self.settings.auth.keys)

    async def acting_principal(self, *, required: bool = False) -> Principal:
        """Who a CLI command or `pgask mcp` (stdio) acts as: the key PGASK_API_KEY presents,
        bootstrap or stored (Unauthorized when unknown, revoked or expired). Without it:
        UNRESTRICTED (whoever runs pgask on this data dir owns the database anyway), unless
        `required` and keys are configured (an MCP client must not get more than a key would
        give it)."""
        secret = self.settings.auth.client_key
        if secret is None:
            if required and await self.keys.configured():
                raise Unauthorized(
                    "PGASK_API_KEY: API keys are configured (PGASK_API_KEYS or pgask keys "
                    "create); set PGASK_API_KEY to one of them"
                )
            return UNRESTRICTED
        principal = await self.keys.find(secret.get_secret_value())
        if principal is None:
            raise Unauthorized("PGASK_API_KEY: unknown, revoked or expired key")
        return principal

    @property
    def embedder(self) -> Embedder:
        """The embedder; ServiceUnavailable with the reason when it did not load."""
        if self.loaded_embedder is None:
            raise ServiceUnavailable(f"embedding provider unavailable: {self.embedder_error}")
        return self.loaded_embedder

    def embedder_for(self, mode: str) -> Embedder | None:
        """The embedder a search in `mode` needs: text search goes without (commands that
        search text do not load the model); other modes raise when it did not load."""
        return self.loaded_embedder if mode == "text" else self.embedder

    def answerer(self, principal: Principal | None, *, mode: str = "hybrid") -> Answerer:
        """What /v1/ask, chat completions, MCP and `pgask ask` answer with, searching as
        `principal` (row-level security); `mode`: the search mode it will use (text needs
        no embedder)."""
        embedder = self.embedder_for(mode)
        return Answerer(self.db, embedder, self.chat, self.settings.answers, principal)

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        load_embedder: bool = True,
        metrics: Metrics | None = None,
    ) -> Services:
        """The server's start: without an embedder that cannot load, the reason kept for
        /readyz. Commands load theirs after (`load_embedder(required=True)`), saying so."""
        services = cls(settings, await Database.open(settings), metrics or Metrics())
        services.db.replicas.on_read = services.metrics.count_read
        if settings.llm.provider == "openai":
            from app.llm import ChatModel

            services.chat = ChatModel.from_settings(settings, services.metrics)
        if not load_embedder:
            services.embedder_error = "not loaded by this command"
            return services
        await services.load_embedder(required=False)
        return services

    async def load_embedder(self, *, required: bool) -> None:
        """Load the configured embedder. `required`: close and raise when it cannot load,
        instead of keeping the reason for /readyz."""
        try:
            embedder = await asyncio.to_thread(build_embedder, self.settings)
            self.loaded_embedder = MeteredEmbedder(embedder, self.metrics)
        except PgaskError as exc:
            if required:
                await self.close()
                raise ServiceUnavailable(f"embedding provider unavailable: {exc}") from exc
            # Keep serving: /healthz stays up and /readyz reports why we are not ready.
            self.embedder_error = str(exc)
            log.error("embedding provider failed to load: %s", exc)

    async def close(self) -> None:
        if self.chat is not None:
            await self.chat.aclose()
        if self.loaded_embedder is not None:
            await self.loaded_embedder.aclose()
        await self.db.dispose()
