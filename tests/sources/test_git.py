"""Git sources through the real git CLI: a local repository synced twice with a commit
between (a file added, one changed, one deleted): the second sync reads and embeds only the
changed blobs and records the commit; a subfolder and a branch; a repository that cannot be
reached deletes nothing."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text

from app.access import UNRESTRICTED
from app.errors import InvalidInput
from ingest.sources.service import SourceSpec, add_source, get_source
from tests.sources.conftest import synced
from tests.sources.git_repos import commit, git, make_repo

pytestmark = pytest.mark.anyio


async def _ids(session, collection) -> set[str]:
    rows = await session.execute(
        text("SELECT external_id FROM documents WHERE collection_id = :c"), {"c": collection.id}
    )
    return {row[0] for row in rows}


async def test_a_commit_between_two_syncs(ingestion, embedder, collection, session, tmp_path):
    repo = make_repo(
        tmp_path / "handbook",
        {
            "README.md": "# Handbook\n\nHow the team works.",
            "docs/deploy.md": "# Deploy\n\nRun the deploy script on Fridays never.",
            "docs/oncall.md": "# On call\n\nThe pager rotates weekly.",
            ".github/workflow.yml": "hidden: true",
        },
    )
    spec = SourceSpec("handbook", collection.name, "git", {"url": str(repo)})
    await add_source(ingestion, UNRESTRICTED, spec)
    first = await synced(ingestion, embedder, "handbook")
    assert first.status == "succeeded", first.errors
    assert first.result["added"] == 3
    head = git(repo, "rev-parse", "HEAD")
    assert (await get_source(ingestion, UNRESTRICTED, "handbook")).cursor == {"commit": head}

    commit(
        repo,
        {
            "docs/deploy.md": "# Deploy\n\nDeploys run on Tuesdays, with a rollback plan.",
            "docs/oncall.md": None,
            "docs/incidents.md": "# Incidents\n\nWrite the timeline first.",
        },
    )
    second = await synced(ingestion, embedder, "handbook")
    result = second.result
    assert second.status == "succeeded", second.errors
    assert (result["added"], result["updated"], result["unchanged"], result["deleted"]) == (
        1,
        1,
        1,
        1,
    )
    assert result["embedded"] == 2
    assert await _ids(session, collection) == {
        "handbook/README.md",
        "handbook/docs/deploy.md",
        "handbook/docs/incidents.md",
    }
    info = await get_source(ingestion, UNRESTRICTED, "handbook")
    assert info.cursor == {"commit": git(repo, "rev-parse", "HEAD")}
    assert info.last_sync["read"] == 2  # README.md's blob is the same: not read

    shutil.rmtree(repo)  # unreachable: the sync fails and deletes nothing
    third = await synced(ingestion, embedder, "handbook")
    assert third.status == "failed"
    assert "does not appear to be a git repository" in third.errors[-1]["error"]
    assert len(await _ids(session, collection)) == 3


async def test_subdir_and_branch(ingestion, embedder, collection, session, tmp_path):
    repo = make_repo(tmp_path / "site", {"docs/a.md": "# A\n\nAlpha.", "src/x.py": "x = 1"})
    git(repo, "checkout", "--quiet", "-b", "next")
    commit(repo, {"docs/b.md": "# B\n\nBravo, on the next branch only."})
    git(repo, "checkout", "--quiet", "main")
    options = {"url": str(repo), "branch": "next", "subdir": "/docs/"}
    await add_source(ingestion, UNRESTRICTED, SourceSpec("site", collection.name, "git", options))
    job = await synced(ingestion, embedder, "site")
    assert job.status == "succeeded", job.errors
    assert await _ids(session, collection) == {"site/a.md", "site/b.md"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "--upload-pack=touch /tmp/x"}, "options.url: a git URL"),
        ({"url": "/nowhere/at/all"}, "options.url: fatal: '/nowhere/at/all' does not appear"),
        ({"url": "/tmp", "branch": "-x"}, "options.branch: '-x' is not a branch or tag name"),
        ({"url": "/tmp", "subdir": "../etc"}, "options.subdir: a folder inside the repository"),
        ({"url": "/tmp", "depth": 3}, "options.depth: Extra inputs are not permitted"),
        ({}, "options.url: Field required"),
    ],
)
async def test_bad_options_are_refused(ingestion, collection, options, message) -> None:
    spec = SourceSpec("bad", collection.name, "git", options)
    with pytest.raises(InvalidInput) as refused:
        await add_source(ingestion, UNRESTRICTED, spec)
    assert str(refused.value).startswith(message), refused.value
