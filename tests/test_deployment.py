"""docker-compose.yaml and the Dockerfile cannot run here (no Docker engine), so they are
checked by reading them against .env.example and the Settings they feed."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.config import ENVIRONMENT, Settings

ROOT = Path(__file__).resolve().parent.parent
DESIGN_VARIABLES = {
    "DATABASE_URL",
    "PGASK_DATA_DIR",
    "EMBEDDING_PROVIDER",
    "EMBEDDING_MODEL",
    "EMBEDDING_MODEL_PATH",
    "EMBEDDING_DIMENSIONS",
    "LLM_PROVIDER",
    "LLM_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_API_VERSION",
    "PGASK_API_KEYS",
    "PGASK_LOG_SQL",
    "DATABASE_READ_URLS",
    "PGASK_REPLICA_MAX_LAG_SECONDS",
    "PGASK_READ_WAIT_MS",
}


def _env_example() -> dict[str, str]:
    pairs = re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (ROOT / ".env.example").read_text(), re.M)
    return dict(pairs)


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_env_example_documents_every_design_variable_with_a_comment() -> None:
    example = _env_example()
    assert set(example) >= DESIGN_VARIABLES
    text = (ROOT / ".env.example").read_text()
    for name in example:
        before = text.split(f"\n{name}=", 1)[0].rstrip().splitlines()[-1]
        assert before.startswith("#"), f"{name} has no comment above it"


def test_env_example_names_real_settings_and_its_values_load() -> None:
    fields = set(ENVIRONMENT)
    example = _env_example()
    assert set(example) <= fields
    values = {k.lower(): v for k, v in example.items() if v}
    Settings.model_validate(values)  # the documented defaults are valid settings


def test_compose_db_service() -> None:
    db = _compose()["services"]["db"]
    image, _, tag = db["image"].partition(":")
    assert image == "pgvector/pgvector"
    assert re.fullmatch(r"pg1[78]", tag)
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.startswith("pgdata:") for v in db["volumes"])
    assert "pgdata" in _compose()["volumes"]


def test_compose_app_service_matches_env_example() -> None:
    compose = _compose()
    app = compose["services"]["app"]
    assert app["build"] == "."
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["env_file"][0]["path"] == ".env"
    example = _env_example()
    for name in app["environment"]:
        assert name in example, f"compose sets {name}, which .env.example does not document"
    db_env = compose["services"]["db"]["environment"]
    url = app["environment"]["DATABASE_URL"]
    assert url == (
        f"postgresql://{db_env['POSTGRES_USER']}:{db_env['POSTGRES_PASSWORD']}"
        f"@db:5432/{db_env['POSTGRES_DB']}"
    )
    port = app["environment"]["PGASK_PORT"]
    assert f"127.0.0.1:{port}:{port}" in app["ports"]
    Settings(_env_file=None, database_url=url, pgask_port=port)


def test_compose_db_replica_streams_from_db_and_serves_the_apps_reads() -> None:
    compose = _compose()
    db, replica = compose["services"]["db"], compose["services"]["db-replica"]
    assert replica["image"] == db["image"]
    assert replica["depends_on"]["db"]["condition"] == "service_healthy"
    clone = " ".join(replica["command"])
    user, password = db["environment"]["POSTGRES_USER"], db["environment"]["POSTGRES_PASSWORD"]
    assert f"pg_basebackup -h db -U {user} " in clone
    assert " -R " in clone  # standby.signal and primary_conninfo: it starts as a standby
    assert "exec postgres" in clone
    assert replica["environment"]["PGPASSWORD"] == password
    assert any(v.startswith("pgdata-replica:") for v in replica["volumes"])
    # db lets it connect for replication (its init script adds the pg_hba.conf line).
    (init,) = db["configs"]
    assert init["target"].startswith("/docker-entrypoint-initdb.d/")
    assert "host replication all all" in compose["configs"][init["source"]]["content"]
    read_url = compose["services"]["app"]["environment"]["DATABASE_READ_URLS"]
    assert (
        read_url
        == f"postgresql://{user}:{password}@db-replica:5432/{db['environment']['POSTGRES_DB']}"
    )
    settings = Settings(_env_file=None, database_read_urls=read_url)
    assert settings.replicas.urls == (read_url,)


def test_dockerfile_installs_the_package_and_serves() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("app", "ingest", "migrations"):
        assert f"COPY {folder} ./{folder}" in dockerfile
    assert re.search(r"^RUN .*?pip install \.( |$)", dockerfile, re.M | re.S)
    # git sources read repositories through the git CLI
    assert "apt-get install -y --no-install-recommends git" in dockerfile
    assert 'CMD ["pgask", "serve"]' in dockerfile
    assert "USER pgask" in dockerfile
