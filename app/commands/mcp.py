"""`pgask mcp`: pgask's tools for AI assistants, over MCP on stdin/stdout.

Same settings and database as every command (embedded by default). stdout carries only the
protocol: logs go to stderr, and while the server runs the SDK points file descriptor 1 at
stderr, so nothing started from here (the embedded PostgreSQL, say) can write on the wire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp.server.mcpserver import MCPServer

from app.cli import app
from app.commands.ingest import start_services
from app.config import get_settings
from app.errors import PgaskError
from app.mcp_server import McpState, build_server


@app.command("mcp")
def mcp_cmd() -> None:
    """Serve MCP over stdio, for desktop assistants that start a command (Claude, VS Code,
    Cursor). With PGASK_API_KEYS set, PGASK_API_KEY names the key whose scope applies."""
    settings = get_settings()
    key = settings.acting_key  # refuses to start without a valid key when keys are configured

    @asynccontextmanager
    async def lifespan(_: MCPServer[McpState]) -> AsyncIterator[McpState]:
        services = await start_services(settings)
        try:
            yield McpState(services, stdio_key=key)
        finally:
            await services.close()

    try:
        anyio.run(build_server(lifespan).run_stdio_async)
    except BaseExceptionGroup as group:
        # The SDK runs the lifespan in a task group: a failed start (no database, say)
        # arrives wrapped; show its one line like any other command.
        first = group.subgroup(PgaskError)
        if first is None:
            raise
        raise _leaf(first) from group


def _leaf(group: BaseExceptionGroup[PgaskError]) -> PgaskError:
    error = group.exceptions[0]
    return _leaf(error) if isinstance(error, BaseExceptionGroup) else error
