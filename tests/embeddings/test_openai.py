"""The openai provider with the real `openai` client against the fake server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
import tiktoken

from app.config import Settings, load_settings
from app.embeddings import build_embedder
from app.embeddings.openai import OpenAIEmbedder, plan_batches, resolve_dimensions
from app.errors import ConfigError, InvalidInput, UpstreamError, UpstreamTimeout
from app.retry import RetryPolicy
from tests.fake_openai import FakeOpenAI, Reply, text_vector

pytestmark = pytest.mark.anyio

TEXTS = [f"passage number {n} about {topic}" for n, topic in enumerate("abcdefg")]
FAST = RetryPolicy(max_retries=3, base_delay=0.01)


def openai_settings(fake: FakeOpenAI, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "embedding_provider": "openai",
        "embedding_model": "text-embedding-3-small",
        "openai_base_url": fake.base_url,
        "openai_api_key": "sk-test",
        **overrides,
    }
    return load_settings(_env_file=None, **values)


@pytest.fixture
async def embedder(fake_openai: FakeOpenAI) -> AsyncIterator[Callable[..., OpenAIEmbedder]]:
    """Builds OpenAIEmbedders against the fake (64 dimensions unless overridden), closed
    afterwards."""
    built: list[OpenAIEmbedder] = []

    def make(retry: RetryPolicy = FAST, **overrides: Any) -> OpenAIEmbedder:
        settings = openai_settings(fake_openai, **({"embedding_dimensions": 64} | overrides))
        built.append(OpenAIEmbedder(settings.embeddings, settings.openai, retry=retry))
        return built[-1]

    yield make
    for model in built:
        await model.aclose()


Make = Callable[..., OpenAIEmbedder]


def expected(texts: list[str], dims: int) -> np.ndarray:
    return np.stack([text_vector(text, dims) for text in texts])


async def test_factory_builds_it_and_vectors_are_unit_float32_in_order(
    fake_openai: FakeOpenAI,
) -> None:
    built = build_embedder(openai_settings(fake_openai))
    assert isinstance(built, OpenAIEmbedder)
    assert (built.provider, built.model, built.dimensions) == (
        "openai",
        "text-embedding-3-small",
        1536,
    )
    vectors = await built.embed_documents(TEXTS)
    await built.aclose()
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected(TEXTS, 1536), atol=1e-6)
    (request,) = fake_openai.requests
    assert request.path == "/v1/embeddings"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert "dimensions" not in request.json  # not set: the model's native size, not sent
    assert request.json["encoding_format"] == "base64"


async def test_batches_by_count_run_concurrently_and_keep_order(
    fake_openai: FakeOpenAI, embedder: Make
) -> None:
    # The first request answers last: the result must still be in input order.
    fake_openai.script(Reply(delay=0.3))
    model = embedder(embedding_batch_size=3, embedding_max_concurrency=2)
    told: list[int] = []  # progress: each request's inputs, as it is answered
    vectors = await model.embed_documents(TEXTS, told.append)
    np.testing.assert_allclose(vectors, expected(TEXTS, 64), atol=1e-6)
    batches = [request.inputs for request in fake_openai.requests]
    assert sorted(map(len, batches), reverse=True) == [3, 3, 1]
    assert sorted(told) == [1, 3, 3]
    assert sorted(text for batch in batches for text in batch) == sorted(TEXTS)
    assert all(request.json["dimensions"] == 64 for request in fake_openai.requests)
    assert fake_openai.max_in_flight == 2


async def test_batches_are_bounded_by_tokens(fake_openai: FakeOpenAI, embedder: Make) -> None:
    encoding = tiktoken.get_encoding("cl100k_base")
    counts = [len(encoding.encode(text)) for text in TEXTS]
    budget = max(counts) * 2  # two or three texts per request, never more tokens than this
    model = embedder(embedding_max_batch_tokens=budget)
    await model.embed_documents(TEXTS)
    requests = fake_openai.requests
    assert len(requests) > 1
    for request in requests:
        assert sum(len(encoding.encode(text)) for text in request.inputs) <= budget


def test_plan_batches_sends_an_oversized_text_alone() -> None:
    assert list(plan_batches([5, 50, 5, 5, 5], max_inputs=2, max_tokens=20)) == [
        range(0, 1),
        range(1, 2),
        range(2, 4),
        range(4, 5),
    ]


async def test_retries_429_then_succeeds(fake_openai: FakeOpenAI, embedder: Make) -> None:
    fake_openai.script(Reply(429, retry_after="0"), Reply(503))
    vectors = await embedder().embed_documents(TEXTS[:2])
    assert vectors.shape == (2, 64)
    requests = fake_openai.requests
    assert [r.status for r in requests] == [429, 503, 200]
    assert all(r.inputs == TEXTS[:2] for r in requests)


async def test_retry_after_decides_the_wait(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture, embedder: Make
) -> None:
    # Our own backoff would wait ~100 s; the server asks for 0.2 s and that is what we wait.
    slow_backoff = RetryPolicy(max_retries=2, base_delay=200)
    fake_openai.script(Reply(429, retry_after="0.2"))
    with caplog.at_level(logging.WARNING, logger="app.retry"):
        await embedder(retry=slow_backoff).embed_documents(["x"])
    (line,) = [r.getMessage() for r in caplog.records if "retry 1/2" in r.getMessage()]
    waited = float(re.search(r"in ([0-9.]+)s", line).group(1))  # type: ignore[union-attr]
    assert 0.2 <= waited <= 0.3
    assert "429" in line and "text-embedding-3-small" in line


async def test_retry_after_longer_than_allowed_gives_up_at_once(
    fake_openai: FakeOpenAI, embedder: Make
) -> None:
    fake_openai.script(Reply(429, retry_after="3600"))
    with pytest.raises(UpstreamError, match="retry after 3600s"):
        await embedder().embed_documents(["x"])
    assert len(fake_openai.requests) == 1


async def test_gives_up_after_max_retries(fake_openai: FakeOpenAI, embedder: Make) -> None:
    fake_openai.script(*[Reply(500, error="overloaded")] * 4)
    with pytest.raises(UpstreamError) as caught:
        await embedder().embed_documents(["x"])
    assert caught.value.status == 502
    assert "answered 500: overloaded" in str(caught.value)
    assert "text-embedding-3-small" in str(caught.value)
    assert len(fake_openai.requests) == 1 + FAST.max_retries


async def test_timeout_is_retried_then_reported(fake_openai: FakeOpenAI, embedder: Make) -> None:
    fake_openai.script(Reply(delay=1.0))
    model = embedder(embedding_timeout=0.2)
    assert (await model.embed_documents(["x"])).shape == (1, 64)
    assert len(fake_openai.requests) == 2

    fake_openai.script(*[Reply(delay=1.0)] * 2)
    once = embedder(retry=RetryPolicy(max_retries=1), embedding_timeout=0.2)
    with pytest.raises(UpstreamTimeout, match="did not answer in time"):
        await once.embed_documents(["x"])


async def test_wrong_key_is_a_clear_config_error(fake_openai: FakeOpenAI, embedder: Make) -> None:
    fake_openai.api_key = "sk-right"
    with pytest.raises(ConfigError) as caught:
        await embedder(openai_api_key="sk-wrong").embed_documents(["x"])
    message = str(caught.value)
    assert message.startswith("OPENAI_API_KEY: ")
    assert "rejected the key (401)" in message
    assert "'text-embedding-3-small'" in message and fake_openai.base_url in message
    assert len(fake_openai.requests) == 1  # not retried


def test_missing_key_for_openai_itself_is_a_config_error() -> None:
    settings = load_settings(_env_file=None, embedding_provider="openai")
    with pytest.raises(ConfigError, match=r"^OPENAI_API_KEY: must be set"):
        build_embedder(settings)


async def test_unknown_model_is_a_clear_config_error(
    fake_openai: FakeOpenAI, embedder: Make
) -> None:
    fake_openai.models = {"text-embedding-3-small"}
    with pytest.raises(ConfigError) as caught:
        await embedder(embedding_model="no-such-model").embed_documents(["x"])
    assert str(caught.value).startswith("EMBEDDING_MODEL: ")
    assert "'no-such-model'" in str(caught.value) and "(404)" in str(caught.value)
    # Without EMBEDDING_DIMENSIONS the start-up probe finds it out already.
    with pytest.raises(ConfigError, match="no such model"):
        embedder(embedding_model="no-such-model", embedding_dimensions=None)


async def test_unknown_model_dimensions_are_probed_once(
    fake_openai: FakeOpenAI, embedder: Make
) -> None:
    fake_openai.default_dimensions = 48
    fake_openai.unit_vectors = False  # like some local servers: we normalise
    model = embedder(embedding_model="nomic-embed-text", embedding_dimensions=None)
    assert model.dimensions == 48
    assert model.max_input_tokens is None and model.count_tokens("x") is None
    vectors = await model.embed_documents(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    probe, request = fake_openai.requests
    assert probe.inputs == ["dimension probe"] and request.inputs == TEXTS
    assert "dimensions" not in request.json


async def test_the_probe_retries_as_every_call_does(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture, embedder: Make
) -> None:
    fake_openai.script(Reply(429, retry_after="0"))
    with caplog.at_level(logging.WARNING, logger="app.retry"):
        model = embedder(embedding_model="nomic-embed-text", embedding_dimensions=None)
    assert model.dimensions == fake_openai.default_dimensions
    assert [r.status for r in fake_openai.requests] == [429, 200]
    assert any("retry 1/3" in r.getMessage() for r in caplog.records)  # our policy's, FAST


async def test_vectors_of_the_wrong_length_are_refused(
    fake_openai: FakeOpenAI, embedder: Make
) -> None:
    fake_openai.force_dimensions = 32  # a server that ignores `dimensions`
    with pytest.raises(UpstreamError, match=r"32-dimensional vectors .* expected 64"):
        await embedder(embedding_model="mxbai-embed-large").embed_documents(["x"])


async def test_azure_routing(fake_openai: FakeOpenAI) -> None:
    fake_openai.api_key = "azure-key"
    settings = openai_settings(
        fake_openai,
        openai_base_url=None,
        openai_api_key=None,
        embedding_model="my-embedding-deployment",
        azure_openai_endpoint=fake_openai.url,
        azure_openai_api_key="azure-key",
        azure_openai_api_version="2024-10-21",
    )
    model = build_embedder(settings)
    await model.embed_documents(TEXTS[:2])
    await model.aclose()
    assert model.dimensions == fake_openai.default_dimensions  # probed
    for request in fake_openai.requests:
        assert request.path == "/openai/deployments/my-embedding-deployment/embeddings"
        assert request.query["api-version"] == "2024-10-21"
        assert request.headers["api-key"] == "azure-key"
        assert "authorization" not in request.headers


async def test_documents_over_the_limit_are_refused_and_queries_cut(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture, embedder: Make
) -> None:
    model = embedder()
    long_text = " ".join(["word"] * 9000)
    assert model.count_tokens(long_text) == 9000
    with pytest.raises(InvalidInput, match=r"9000 tokens is longer than .* limit of 8191"):
        await model.embed_documents(["short", long_text])
    assert fake_openai.requests == []
    with caplog.at_level(logging.WARNING, logger="app.embeddings.openai"):
        await model.embed_query(long_text)
    assert "query is 9000 tokens" in caplog.text
    (request,) = fake_openai.requests
    assert model.count_tokens(request.inputs[0]) == 8191


@pytest.mark.parametrize(
    ("model", "requested", "outcome"),
    [
        ("text-embedding-3-small", None, (1536, False)),
        ("text-embedding-3-large", 256, (256, True)),
        ("text-embedding-ada-002", 1536, (1536, False)),
        ("llama-embed", 1024, (1024, True)),
        ("llama-embed", None, (None, False)),
    ],
)
def test_resolve_dimensions(model: str, requested: int | None, outcome: tuple) -> None:
    from app.embeddings.openai import KNOWN_MODELS

    assert resolve_dimensions(model, KNOWN_MODELS.get(model), requested) == outcome


@pytest.mark.parametrize(
    ("model", "requested", "message"),
    [
        ("text-embedding-ada-002", 512, "only makes 1536-dimensional"),
        ("text-embedding-3-small", 4096, "at most 1536"),
    ],
)
def test_impossible_dimensions_are_config_errors(model: str, requested: int, message: str) -> None:
    from app.embeddings.openai import KNOWN_MODELS

    with pytest.raises(ConfigError, match=f"^EMBEDDING_DIMENSIONS: .*{message}"):
        resolve_dimensions(model, KNOWN_MODELS[model], requested)


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("{not json at all", "no embeddings list"),
        ('{"object": "list"}', "no embeddings list"),
        ('{"data": [{"index": 0, "embedding": 42}]}', "no embeddings list"),
        ('{"data": []}', "returned 0 vectors for 1 inputs"),
    ],
)
async def test_an_answer_without_vectors_is_an_upstream_error(
    fake_openai: FakeOpenAI, embedder: Make, answer: str, says: str
) -> None:
    fake_openai.script(Reply(raw=answer, endpoint="embeddings"))
    with pytest.raises(UpstreamError, match=says):
        await embedder().embed_documents(["x"])


async def test_vectors_sent_as_floats_out_of_order_come_back_in_input_order(
    fake_openai: FakeOpenAI, embedder: Make
) -> None:
    rows = expected(TEXTS[:2], 64)
    data = [{"index": i, "embedding": rows[i].tolist()} for i in (1, 0)]
    fake_openai.script(Reply(raw=json.dumps({"data": data}), endpoint="embeddings"))
    vectors = await embedder().embed_documents(TEXTS[:2])
    np.testing.assert_allclose(vectors, rows, atol=1e-6)


async def test_short_texts_fill_requests_and_every_request_keeps_the_token_budget(
    fake_openai: FakeOpenAI, embedder: Make
) -> None:
    """Texts short enough in bytes are not tokenized (their bytes bound their tokens); the
    long ones are, so the budget holds for texts in any script."""
    encoding = tiktoken.get_encoding("cl100k_base")
    texts = ["naïve café", "東京の天気", "emoji 🙂🙂", *TEXTS, "long " * 40 + "東京" * 20]
    budget = 200
    model = embedder(embedding_batch_size=4, embedding_max_batch_tokens=budget)
    await model.embed_documents(texts)
    sent = [request.inputs for request in fake_openai.requests]
    assert sorted(t for inputs in sent for t in inputs) == sorted(texts)
    for inputs in sent:
        assert sum(len(encoding.encode(text)) for text in inputs) <= budget
    assert len(sent) == 3  # 4 + 4 short texts (at most 50 bytes each), then 2 with the long one
