"""`pgask ingest` of a folder holding one file of each format and two hostile ones: the
hostile ones fail alone, every other file is stored and a search finds its text."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app
from tests.ingest.conftest import write
from tests.ingest.formats import hostile, samples


def test_one_file_of_each_format(tmp_path: Path, db_url: str, collection_name: str) -> None:
    files: dict[str, str | bytes] = {
        **samples.all_formats(),
        "bomb.docx": hostile.docx_bomb(),
        "laughs.epub": hostile.epub_laughs(),
    }
    root = write(tmp_path / "kb", files)
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    done = runner.invoke(app, ["ingest", str(root), "-c", collection_name, "--json"], env=env)
    assert done.exit_code == 1, done.output  # two files failed
    out = json.loads(done.stdout)
    assert (out["added"], out["failed"]) == (len(samples.all_formats()), 2)
    errors = {e["path"]: e["error"] for e in out["errors"]}
    assert errors["kb/bomb.docx"].startswith("zip bomb refused")
    assert errors["kb/laughs.epub"].startswith("XML entity declarations refused")
    for name, word in samples.WORDS.items():
        found = runner.invoke(
            app, ["search", word, "-c", collection_name, "--mode", "text", "--json"], env=env
        )
        assert found.exit_code == 0, found.output
        hits = json.loads(found.stdout)["hits"]
        assert hits and hits[0]["external_id"].endswith("." + name), (word, hits)
