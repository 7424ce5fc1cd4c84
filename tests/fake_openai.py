"""A small OpenAI-compatible server for tests, so the real `openai` client is exercised over
real HTTP on 127.0.0.1 (docs/testing.md: OpenAI is faked at the HTTP boundary, never mocked).

It records every request and can be scripted per test. Use the `fake_openai` fixture (one
server per test session, reset before every test):

    def test_retry(fake_openai):
        fake_openai.script(Reply(429, retry_after="0"))    # the first request gets a 429
        ...point the code under test at fake_openai.base_url (OPENAI_BASE_URL) or at
        fake_openai.url (AZURE_OPENAI_ENDPOINT)...
        assert [r.status for r in fake_openai.requests] == [429, 200]

Routes (OpenAI's and Azure OpenAI's shapes):

- `POST /v1/embeddings` and `POST /openai/deployments/{deployment}/embeddings?api-version=`:
  deterministic vectors: each word of the input (lowercased `\\w+`) hashes to a fixed random
  direction and a text's vector is the normalised sum, so texts sharing words are near each
  other. Honours `dimensions` and `encoding_format` (`float` or `base64`, float32 LE).
- `POST /v1/chat/completions` and `POST /openai/deployments/{deployment}/chat/completions`:
  the answer is the scripted `Reply.content`, or else the last user message echoed back;
  `stream: true` answers in OpenAI's SSE chunk format (role chunk, content chunks, a
  finish chunk, a usage chunk when `stream_options.include_usage`, then `data: [DONE]`).
  Usage counts tokens with tiktoken `cl100k_base`.

Per-test knobs (attributes, reset before each test): `api_key` (None: any key is accepted,
else others get 401 `invalid_api_key`), `models` (None: any model, else others get 404
`model_not_found`), `default_dimensions` (models not in `NATIVE_DIMENSIONS`),
`unit_vectors` (False: vectors come back unnormalised, as some local servers send them),
`force_dimensions` (answer with this many dimensions whatever was asked, like a server that
ignores `dimensions`), `instant_vectors` (random unit vectors, no token count:
bench/ceiling.py), `latency` (seconds every embeddings answer waits, without blocking the
others: a remote server's round trip). `max_in_flight` is the most requests it was
answering at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pytest
import tiktoken
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.servers import ServerThread

Endpoint = Literal["embeddings", "chat"]

NATIVE_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_ERROR_CODES = {
    400: "invalid_request_error",
    401: "invalid_api_key",
    404: "model_not_found",
    429: "rate_limit_exceeded",
}


@dataclass
class Reply:
    """One scripted answer, consumed by the next request to `endpoint` (None: any endpoint).

    A non-2xx `status` answers with an OpenAI error body (`error`, `code`) and the
    `retry_after` header if given. A 200 answers normally, after `delay` seconds, with the
    chat `content` (or exact stream `chunks`) and `finish_reason` given here.
    `drop_after=n` closes a chat stream abruptly after n content chunks; `chunk_delay`
    waits that long before each content chunk (a slow model). `raw` answers 200
    with exactly that text as application/json (garbage: invalid JSON, the wrong shape);
    `stream_garbage` is sent as one more event's data after a stream's content chunks.
    """

    status: int = 200
    retry_after: str | None = None
    delay: float = 0.0
    error: str | None = None
    code: str | None = None
    content: str | None = None
    chunks: list[str] | None = None
    finish_reason: str = "stop"
    drop_after: int | None = None
    chunk_delay: float = 0.0
    endpoint: Endpoint | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None
    stream_garbage: str | None = None


@dataclass
class Recorded:
    """A request as the server saw it (recorded on arrival, so in arrival order), and the
    status it answered with (None while it is still being answered)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lowercased names
    json: Any
    status: int | None = None

    @property
    def inputs(self) -> list[str]:
        """The embedding inputs of this request, always as a list."""
        value = self.json.get("input", [])
        return [value] if isinstance(value, str) else list(value)


