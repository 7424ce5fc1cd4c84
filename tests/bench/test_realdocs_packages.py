"""bench/realdocs.py records the version of the Debian package each manual comes from: a
point release changes pages, so two runs' chunk counts compare only at the same version."""

from __future__ import annotations

import shutil

import pytest

from bench.realdocs import SETS, debian_version


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system")
def test_an_installed_package_has_its_version_and_a_missing_one_none() -> None:
    version = debian_version("dpkg")  # installed wherever dpkg-query is
    assert version is not None and version.startswith("dpkg ") and version[5:][0].isdigit()
    assert debian_version("pgask-no-such-package") is None


def test_every_debian_manual_names_its_package() -> None:
    assert {name: s.package for name, s in SETS.items() if s.folder.is_relative_to("/usr")} == {
        "python": "python3-doc",
        "postgres": "postgresql-doc-15",
        "git": "git-doc",
        "m4": "m4-doc",
        "sqlite": "sqlite3-doc",
    }
