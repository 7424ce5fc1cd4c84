"""The FastAPI application: `create_app(settings)`; `pgask serve` runs it under uvicorn."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from prometheus_client import multiprocess

from app import __version__, mcp_server
from app.api import problems
from app.api.middleware import (
    AuthMiddleware,
    BodyLimit,
    BodyLimitMiddleware,
    RequestContextMiddleware,
)
from app.api.reads import LsnMiddleware
from app.api.routes import (
    ask,
    chat,
    collections,
    documents,
    health,
    jobs,
    keys,
    metrics,
    models,
    search,
    similar,
    sources,
    transfer,
)
from app.config import Settings, get_settings
from app.db.keeper import kept
from app.observability import Metrics
from app.services import Services
from app.web import routes as web
from ingest.context import Ingestion
from ingest.worker import BackgroundWorker

DOCS_ASSETS = "/docs-assets"  # Swagger UI's and ReDoc's files


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app_metrics = Metrics()
    mcp = mcp_server.build_server(mcp_server.http_lifespan(lambda: app.state.services))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await Services.start(settings, metrics=app_metrics)
        ingestion = Ingestion.of(services.db, settings, app_metrics.count_ingest)
        app.state.services, app.state.ingestion = services, ingestion
        worker = None  # none without an embedder: /readyz says why
        if settings.pgask_ingest_worker and services.loaded_embedder is not None:
            worker = BackgroundWorker(ingestion, services.loaded_embedder)
        try:
            # The keeper restarts an embedded PostgreSQL that died under the server.
            async with kept(settings) as services.keeper, mcp.session_manager.run():
                yield
        finally:
            if worker is not None:
                await worker.stop()
            await services.close()
            if settings.prometheus_multiproc_dir is not None:
                # This worker's live gauges leave the sum (its counters stay counted).
                # prometheus_client's multiprocess module has no type annotations.
                multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                    os.getpid(), str(settings.prometheus_multiproc_dir)
                )

    # /docs (Swagger UI) and /redoc with their scripts and styles served by pgask from the
    # fastapi-offline package, not from a CDN: the API docs work offline, as pgask does.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
        title="pgask",
        version=__version__,
        summary="Retrieval-augmented question answering on PostgreSQL + pgvector",
        lifespan=lifespan,
        # The multipart parser's own file count limit (Starlette's default is 1,000).
        form_limits={"max_files": settings.pgask_ingest_max_upload_files},
    )
    app.state.max_upload_files = settings.pgask_ingest_max_upload_files  # named in the 413
    problems.install(app)
    # Outermost last: request ids and logs wrap the 401/413 answers too.
    imports = BodyLimit(settings.pgask_max_import_mb, "PGASK_MAX_IMPORT_MB")
    app.add_middleware(
        BodyLimitMiddleware,
        default=BodyLimit(settings.pgask_max_request_mb, "PGASK_MAX_REQUEST_MB"),
        routes={transfer.IMPORT_PATH: imports},
    )
    app.add_middleware(LsnMiddleware, replicas=bool(settings.read_urls))
    app.add_middleware(AuthMiddleware)
    app.add_middleware(RequestContextMiddleware, metrics=app_metrics)
    # `documents` after every router with more specific /documents/{id}/... routes:
    # `{id:path}` matches every rest of the path, so ids may contain '/'.
    for module in (health, metrics, collections, transfer, search, similar, ask, chat, models):
        app.include_router(module.router)
    for module in (documents, jobs, keys, sources):
        app.include_router(module.router)
    app.router.routes.extend(mcp_server.http_routes(mcp, settings.pgask_host))
    web.install(app)
    return app
