"""The README's quick start, run as a user runs it: its commands print what it shows."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from tests.cli import ROOT, env_without_pgask_settings, pgask

README = ROOT / "README.md"
SAMPLE = "examples/sample-docs/"
# documents: 5 added, 0 updated, 0 unchanged, 0 deleted, 0 failed; 37 chunks in 1.6 s
SUMMARY = re.compile(
    r"documents: (\d+) added, (\d+) updated, (\d+) unchanged, (\d+) deleted, (\d+) failed; "
    r"(\d+) chunks in [\d.]+ s"
)


def _counts(text: str) -> list[tuple[str, ...]]:
    """Each summary line's counts (documents added ... failed, chunks), timings left out."""
    return [found.groups() for found in SUMMARY.finditer(text)]


@pytest.mark.usefixtures("db_url")  # the session's server, migrated
def test_the_quick_start_prints_what_the_readme_shows(data_dir: Path) -> None:
    readme = README.read_text(encoding="utf-8")
    assert f"pgask ingest {SAMPLE} --collection docs" in readme
    shown = _counts(readme)
    assert len(shown) == 2, "the README shows the first ingest and the run again"

    # The session's embedded server, reached through its data dir as the README's commands
    # reach theirs; a collection of this test's own instead of the README's `docs`.
    env = env_without_pgask_settings(PGASK_DATA_DIR=str(data_dir))
    env.pop("XDG_RUNTIME_DIR", None)  # as on a server or in a container: no warning for it
    collection = f"readme_{uuid.uuid4().hex[:8]}"
    printed = []
    for _ in range(2):
        ran = pgask(["ingest", SAMPLE, "--collection", collection], env)
        assert ran.returncode == 0, ran.stderr
        assert "XDG_RUNTIME_DIR" not in ran.stderr and "Warning" not in ran.stderr, ran.stderr
        printed.extend(_counts(ran.stdout + ran.stderr))
    assert printed == shown, (
        f"README.md shows {shown}, `pgask ingest {SAMPLE}` printed {printed}: run the quick "
        "start on a new PGASK_DATA_DIR and paste its output into the README"
    )

    searched = pgask(
        ["search", "how do I load a folder of PDFs?", "--collection", collection, "-k", "3"],
        env,
    )
    assert searched.returncode == 0, searched.stderr
    assert "3 hits (hybrid)" in searched.stdout
    assert "Loading documents" in searched.stdout
