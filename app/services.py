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

from app.config import Settings
from app.db.database import Database
from app.embeddings import Embedder, build_embedder
from app.embeddings.metered import MeteredEmbedder
from app.errors import PgaskError, ServiceUnavailable
from app.llm import ChatModel
from app.observability import Metrics
from app.rag.service import Answerer, AnswerSettings

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    metrics: Metrics = field(default_factory=Metrics)
    loaded_embedder: Embedder | None = None  # None: see `embedder_error`
    embedder_error: str | None = None
    chat: ChatModel | None = None  # None with LLM_PROVIDER=none: answers are extractive

    @property
    def embedder(self) -> Embedder:
        """The embedder; ServiceUnavailable with the reason when it did not load."""
        if self.loaded_embedder is None:
            raise ServiceUnavailable(f"embedding provider unavailable: {self.embedder_error}")
        return self.loaded_embedder

    def answerer(self) -> Answerer:
        """What /v1/ask, chat completions, MCP and `pgask ask` answer with."""
        return Answerer(self.db, self.embedder, self.chat, AnswerSettings.of(self.settings))

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        load_embedder: bool = True,
        require_embedder: bool = False,
        metrics: Metrics | None = None,
    ) -> Services:
        """`require_embedder`: raise when the embedder cannot load (a command that needs
        it), instead of starting without it (the server, which reports it on /readyz)."""
        services = cls(settings, await Database.open(settings), metrics or Metrics())
        if settings.llm_provider == "openai":
            services.chat = ChatModel.from_settings(settings, services.metrics)
        if not load_embedder:
            services.embedder_error = "not loaded by this command"
            return services
        try:
            embedder = await asyncio.to_thread(build_embedder, settings)
            services.loaded_embedder = MeteredEmbedder(embedder, services.metrics)
        except PgaskError as exc:
            if require_embedder:
                await services.close()
                raise ServiceUnavailable(f"embedding provider unavailable: {exc}") from exc
            # Keep serving: /healthz stays up and /readyz reports why we are not ready.
            services.embedder_error = str(exc)
            log.error("embedding provider failed to load: %s", exc)
        return services

    async def close(self) -> None:
        if self.chat is not None:
            await self.chat.aclose()
        if self.loaded_embedder is not None:
            await self.loaded_embedder.aclose()
        await self.db.dispose()
