"""Dependencies that hand the lifespan's long-lived objects to routes. A route names what
it uses (`DatabaseDep`, `EmbedderDep`, `AnswererDep`, ...); only the providers here reach
into the `Services` the lifespan built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal, key_name
from app.config import Settings
from app.db.database import Database
from app.db.replicas import read_intent
from app.embeddings import Embedder
from app.observability import Metrics
from app.rag.service import Answerer
from app.services import Services
from app.status import Readiness, readiness
from ingest.context import Ingestion


def _get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_ingestion(request: Request) -> Ingestion:
    ingestion: Ingestion = request.app.state.ingestion
    return ingestion


_ServicesDep = Annotated[Services, Depends(_get_services)]
IngestionDep = Annotated[Ingestion, Depends(get_ingestion)]


def get_settings_dep(services: _ServicesDep) -> Settings:
    return services.settings


def get_principal(request: Request) -> Principal | None:
    """Who the request acts as (set by AuthMiddleware: UNRESTRICTED with no keys configured);
    None on a route AuthMiddleware does not guard, whose sessions then see no row."""
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else None


PrincipalDep = Annotated[Principal | None, Depends(get_principal)]


def actor(principal: Principal | None) -> str | None:
    """The key name the audit log records (None: no keys configured)."""
    return key_name(principal)


async def get_session(
    services: _ServicesDep, principal: PrincipalDep
) -> AsyncIterator[AsyncSession]:
    """The request's session, acting as its principal: for a read route (`app.api.reads`)
    a read session, which a replica may serve; otherwise one on the primary."""
    db = services.db
    opened = db.read_session if read_intent.get() else db.session
    async with opened(principal=principal) as session:
        yield session


def get_embedder(services: _ServicesDep) -> Embedder:
    """The embedder; ServiceUnavailable with the reason when it did not load."""
    return services.embedder


def get_database(services: _ServicesDep) -> Database:
    """For the routes whose service function opens its own connections (export, import,
    metrics): never a connection in the route."""
    return services.db


def get_metrics(services: _ServicesDep) -> Metrics:
    return services.metrics


def get_answerer(services: _ServicesDep, principal: PrincipalDep) -> Answerer:
    """What answers the request, searching as its principal."""
    return services.answerer(principal)


async def get_readiness(services: _ServicesDep) -> Readiness:
    """Whether this process can do its job, checked now (/readyz)."""
    return await readiness(
        services.db, services.keeper, services.loaded_embedder, services.embedder_error
    )


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
EmbedderDep = Annotated[Embedder, Depends(get_embedder)]
DatabaseDep = Annotated[Database, Depends(get_database)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
ReadinessDep = Annotated[Readiness, Depends(get_readiness)]
