"""Dependencies that hand the lifespan's long-lived objects to routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal, key_name
from app.config import Settings
from app.db.replicas import read_intent
from app.embeddings import Embedder
from app.services import Services
from ingest.context import Ingestion


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_ingestion(request: Request) -> Ingestion:
    ingestion: Ingestion = request.app.state.ingestion
    return ingestion


ServicesDep = Annotated[Services, Depends(get_services)]
IngestionDep = Annotated[Ingestion, Depends(get_ingestion)]


def get_settings_dep(services: ServicesDep) -> Settings:
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
    services: ServicesDep, principal: PrincipalDep
) -> AsyncIterator[AsyncSession]:
    """The request's session, acting as its principal: for a read route (`app.api.reads`)
    a read session, which a replica may serve; otherwise one on the primary."""
    db = services.db
    opened = db.read_session if read_intent.get() else db.session
    async with opened(principal=principal) as session:
        yield session


def get_embedder(services: ServicesDep) -> Embedder:
    return services.embedder


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
EmbedderDep = Annotated[Embedder, Depends(get_embedder)]
