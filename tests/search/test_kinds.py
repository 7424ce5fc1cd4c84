"""Which document kinds default search and answers leave out."""

from __future__ import annotations

from typing import Any

from app.search.kinds import about_versions, default_kinds

LINKS_OUT = {"doc_kind": {"$nin": ["links"]}}
ANSWER_OUT = {"doc_kind": {"$nin": ["links", "changelog"]}}


def test_default_search_leaves_link_pages_out_unless_the_filter_names_the_kind() -> None:
    assert default_kinds(None) == LINKS_OUT
    assert default_kinds({"lang": "en"}) == {"lang": "en", **LINKS_OUT}
    assert default_kinds({"doc_kind": "links"}) == {"doc_kind": "links"}
    nested = {"$or": [{"metadata.doc_kind": "links"}, {"lang": "en"}]}
    assert default_kinds(nested) == nested
    not_an_object: Any = ["a", "list"]  # left for validation to refuse, by its own path
    assert default_kinds(not_an_object) is not_an_object


def test_changelogs_are_left_out_unless_the_query_is_about_versions() -> None:
    assert default_kinds(None, "how do I add CORS?") == ANSWER_OUT
    assert default_kinds({"lang": "en"}, "upload a file") == {"lang": "en", **ANSWER_OUT}
    for question in (
        "what changed in 3.11?",
        "which version added TaskGroup",
        "is asyncio.get_event_loop deprecated",
        "release notes for 0.100",
        "What's new in Python",
    ):
        assert about_versions(question), question
        assert default_kinds(None, question) == LINKS_OUT
    assert default_kinds({"doc_kind": "changelog"}, "cors") == {"doc_kind": "changelog"}
