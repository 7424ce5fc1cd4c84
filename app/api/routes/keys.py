"""POST|GET /v1/keys, DELETE /v1/keys/{name}, GET /v1/audit: admin only (AuthMiddleware)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app import audit, keys
from app.api.deps import PrincipalDep, SessionDep, actor
from app.api.fast_json import JsonRoute
from app.api.problems import PROBLEM_RESPONSES
from app.api.schemas.keys import AuditList, AuditOut, KeyCreate, KeyCreated, KeyList, KeyOut

router = APIRouter(
    prefix="/v1", tags=["access"], responses=PROBLEM_RESPONSES, route_class=JsonRoute
)


@router.post("/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED)
async def create_key(body: KeyCreate, session: SessionDep, principal: PrincipalDep) -> KeyCreated:
    """A new key; `key`, its secret, is in this answer only."""
    created = await keys.create_key(session, body.spec(), actor(principal))
    return KeyCreated(**KeyOut.of(created.info).model_dump(), key=created.secret)


@router.get("/keys", response_model=KeyList)
async def list_keys(session: SessionDep) -> KeyList:
    return KeyList(keys=[KeyOut.of(k) for k in await keys.list_keys(session)])


@router.delete("/keys/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(name: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Revoked keys stop working within 2 seconds on every server."""
    await keys.revoke_key(session, name, actor(principal))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit", response_model=AuditList)
async def read_audit(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=audit.MAX_EVENTS)] = 100
) -> AuditList:
    """The latest administrative actions, newest first."""
    return AuditList(events=[AuditOut.of(e) for e in await audit.recent(session, limit)])
