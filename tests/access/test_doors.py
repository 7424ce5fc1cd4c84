"""Every door has a leak-matrix case: the app's own route table (HTTP) and the MCP server's
tools and resources are enumerated, and each must name the test that tries it with keys of
the wrong group or scope. A new route or tool without one fails here until its case exists.
CLI commands acting for a key reach rows through the same services (tests/access/test_cli.py
and the MCP stdio transport in tests/access/test_mcp.py)."""

from __future__ import annotations

import importlib

import pytest
from fastapi.routing import iter_route_contexts

from app.config import load_settings
from app.main import create_app
from app.mcp_server import build_server

pytestmark = pytest.mark.anyio

LEAKS = "tests.access.test_leaks"
DENY = "tests.access.test_default_deny"
MCP = "tests.access.test_mcp"
RLS = "tests.access.test_rls"
SOURCES = "tests.access.test_sources::test_sources_obey_collections_and_groups"

# door -> the tests that try it as a key that must not see everything ("module::function")
CASES: dict[str, tuple[str, ...]] = {
    "GET /healthz": (f"{DENY}::test_public_doors_show_no_row",),
    "GET /readyz": (f"{DENY}::test_public_doors_show_no_row",),
    "GET /metrics": (f"{DENY}::test_public_doors_show_no_row",),
    "GET /": (f"{DENY}::test_public_doors_show_no_row",),
    "* /static": (f"{DENY}::test_public_doors_show_no_row",),
    "GET /docs": (f"{DENY}::test_public_doors_show_no_row",),
    "* /docs-assets": (f"{DENY}::test_public_doors_show_no_row",),
    "GET /docs/oauth2-redirect": (f"{DENY}::test_public_doors_show_no_row",),
    "GET /redoc": (f"{DENY}::test_public_doors_show_no_row",),
    "GET /openapi.json": (f"{DENY}::test_public_doors_show_no_row",),
    "GET /v1/collections": (
        f"{LEAKS}::test_collections_list_and_get",
        f"{DENY}::test_sizes_only_for_keys_that_see_every_row",
    ),
    "POST /v1/collections": (f"{DENY}::test_admin_doors_refuse_other_keys",),
    "GET /v1/collections/{collection}": (
        f"{LEAKS}::test_collections_list_and_get",
        f"{DENY}::test_sizes_only_for_keys_that_see_every_row",
    ),
    "DELETE /v1/collections/{collection}": (
        f"{LEAKS}::test_write_key_deletes_only_what_it_sees",
        f"{DENY}::test_admin_doors_refuse_other_keys",
    ),
    "GET /v1/collections/{collection}/export": (
        f"{DENY}::test_export_is_for_admins_and_a_forbidden_collection_looks_missing",
    ),
    "POST /v1/collections/{collection}/import": (f"{DENY}::test_import_is_for_admins",),
    "POST /v1/search": (f"{LEAKS}::test_search_never_returns_the_other_groups_rows",),
    "GET /v1/collections/{collection}/documents/{external_id:path}/similar": (
        f"{LEAKS}::test_similar_seed_and_results",
    ),
    "POST /v1/ask": (f"{LEAKS}::test_ask_json_and_stream",),
    "POST /v1/chat/completions": (f"{LEAKS}::test_chat_completions",),
    "GET /v1/models": (f"{LEAKS}::test_collections_list_and_get",),
    "POST /v1/collections/{collection}/documents": (
        f"{LEAKS}::test_write_key_deletes_only_what_it_sees",
        f"{DENY}::test_a_write_key_neither_replaces_nor_writes_what_it_cannot_read",
    ),
    "POST /v1/collections/{collection}/files": (
        "tests.access.test_upload::test_uploaded_files_carry_the_access_field",
    ),
    "GET /v1/collections/{collection}/documents/{document_id:path}": (
        f"{LEAKS}::test_documents_get_delete_and_jobs",
    ),
    "DELETE /v1/collections/{collection}/documents/{document_id:path}": (
        f"{LEAKS}::test_documents_get_delete_and_jobs",
        f"{LEAKS}::test_write_key_deletes_only_what_it_sees",
    ),
    "GET /v1/jobs/{job_id}": (
        f"{LEAKS}::test_documents_get_delete_and_jobs",
        f"{DENY}::test_jobs_obey_groups",
    ),
    "POST /v1/keys": (f"{DENY}::test_admin_doors_refuse_other_keys",),
    "GET /v1/keys": (
        f"{DENY}::test_admin_doors_refuse_other_keys",
        f"{RLS}::test_keys_list_never_shows_secrets_and_audit_records_actions",
    ),
    "DELETE /v1/keys/{name}": (f"{DENY}::test_admin_doors_refuse_other_keys",),
    "GET /v1/audit": (f"{DENY}::test_admin_doors_refuse_other_keys",),
    "POST /v1/sources": (SOURCES, "tests.access.test_sources::test_bad_sources_are_problems"),
    "GET /v1/sources": (SOURCES,),
    "GET /v1/sources/{name}": (SOURCES,),
    "POST /v1/sources/{name}/sync": (SOURCES,),
    "DELETE /v1/sources/{name}": (SOURCES,),
    "* /mcp": (f"{MCP}::test_mcp_tools_and_resources_never_leak_the_other_group",),
    "tool list_collections": (f"{MCP}::test_mcp_tools_and_resources_never_leak_the_other_group",),
    "tool search": (f"{MCP}::test_mcp_tools_and_resources_never_leak_the_other_group",),
    "tool ask": (f"{MCP}::test_mcp_tools_and_resources_never_leak_the_other_group",),
    "tool get_document": (f"{MCP}::test_mcp_tools_and_resources_never_leak_the_other_group",),
    "tool similar": (f"{MCP}::test_mcp_tools_and_resources_never_leak_the_other_group",),
    "resource pgask://collections/{name}": (
        f"{MCP}::test_mcp_tools_and_resources_never_leak_the_other_group",
    ),
    "resource pgask://collections/{name}/documents/{+id}": (
        f"{MCP}::test_mcp_tools_and_resources_never_leak_the_other_group",
    ),
}


def _http_doors() -> set[str]:
    app = create_app(load_settings(_env_file=None))
    doors = set()
    for context in iter_route_contexts(app.router.routes):
        methods = sorted(set(getattr(context.route, "methods", None) or ()) - {"HEAD"})
        for method in methods or ["*"]:
            doors.add(f"{method} {context.path}")
    return doors


async def _mcp_doors() -> set[str]:
    server = build_server(None)  # type: ignore[arg-type]  # only its table is read
    tools = {f"tool {t.name}" for t in await server.list_tools()}
    templates = {f"resource {t.uri_template}" for t in await server.list_resource_templates()}
    resources = {f"resource {r.uri}" for r in await server.list_resources()}
    return tools | templates | resources


async def test_every_door_has_a_leak_matrix_case() -> None:
    doors = _http_doors() | await _mcp_doors()
    assert doors - CASES.keys() == set(), "doors without a leak-matrix case: add one to CASES"
    assert CASES.keys() - doors == set(), "CASES names doors the app no longer has"


@pytest.mark.parametrize("case", sorted({c for cases in CASES.values() for c in cases}))
def test_each_case_exists(case: str) -> None:
    module, _, function = case.partition("::")
    assert callable(getattr(importlib.import_module(module), function, None)), case
