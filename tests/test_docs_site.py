"""The docs site documents what the code has: every setting on the configuration page and in
`.env.example`, and every page the site's navigation names exists."""

from __future__ import annotations

import re

from app.config import ENVIRONMENT
from tests.cli import ROOT

# Set by `pgask serve --workers N` for its own workers, not by users.
INTERNAL = {"PROMETHEUS_MULTIPROC_DIR"}


def test_every_setting_is_documented() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = set(ENVIRONMENT)
    assert sorted(n for n in names if f"`{n}`" not in page) == []
    assert sorted(n for n in names - INTERNAL if f"{n}=" not in example) == []


def test_the_navigation_names_existing_pages() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:", 1)[1]
    pages = re.findall(r"([\w./-]+\.md)\s*$", nav, flags=re.MULTILINE)
    assert len(pages) > 30
    assert [p for p in pages if not (ROOT / "docs" / p).is_file()] == []
