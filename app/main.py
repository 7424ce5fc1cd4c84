"""The FastAPI application: `create_app(settings)`; `pgask serve` runs it under uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.api import problems
from app.api.routes import collections, documents, health, jobs
from app.config import Settings, get_settings
from app.services import Services
from ingest.jobs import start_ingest_worker


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await Services.start(settings)
        app.state.services = services
        worker = start_ingest_worker(services)
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await services.close()

    app = FastAPI(
        title="pgask",
        version=__version__,
        summary="Retrieval-augmented question answering on PostgreSQL + pgvector",
        lifespan=lifespan,
    )
    problems.install(app)
    app.include_router(health.router)
    app.include_router(collections.router)
    # After any router with more specific /documents/{id}/... routes: `{id:path}` matches
    # every rest of the path, so ids may contain '/'.
    app.include_router(documents.router)
    app.include_router(jobs.router)
    return app
