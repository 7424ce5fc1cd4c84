"""The fake OpenAI server's chat routes, read by the real `openai` client: other tests rely on
them behaving like the real API (chunk format, usage, Azure routing, scripted failures)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest

from tests.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.anyio

MESSAGES: list = [
    {"role": "system", "content": "Answer from the sources."},
    {"role": "user", "content": "What is pgvector?"},
]


@pytest.fixture
async def client(fake_openai: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        api_key="sk-test", base_url=fake_openai.base_url, max_retries=0
    ) as chat:
        yield chat


async def test_chat_echoes_the_question_with_usage(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    answer = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert answer.choices[0].message.content == "What is pgvector?"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "gpt-4o-mini"
    assert answer.usage is not None and answer.usage.completion_tokens > 0
    (request,) = fake_openai.requests
    assert request.path == "/v1/chat/completions" and request.json["messages"] == MESSAGES


async def test_chat_streams_scripted_content_in_openai_chunks(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake_openai.script(Reply(content="pgvector adds vector search [1].", endpoint="chat"))
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "pgvector adds vector search [1]."
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


async def test_chat_scripted_errors_and_dropped_streams(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake_openai.script(Reply(429, retry_after="7", endpoint="chat"))
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "7"

    fake_openai.script(Reply(chunks=["one ", "two ", "three"], drop_after=2))
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    received = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "one ", "two "]


async def test_azure_chat_route(fake_openai: FakeOpenAI) -> None:
    fake_openai.api_key = "az"
    async with openai.AsyncAzureOpenAI(
        azure_endpoint=fake_openai.url, api_key="az", api_version="2024-10-21", max_retries=0
    ) as azure:
        answer = await azure.chat.completions.create(model="my-gpt", messages=MESSAGES)
    assert answer.model == "my-gpt"
    (request,) = fake_openai.requests
    assert request.path == "/openai/deployments/my-gpt/chat/completions"
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == "az"
