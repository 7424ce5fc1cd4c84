"""Citation markers the model invents ([99] of three sources, [0], [-1]) are taken out of
the answer's text, in JSON answers, SSE streams (markers split across deltas) and chat
completions, as well as out of `citations`."""

from __future__ import annotations

import httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rag.citations import CitationFilter
from tests.fake_openai import FakeOpenAI, Reply
from tests.rag.test_ask import corpus, llm_url  # noqa: F401  (fixtures)
from tests.servers import sse_events

# Split inside "[9|9]", "[|0]" and "[-|1]": a stream must not send half a marker.
PIECES = ["Paris is the capital [", "1] [9", "9]. See also [", "0", "][-", "1]. Done [1, 99]."]
CLEAN = "Paris is the capital [1]. See also. Done [1]."
UNTOUCHED = [  # code, and brackets that are no citation
    "Code `items[0]` and\n```\nx = a[99]\n```\n",
    "Index x[0] stays; [link](url) too; [ 1 ] too.",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("".join(PIECES), CLEAN),
        ("Cited [1][2] and [3-4] and [2, 5].", "Cited [1][2] and [3] and [2]."),
        ("Nothing [0], nothing [-1], nothing [100].", "Nothing, nothing, nothing."),
        (
            "Code `items[0]` and\n```\nx = a[99]\n```\n",
            "Code `items[0]` and\n```\nx = a[99]\n```\n",
        ),
        (
            "Index x[0] stays; [link](url) too; [ 1 ] too.",
            "Index x[0] stays; [link](url) too; [ 1 ] too.",
        ),
        ("Open at the end [9", "Open at the end [9"),
    ],
)
def test_markers_naming_no_source_are_taken_out(text: str, expected: str) -> None:
    cleaner = CitationFilter({1, 2, 3})
    assert cleaner.feed(text) + cleaner.finish() == expected


@given(
    text=st.text(alphabet="ab [],-0123456789`\n ", max_size=80),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=10),
)
def test_any_split_of_a_stream_sends_the_whole_answer_cleaned(text: str, cuts: list[int]) -> None:
    whole = CitationFilter({1, 2, 3})
    expected = whole.feed(text) + whole.finish()
    pieces = [
        text[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(text)], strict=True)
    ]
    streamed = CitationFilter({1, 2, 3})
    assert "".join(streamed.feed(p) for p in pieces) + streamed.finish() == expected


def test_json_answers(llm_url: str, corpus: str, fake_openai: FakeOpenAI) -> None:  # noqa: F811
    fake_openai.script(Reply(content="".join(PIECES), endpoint="chat"))
    body = httpx.post(
        f"{llm_url}/v1/ask", json={"collection": corpus, "question": "capital of France?"}
    ).json()
    assert body["answer"] == CLEAN
    assert [c["n"] for c in body["citations"]] == [1]


def test_sse_streams(llm_url: str, corpus: str, fake_openai: FakeOpenAI) -> None:  # noqa: F811
    fake_openai.script(Reply(chunks=PIECES, endpoint="chat"))
    response = httpx.post(
        f"{llm_url}/v1/ask",
        json={"collection": corpus, "stream": True, "question": "capital of France?"},
    )
    events = sse_events(response)
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert "".join(deltas) == CLEAN
    assert not any("9" in delta or "[-" in delta or "[0" in delta for delta in deltas), deltas
    done = events[-1][1]
    assert done["answer"] == CLEAN and [c["n"] for c in done["citations"]] == [1]


def test_chat_completions(llm_url: str, corpus: str, fake_openai: FakeOpenAI) -> None:  # noqa: F811
    client = openai.OpenAI(base_url=f"{llm_url}/v1", api_key="unused")
    fake_openai.script(Reply(content="".join(PIECES), endpoint="chat"))
    reply = client.chat.completions.create(
        model=corpus, messages=[{"role": "user", "content": "capital of France?"}]
    )
    assert (reply.choices[0].message.content or "").startswith(CLEAN)
    fake_openai.script(Reply(chunks=PIECES, endpoint="chat"))
    stream = client.chat.completions.create(
        model=corpus, messages=[{"role": "user", "content": "capital of France?"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text.startswith(CLEAN) and "[9" not in text and "[0]" not in text
