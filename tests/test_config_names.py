"""Every environment variable reaches its place in the nested settings, by the one table."""

from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel, SecretStr

from app.config import ENVIRONMENT, Settings, load_settings
from app.errors import ConfigError

KEY = "alice:" + "k" * 24
# values a type alone cannot give (formats the groups check)
SPECIAL = {
    "DATABASE_URL": "postgresql://u:p@db:5432/pgask",
    "DATABASE_READ_URLS": "postgresql://r@a/pgask,postgresql://r@b/pgask",
    "OPENAI_BASE_URL": "http://localhost:11434/v1",
    "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com",
    "PGASK_API_KEYS": KEY,
}


@pytest.fixture(autouse=True)
def _no_settings_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def _field(name: str) -> tuple[type[BaseModel], str]:
    group, field = ENVIRONMENT[name]
    model = Settings.model_fields[group].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return model, field


def _sample(name: str, folder: Path) -> str:
    """A valid value of the variable, other than its default."""
    if name in SPECIAL:
        return SPECIAL[name]
    model, field = _field(name)
    info = model.model_fields[field]
    default = info.get_default(call_default_factory=True)
    kinds = get_args(info.annotation) or (info.annotation,)
    if isinstance(default, bool):
        return "0" if default else "1"
    if all(isinstance(k, str) for k in kinds):  # a Literal
        return next(k for k in kinds if k != default)
    if int in kinds:
        return str((default or 0) + 1)
    if float in kinds:
        return str(default + 0.5)
    if Path in kinds:
        return str(folder)
    return f"{default or ''}-set"  # str, SecretStr


def _plain(value: Any) -> Any:
    """A read-back value as the string it was set from."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def _read(settings: Settings, name: str) -> Any:
    group, field = ENVIRONMENT[name]
    return getattr(getattr(settings, group), field)


@pytest.mark.parametrize("name", sorted(ENVIRONMENT))
def test_each_variable_lands_at_its_place(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = _sample(name, tmp_path)
    assert _plain(_read(load_settings(_env_file=None), name)) != value  # a change is seen
    monkeypatch.setenv(name, value)
    from_env = _read(load_settings(_env_file=None), name)
    assert _plain(from_env) == value
    monkeypatch.delenv(name)
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"{name}={value}\n")
    assert _read(load_settings(_env_file=dotenv), name) == from_env
    assert _read(load_settings(_env_file=None, **{name.lower(): value}), name) == from_env


def test_the_table_covers_every_field_once() -> None:
    places = {
        (group, field)
        for group in Settings.model_fields
        for field in _field_names(Settings.model_fields[group].annotation)
    }
    assert set(ENVIRONMENT.values()) == places
    assert len(set(ENVIRONMENT.values())) == len(ENVIRONMENT)


def _field_names(model: Any) -> list[str]:
    return list(model.model_fields)


def test_a_bad_variable_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGASK_JOB_MAX_ATTEMPTS", "many")
    with pytest.raises(ConfigError, match=r"^PGASK_JOB_MAX_ATTEMPTS: [^\n]*integer[^\n]*$"):
        load_settings(_env_file=None)


def test_an_empty_variable_means_its_default(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("EMBEDDING_DIMENSIONS=\nPGASK_PORT=\nPGASK_DATA_DIR=\n")
    assert load_settings(_env_file=dotenv) == load_settings(_env_file=None)


def test_overrides_take_flat_names_or_groups_and_refuse_others() -> None:
    flat = load_settings(_env_file=None, pgask_port=9000, pgask_host="0.0.0.0")
    grouped = load_settings(_env_file=None, server={"port": 9000, "host": "0.0.0.0"})
    assert flat.server == grouped.server
    with pytest.raises(ConfigError, match=r"^pgask_prot: not a pgask setting"):
        load_settings(_env_file=None, pgask_prot=9000)


def test_a_copy_takes_flat_names_and_validates() -> None:
    settings = load_settings(_env_file=None)
    copied = settings.model_copy(update={"pgask_job_max_attempts": 7, "llm_model": "m"})
    assert (copied.jobs.max_attempts, copied.llm.model) == (7, "m")
    assert copied.database == settings.database
    with pytest.raises(ValueError, match="max_attempts"):
        settings.model_copy(update={"pgask_job_max_attempts": 0})


def test_the_configuration_page_gives_each_variable_its_place() -> None:
    page = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    for name, (group, field) in ENVIRONMENT.items():
        row = next(r for r in rows if f"`{name}`" in r.split(" | ")[0])
        assert f"`{group}.{field}`" in row, name


def test_a_copy_of_env_example_is_a_valid_env_file() -> None:
    example = Path(__file__).parents[1] / ".env.example"
    assert load_settings(_env_file=example) == load_settings(_env_file=None)
