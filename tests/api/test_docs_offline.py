"""/docs (Swagger UI) and /redoc work offline: every script, style and icon they load is
served by pgask itself, none from a CDN."""

from __future__ import annotations

import re

import httpx
import pytest

from app.main import DOCS_ASSETS

# src="...", href="...", ReDoc's spec-url="...", and Swagger UI's url: '...' (the schema)
_REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_only_local_assets(client: httpx.Client, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assert "http://" not in html.text and "https://" not in html.text, html.text
    references = {a or b for a, b in _REFERENCE.findall(html.text)}
    assets = {ref for ref in references if ref.startswith(DOCS_ASSETS + "/")}
    assert assets, html.text  # the page's script at least
    assert "/openapi.json" in references
    for ref in sorted(references):
        served = client.get(ref)
        assert served.status_code == 200, ref
        assert served.content, ref
    scripts = [ref for ref in assets if ref.endswith(".js")]
    assert all(len(client.get(ref).content) > 100_000 for ref in scripts)  # the real bundles
