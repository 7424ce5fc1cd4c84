from pathlib import Path

import pytest

from app.config import load_settings
from app.errors import ConfigError


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"embedding_provider": "bogus"}, "EMBEDDING_PROVIDER"),
        ({"llm_provider": "gpt"}, "LLM_PROVIDER"),
        ({"database_url": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"openai_base_url": "localhost:11434"}, "OPENAI_BASE_URL"),
        ({"embedding_model_path": "/nonexistent/model"}, "EMBEDDING_MODEL_PATH"),
        ({"embedding_dimensions": 0}, "EMBEDDING_DIMENSIONS"),
    ],
)
def test_bad_value_names_the_variable_in_one_line(overrides: dict, variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, **overrides)
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message


def test_reads_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("LLM_PROVIDER=openai\nLLM_MODEL=llama3\nPGASK_LOG_SQL=1\n")
    settings = load_settings(_env_file=env)
    assert (settings.llm_provider, settings.llm_model, settings.pgask_log_sql) == (
        "openai",
        "llama3",
        True,
    )


def test_accepts_both_postgres_url_spellings() -> None:
    for url in ("postgresql://u:p@db:5432/pgask", "postgresql+psycopg://u:p@db/pgask"):
        assert load_settings(_env_file=None, database_url=url).database_url == url


def test_data_dir_defaults_to_user_data_dir(tmp_path: Path) -> None:
    assert load_settings(_env_file=None).data_dir.name == "pgask"
    assert load_settings(_env_file=None, pgask_data_dir=tmp_path).data_dir == tmp_path.resolve()


def test_api_key_is_secret() -> None:
    settings = load_settings(_env_file=None, openai_api_key="sk-secret")
    assert "sk-secret" not in repr(settings)


def test_a_malformed_read_url_fails_in_one_line_naming_it_without_its_password() -> None:
    urls = "postgresql://r:s3cret@replica1:5432/pgask, mysql://r:hunter2@replica2/pgask"
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, database_read_urls=urls)
    message = str(caught.value)
    assert message.startswith("DATABASE_READ_URLS: entry 2 (mysql://r:***@replica2/pgask) ")
    assert "\n" not in message and "hunter2" not in message and "s3cret" not in message


def test_read_urls_are_split_and_trimmed() -> None:
    urls = " postgresql://r@a/pgask ,postgresql://r@b:5433/pgask,"
    settings = load_settings(_env_file=None, database_read_urls=urls)
    assert settings.read_urls == ["postgresql://r@a/pgask", "postgresql://r@b:5433/pgask"]


@pytest.mark.parametrize(
    "entry",
    [
        "S3cretWithoutAnyColon-0123456789",  # no name at all
        "alice S3cretAfterASpace-0123456789",  # a space where the colon goes
        ":S3cretWithAnEmptyName-0123456789",
    ],
)
def test_a_malformed_key_entry_is_never_echoed(entry: str) -> None:
    """`pgask collections` refuses the entry in one line naming its place."""
    from tests.cli import env_without_pgask_settings, pgask_in_process

    run = pgask_in_process(
        ["collections"], env_without_pgask_settings(PGASK_API_KEYS=f"ok:{'k' * 16},{entry}")
    )
    assert run.returncode != 0
    assert "S3cret" not in run.stdout + run.stderr
    assert "PGASK_API_KEYS: entry number 2 must look like name:key" in run.stderr
