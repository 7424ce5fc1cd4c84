"""Every route's JSON request body, read by pydantic-core's parser instead of the standard
library's, and refused when it holds what is not Unicode text.

Speed: a batch of 1,000 documents with 384-dimensional vectors is 8.8 MB of JSON:
`json.loads` took 70 ms of the event loop for it, `pydantic_core.from_json` 14 ms (FastAPI
still validates the result against the route's model, so every 422 stays as it was).

Text: JSON may escape a lone UTF-16 surrogate (`"\\ud800"`), which is no character: psycopg
cannot encode it for PostgreSQL, nor tiktoken count it. It is refused here, for every field
of every route, as a 422 naming the field (pydantic-core refuses it; the standard library,
read after it, finds where). So is nesting deeper than pydantic-core reads
(`MAX_JSON_DEPTH`): no route takes such a body, and Python's own parser would overflow.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.validation import parse_json

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class FastJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = _parse(await self.body())
        return self._json


def _parse(body: bytes) -> Any:
    """The body's JSON value. Invalid JSON raises json.JSONDecodeError, which FastAPI
    answers with a 422 naming the position; what is JSON but no text raises InvalidInput
    (FastAPI hands it on as the cause of its 400, answered as this 422: app/api/problems.py)."""
    return parse_json(body, "body")


class JsonRoute(APIRoute):
    """A route whose JSON bodies are read by `FastJsonRequest`. Every API route with a JSON
    body is one (a test enumerates the routes)."""

    def get_route_handler(self) -> Handler:
        handler = self.wrap_handler(super().get_route_handler())

        async def route(request: Request) -> Response:
            # Outermost, once: a handler run twice (a read retried on the primary) reuses
            # this request, and the body it has already read.
            return await handler(FastJsonRequest(request.scope, request.receive))

        return route

    def wrap_handler(self, handler: Handler) -> Handler:
        """What a subclass runs around the handler, inside the request conversion."""
        return handler
