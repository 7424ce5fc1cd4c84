"""`pgask mcp`: pgask's tools for AI assistants, over MCP on stdin/stdout.

Same settings and database as every command (embedded by default). stdout carries only the
protocol: logs go to stderr, and while the server runs the SDK points file descriptor 1 at
stderr, so nothing started from here (the embedded PostgreSQL, say) can write on the wire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from app.commands.common import started
from app.config import get_settings
from app.db.errors import convert
from app.errors import PgaskError, first_line

if TYPE_CHECKING:  # imported when the command runs: the SDK costs every other command ~1 s
    from mcp.server.mcpserver import MCPServer

    from app.mcp_server import McpState


def mcp_cmd() -> None:
    """Serve MCP over stdio, for desktop assistants that start a command (Claude, VS Code,
    Cursor). With API keys configured, PGASK_API_KEY names the key whose scope applies."""
    import anyio

    from app.mcp_server import McpState, build_server

    settings = get_settings()

    @asynccontextmanager
    async def lifespan(_: MCPServer[McpState]) -> AsyncIterator[McpState]:
        # Refuses to start without a valid key when keys are configured; each call looks
        # the key up again, so revoking it later stops the calls too.
        async with started(settings, migrated=True, key=True) as services:
            yield McpState.of(services)

    try:
        anyio.run(build_server(lifespan).run_stdio_async)
    except BaseExceptionGroup as group:
        # The SDK runs the lifespan in a task group: a failed start (no database, say)
        # arrives wrapped; show its one line like any other command.
        raise _start_error(group) from group


def _start_error(error: BaseException) -> BaseException:
    """The PgaskError behind a failed start, or the error itself when it is none of ours."""
    if isinstance(error, BaseExceptionGroup):
        causes = [_start_error(e) for e in error.exceptions]
        return next((c for c in causes if isinstance(c, PgaskError)), error)
    mapped = convert(error) if isinstance(error, Exception) else None
    if mapped is not None:
        cause = first_line(error.__cause__ or error)
        return type(mapped)(f"{mapped.detail} ({cause})")
    return error
