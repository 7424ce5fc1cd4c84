"""Shared fixtures: one real embedded PostgreSQL + pgvector per test session, migrated once,
and real HTTP servers (uvicorn on 127.0.0.1) for the app under test.

When `../shared` is present (developers, CI) the offline model and tiktoken cache are used,
so `pytest` needs no network and no environment set by hand.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from pgvector.psycopg import register_vector_async
from psycopg import sql as pgsql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
_MODEL = SHARED / "models" / "all-MiniLM-L6-v2-onnx"
_TIKTOKEN = SHARED / "tiktoken"

if _MODEL.is_dir():
    os.environ.setdefault("EMBEDDING_MODEL_PATH", str(_MODEL))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
if _TIKTOKEN.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_TIKTOKEN))
# Tests never read a developer's .env or data dir, nor talk to a real OpenAI.
for _name in (
    "DATABASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "PGASK_API_KEYS",
    "PGASK_DATA_DIR",
):
    os.environ.pop(_name, None)

from app.catalog import create_collection  # noqa: E402
from app.config import Settings, load_settings  # noqa: E402
from app.db import migrate  # noqa: E402
from app.db.database import Database  # noqa: E402
from app.db.embedded import database_url  # noqa: E402
from app.db.models import Collection  # noqa: E402
from app.embeddings import Embedder, build_embedder  # noqa: E402
from app.embeddings.base import ModelSpec  # noqa: E402
from tests.fake_openai import fake_openai, fake_openai_server  # noqa: E402, F401
from tests.servers import ServerThread  # noqa: E402

# The slow tier: tests whose subject is a process boundary, a fault, a browser, a fuzzer or a
# benchmark (they start `pgask` processes, kill servers, make replicas, drive Chromium).
# `pytest -m "not slow"` is the everyday tier; `pytest` (and CI) runs both. A module goes
# here when what it tests needs its own processes; one that only uses the session's server
# and in-process clients stays in the fast tier. Entries are node id prefixes: a module, or
# the tests of one whose subject is the process (MCP over stdio, argv bytes); the MCP tests
# run over both transports mark their stdio case slow in tests/mcp/conftest.py.
SLOW_TIER = (
    "tests/bench/",
    "tests/reliability/",
    "tests/sources/test_git_daemon.py",
    "tests/sources/test_kill.py",
    "tests/web/",
    "tests/deploy/",
    "tests/access/test_mcp.py",
    "tests/access/test_revocation.py",
    "tests/api/test_replicas.py",
    "tests/api/test_slow_clients.py",
    "tests/db/test_backup.py",
    "tests/embeddings/test_local_offline.py",
    "tests/ingest/test_bounded_memory.py",
    "tests/ingest/test_cli.py",
    "tests/ingest/test_huge_document.py",
    "tests/mcp/test_stdio.py",
    "tests/mcp/test_keys.py::test_stdio_",
    "tests/mcp/test_errors.py::test_a_call_cancelled_over_stdio_",
    "tests/ingest/test_bad_text.py::test_pgask_ingest_refuses_the_same_lines",
    "tests/ingest/test_bad_text.py::test_cli_arguments_and_filters_that_are_not_text_",
    "tests/ingest/test_parts.py::test_spawned_workers_skip_the_main_script",
    "tests/test_cli.py",
    "tests/test_cli_schema.py",
    "tests/test_cli_start.py",
    "tests/test_readme.py",
    "tests/test_serve_logs.py",
    "tests/test_serve_workers.py",
    "tests/test_tempdir.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW_TIER):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pgask-data")


@pytest.fixture(scope="session")
def db_url(data_dir: Path) -> str:
    """The embedded server's URL, migrated to head."""
    url = database_url(load_settings(pgask_data_dir=data_dir, _env_file=None))
    migrate.upgrade(url)
    return url.render_as_string(hide_password=False)


class Databases:
    """More databases on the session's server, each with a name of its own: empty, migrated
    to a revision, or to head. Head is cloned from a template migrated once per session
    (`CREATE DATABASE ... TEMPLATE` copies files; running the migrations takes seconds)."""

    def __init__(self, admin_dsn: str, session_url: str) -> None:
        self._admin_dsn, self._url = admin_dsn, make_url(session_url)
        self._template: str | None = None
        self._made: list[str] = []

    def create(self, revision: str | None = "head", prefix: str = "pgask_t") -> str:
        """A new database's SQLAlchemy URL; `revision` None: empty."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        template = self._head_template() if revision == "head" else None
        create = pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name))
        if template is not None:
            create += pgsql.SQL(" TEMPLATE {}").format(pgsql.Identifier(template))
        self._admin(create)
        self._made.append(name)
        url = self._url.set(database=name)
        if revision is not None and template is None:
            migrate.upgrade(url, revision)
        return url.render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database or ""
        self._admin(
            pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name))
        )

    def drop_all(self) -> None:
        for name in [*self._made, *([self._template] if self._template else [])]:
            self._admin(
                pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name))
            )

    def _head_template(self) -> str:
        if self._template is None:
            name = f"pgask_template_{uuid.uuid4().hex[:8]}"
            self._admin(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
            migrate.upgrade(self._url.set(database=name))  # its engine holds no connection after
            self._template = name
        return self._template

    def _admin(self, statement: pgsql.Composed) -> None:
        with psycopg.connect(self._admin_dsn, autocommit=True) as admin:
            admin.execute(statement)


@pytest.fixture(scope="session")
def databases(db_url: str) -> Iterator[Databases]:
    """New databases on the session's server, dropped at the end of the session."""
    made = Databases(db_url.replace("postgresql+psycopg://", "postgresql://"), db_url)
    yield made
    made.drop_all()


@pytest.fixture(scope="session")
def settings(db_url: str) -> Settings:
    """Test settings. Servers built from them run no in-server ingest worker: many test
    servers share the database, and a job must be run by the server its test watches."""
    return load_settings(database_url=db_url, pgask_ingest_worker=False, _env_file=None)


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[ServerThread]:
    """pgask served over real HTTP on 127.0.0.1 for the whole session."""
    from app.main import create_app

    with ServerThread(create_app(settings)) as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.fixture
def collection_name() -> str:
    """A fresh collection name, so tests sharing the session database never collide."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    """The local model, loaded once per session (a load takes a second or more)."""
    return build_embedder(settings)


MINILM = ModelSpec("local", "sentence-transformers/all-MiniLM-L6-v2", 384, 256)


@pytest.fixture(scope="session")
def pg_dsn(db_url: str) -> str:
    """The test database as a libpq connection string, for psycopg.connect()."""
    return db_url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
async def conn(pg_dsn: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(pg_dsn) as connection:
        await register_vector_async(connection)
        yield connection


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    db = Database(make_url(settings.database_url or ""), settings)
    try:
        async with db.owner_session() as db_session:
            yield db_session
    finally:
        await db.dispose()


@pytest.fixture
async def collection(session: AsyncSession, collection_name: str) -> Collection:
    """A new, empty collection pinned to MiniLM (384 dimensions)."""
    return await create_collection(session, MINILM, name=collection_name)
