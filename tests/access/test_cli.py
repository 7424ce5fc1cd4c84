"""`pgask keys`, `pgask audit`, `pgask ingest --access` and a CLI acting as a key
(PGASK_API_KEY), as real processes on the access tests' database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.access.conftest import PHRASE_B, World, group_keys
from tests.cli import env_without_pgask_settings
from tests.cli import pgask_in_process as pgask  # what the command does, not its process


def _env(access_db_url: str, **extra: str) -> dict[str, str]:
    return env_without_pgask_settings(DATABASE_URL=access_db_url, **extra)


@pytest.mark.usefixtures("world")
def test_keys_create_list_revoke_and_act_as_a_key(access_db_url: str) -> None:
    env = _env(access_db_url)
    created = pgask(
        [
            "keys",
            "create",
            "cli-a",
            "--role",
            "read",
            "--collection",
            "c1",
            "--group",
            "A",
            "--json",
        ],
        env,
    )
    assert created.returncode == 0, created.stderr
    secret = json.loads(created.stdout)["key"]
    listed = pgask(["keys", "list", "--json"], env)
    assert "cli-a" in listed.stdout
    assert secret not in listed.stdout
    as_a = _env(access_db_url, PGASK_API_KEY=secret)
    searched = pgask(["search", PHRASE_B, "-c", "c1", "--json"], as_a)
    assert searched.returncode == 0, searched.stderr
    assert "bravo-doc" not in searched.stdout
    assert {h["external_id"] for h in json.loads(searched.stdout)["hits"]}
    collections = pgask(["collections", "--json"], as_a)
    assert [c["name"] for c in json.loads(collections.stdout)["collections"]] == ["c1"]
    assert pgask(["keys", "revoke", "cli-a"], env).returncode == 0
    refused = pgask(["search", "x", "-c", "c1"], as_a)
    assert refused.returncode != 0
    assert refused.stderr.strip() == "pgask: error: PGASK_API_KEY: unknown, revoked or expired key"
    audit = json.loads(pgask(["audit", "--json"], env).stdout)["events"]
    assert ("key.revoked", "cli-a") in {(e["action"], e["target"]) for e in audit}


@pytest.mark.usefixtures("world")
def test_bad_key_input_on_the_cli_is_one_line(access_db_url: str) -> None:
    env = _env(access_db_url)
    for args in (
        ["x", "--role", "owner"],
        ["y", "--role", "read", "--collection", "nosuch"],
        ["team-a", "--role", "read"],
    ):
        result = pgask(["keys", "create", *args], env)
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("pgask: error: ")
    listed = json.loads(pgask(["keys", "list", "--json"], env).stdout)["keys"]
    assert not {"x", "y"} & {k["name"] for k in listed}


def test_ingest_with_access(world: World, access_db_url: str, tmp_path: Path) -> None:
    (tmp_path / "memo.md").write_text("# Memo\n\nthe indigo falcon roster for group B only.\n")
    env = _env(access_db_url)
    loaded = pgask(["ingest", str(tmp_path), "-c", "cli-docs", "--access", "B", "--json"], env)
    assert loaded.returncode == 0, loaded.stderr
    key_a, key_b = group_keys(world.url, "cli-docs", create=False)
    as_a = _env(access_db_url, PGASK_API_KEY=key_a)
    as_b = _env(access_db_url, PGASK_API_KEY=key_b)
    query = ["search", "indigo falcon roster", "-c", "cli-docs", "--mode", "text", "--json"]
    assert json.loads(pgask(query, as_a).stdout)["hits"] == []
    hits = json.loads(pgask(query, as_b).stdout)["hits"]
    assert [h["external_id"].rsplit("/", 1)[-1] for h in hits] == ["memo.md"]
    bad = pgask(["ingest", str(tmp_path), "-c", "cli-docs", "--access", "a\x01b"], env)
    assert bad.returncode != 0
    assert "--access" in bad.stderr