class FakeOpenAI:
    def __init__(self) -> None:
        self.url = ""  # set when served: http://127.0.0.1:PORT
        self._lock = threading.Lock()
        self._script: list[Reply] = []
        self._requests: list[Recorded] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route(
                    "/openai/deployments/{deployment}/embeddings",
                    self._embeddings,
                    methods=["POST"],
                ),
                Route(
                    "/openai/deployments/{deployment}/chat/completions",
                    self._chat,
                    methods=["POST"],
                ),
            ]
        )

    # -- the test's side -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL should be."""
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> list[Reply]:
        """Scripted replies not consumed yet."""
        with self._lock:
            return list(self._script)

    def script(self, *replies: Reply) -> None:
        """Queue replies; each is used once, in order, by the next matching request."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self.max_in_flight = 0
        self.api_key: str | None = None
        self.models: set[str] | None = None
        self.default_dimensions = 256
        self.unit_vectors = True
        self.force_dimensions: int | None = None
        #: random unit vectors and no token count: as fast as this server can answer (the
        #: ingest ceiling benchmark), not similar for texts sharing words
        self.instant_vectors = False
        self.latency = 0.0  # seconds each embeddings answer waits (concurrently)
        #: how each chat stream ended: "finished", "dropped" (scripted) or "cancelled" (the
        #: client went away before the end)
        self.stream_outcomes: list[str] = []

    # -- the server's side -----------------------------------------------------------

    async def _embeddings(self, request: Request) -> Response:
        return await self._serve(request, "embeddings", self._embed_body)

    async def _chat(self, request: Request) -> Response:
        return await self._serve(request, "chat", self._chat_response)

    async def _serve(self, request: Request, endpoint: Endpoint, answer: Any) -> Response:
        body = await request.json()
        recorded = self._record(request, body)
        reply = self._next_reply(endpoint)
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            delay = reply.delay + (self.latency if endpoint == "embeddings" else 0.0)
            if delay:
                await asyncio.sleep(delay)
            response = self._refusal(request, body, reply)
            if response is None and reply.raw is not None:
                response = Response(reply.raw, media_type="application/json")
            if response is None:
                model = request.path_params.get("deployment") or body.get("model", "")
                result = answer(body, model, reply)
                response = result if isinstance(result, Response) else JSONResponse(result)
        finally:
            with self._lock:
                self._in_flight -= 1
        recorded.status = response.status_code
        return response

    def _next_reply(self, endpoint: Endpoint) -> Reply:
        with self._lock:
            for index, reply in enumerate(self._script):
                if reply.endpoint in (None, endpoint):
                    return self._script.pop(index)
        return Reply()

    def _record(self, request: Request, body: Any) -> Recorded:
        recorded = Recorded(
            request.method,
            request.url.path,
            dict(request.query_params),
            {name.lower(): value for name, value in request.headers.items()},
            body,
        )
        with self._lock:
            self._requests.append(recorded)
        return recorded

    def _refusal(self, request: Request, body: Any, reply: Reply) -> Response | None:
        """The error response this request gets, if any: scripted, auth, model, api-version."""
        azure = "deployment" in request.path_params
        if reply.status >= 400:
            headers = dict(reply.headers)
            if reply.retry_after is not None:
                headers["retry-after"] = reply.retry_after
            message = reply.error or f"scripted error {reply.status}"
            return error_response(reply.status, message, reply.code, headers)
        if azure and "api-version" not in request.query_params:
            return error_response(400, "Missing required query parameter: api-version")
        if self.api_key is not None:
            header = request.headers.get("api-key" if azure else "authorization", "")
            if header.removeprefix("Bearer ") != self.api_key:
                return error_response(401, "Incorrect API key provided.")
        model = request.path_params.get("deployment") or body.get("model")
        if self.models is not None and model not in self.models:
            return error_response(
                404, f"The model `{model}` does not exist or you do not have access to it."
            )
        return None

    def _embed_body(self, body: dict[str, Any], model: str, _reply: Reply) -> Any:
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not texts or not all(isinstance(text, str) and text for text in texts):
            return error_response(400, "'$.input' is invalid: non-empty strings expected.")
        dims = self.force_dimensions or int(
            body.get("dimensions") or NATIVE_DIMENSIONS.get(model, self.default_dimensions)
        )
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        vectors = _random_unit_rows(len(texts), dims) if self.instant_vectors else None
        for index, text in enumerate(texts):
            vector = text_vector(text, dims) if vectors is None else vectors[index]
            if not self.unit_vectors:
                vector = vector * (1.0 + len(text) % 7)
            encoded: Any = vector.tolist()
            if as_base64:
                encoded = base64.b64encode(vector.astype("<f4").tobytes()).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = 0 if self.instant_vectors else sum(count_tokens(text) for text in texts)
        return {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _stream_ended(self, outcome: str) -> None:
        with self._lock:
            self.stream_outcomes.append(outcome)

    def _chat_response(self, body: dict[str, Any], model: str, reply: Reply) -> Any:
        messages = body.get("messages") or []
        content = reply.content if reply.content is not None else last_user_text(messages)
        chunks = reply.chunks if reply.chunks is not None else split_chunks(content)
        prompt = sum(count_tokens(message_text(message)) for message in messages)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": count_tokens("".join(chunks)),
            "total_tokens": prompt + count_tokens("".join(chunks)),
        }
        ident = f"chatcmpl-fake{time.monotonic_ns()}"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = stream_events(
                ident,
                model,
                chunks,
                reply,
                usage if include_usage else None,
                on_end=self._stream_ended,
            )
            return StreamingResponse(events, media_type="text/event-stream")
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": "".join(chunks), "refusal": None},
            "logprobs": None,
            "finish_reason": reply.finish_reason,
        }
        return {
            "id": ident,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [choice],
            "usage": usage,
            "system_fingerprint": "fp_fake",
        }


async def stream_events(
    ident: str,
    model: str,
    chunks: list[str],
    reply: Reply,
    usage: dict[str, int] | None,
    on_end: Callable[[str], None],
) -> AsyncIterator[bytes]:
    """OpenAI's chat.completion.chunk SSE stream; `on_end` learns how it ended."""

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        payload = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
            **extra,
        }
        if usage is not None:
            payload.setdefault("usage", None)
        return f"data: {json.dumps(payload)}\n\n".encode()

    def delta(content: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}]

    outcome = "cancelled"
    try:
        yield event(delta({"role": "assistant", "content": "", "refusal": None}))
        for number, piece in enumerate(chunks):
            if reply.drop_after is not None and number >= reply.drop_after:
                outcome = "dropped"
                # Raising inside the body makes uvicorn cut the connection mid-stream.
                raise ConnectionAbortedError("fake_openai: stream dropped as scripted")
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            yield event(delta({"content": piece}))
        if reply.stream_garbage is not None:
            yield f"data: {reply.stream_garbage}\n\n".encode()
        yield event(delta({}, reply.finish_reason))
        if usage is not None:
            yield event([], usage=usage)
        yield b"data: [DONE]\n\n"
        outcome = "finished"
    finally:
        on_end(outcome)


def error_response(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """OpenAI's error body shape."""
    error = {
        "message": message,
        "type": "invalid_request_error" if status < 500 else "server_error",
        "param": None,
        "code": code or _ERROR_CODES.get(status),
    }
    return JSONResponse({"error": error}, status_code=status, headers=headers)


@lru_cache(maxsize=65536)
def _word_direction(word: str, dims: int) -> bytes:
    seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(dims).astype(np.float32).tobytes()


def _random_unit_rows(count: int, dims: int) -> np.ndarray:
    rows = np.random.default_rng().standard_normal((count, dims)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def text_vector(text: str, dims: int) -> np.ndarray:
    """The fake's embedding: the normalised sum of per-word random directions."""
    words = re.findall(r"\w+", text.lower()) or [text]
    total = np.zeros(dims, dtype=np.float32)
    for word in words:
        total += np.frombuffer(_word_direction(word, dims), dtype=np.float32)
    return total / np.linalg.norm(total)


def count_tokens(text: str) -> int:
    return len(tiktoken.get_encoding("cl100k_base").encode(text, disallowed_special=()))


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    users = [message_text(m) for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""


def split_chunks(content: str) -> list[str]:
    """Words with their trailing spaces, like a model streaming a few tokens at a time."""
    return re.findall(r"\S+\s*|\s+", content)


def chat_settings(settings: Any, fake: FakeOpenAI, **overrides: Any) -> Any:
    """`settings` with a chat model (LLM_PROVIDER=openai, model `fake-chat`) on `fake`, no
    retries unless `overrides` say otherwise."""
    update = {
        "llm_provider": "openai",
        "llm_model": "fake-chat",
        "openai_base_url": fake.base_url,
        "llm_max_retries": 0,
        **overrides,
    }
    return settings.model_copy(update=update)


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    with ServerThread(fake.app) as running:
        fake.url = running.url
        yield fake


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The session's fake OpenAI server, reset; fails the test if a scripted reply was unused."""
    fake_openai_server.reset()
    yield fake_openai_server
    unused = fake_openai_server.pending
    fake_openai_server.reset()
    assert not unused, f"scripted replies never requested: {unused}"
