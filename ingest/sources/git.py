"""A git repository, local or remote, read through the git CLI (docs/decisions/0029-git-
through-the-cli.md): no checkout, no library that reimplements git's transports.

The source keeps a bare repository in its work folder and, each scan, fetches the tip of
the branch (`--depth 1`: the history is never needed) into `refs/pgask/synced`. `git
ls-tree` lists every file with its blob id, which is the item's version: only the blobs
whose id changed are read (`git cat-file --batch`, one process for the scan). The commit
synced is the cursor. Hidden paths (a component starting with "."), symbolic links and
submodules are left out.

Every git process runs without a shell, with a timeout, and without a terminal to prompt on
(a private repository needs credentials git finds by itself: a credential helper, an SSH
key). The URL and branch are validated so neither can be taken for an option.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import InvalidInput
from ingest.sources.base import (
    Failed,
    Fetched,
    Item,
    ReaderContext,
    SourceUnavailable,
    Unchanged,
    too_large,
)

SYNCED_REF = "refs/pgask/synced"
CHECK_SECONDS = 30  # `git ls-remote` when a source is added
_SCHEMES = re.compile(r"^(https?|ssh|git|file)://[^\s]+$")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:[^\s]+$")  # git@github.com:org/repo.git
_REF = re.compile(r"^[\w][\w./-]*$")


class GitOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str  # a URL (https, ssh, git, file, user@host:path) or a local path, made absolute
    branch: str | None = None  # a branch or tag; None: the remote's HEAD
    subdir: str | None = None  # only files under this folder; keys are relative to it
    glob: str | None = None  # only files whose name or path matches
    timeout_seconds: int = Field(300, ge=1, le=3600)  # for each fetch

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if _SCHEMES.match(value) or _SCP_LIKE.match(value):
            return value
        if not value or value.startswith("-") or "\x00" in value or "://" in value:
            raise ValueError("a git URL (https://, ssh://, git://, file://) or a local path")
        return str(Path(value).expanduser().resolve())

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str | None) -> str | None:
        if value is not None and (not _REF.match(value) or ".." in value):
            raise ValueError(f"{value!r} is not a branch or tag name")
        return value

    @field_validator("subdir")
    @classmethod
    def _subdir(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = [p for p in value.strip("/").split("/") if p not in ("", ".")]
        if ".." in parts or "\x00" in value:
            raise ValueError("a folder inside the repository")
        return "/".join(parts) or None


def check(options: GitOptions) -> None:
    """The repository answers, and has the branch (a typo is said now, not at each sync)."""
    try:
        _git(
            ["ls-remote", "--exit-code", "--", options.url, options.branch or "HEAD"], CHECK_SECONDS
        )
    except SourceUnavailable as exc:
        raise InvalidInput(f"options.url: {exc.detail}") from exc


class GitReader:
    def __init__(self, options: GitOptions, context: ReaderContext) -> None:
        self.options = options
        self.repo = context.work_dir / "repo.git"
        self.max_bytes = context.max_file_bytes
        self._commit: str | None = None

    def scan(self, known: Mapping[str, str], cursor: Mapping[str, Any]) -> Iterator[Item]:
        del cursor  # blob ids are the versions: the whole tree is compared, not a diff
        commit = self._fetch()
        with _Blobs(self.repo, self.options.timeout_seconds) as blobs:
            for key, blob, size in self._files(commit):
                if known.get(key) == blob:
                    yield Unchanged(key)
                elif size > self.max_bytes:
                    yield Failed(key, too_large(size, self.max_bytes))
                else:
                    yield Fetched(key, blob, blobs.read(blob), key)
        self._commit = commit

    def cursor(self) -> dict[str, Any]:
        return {"commit": self._commit}

    def _fetch(self) -> str:
        if not (self.repo / "HEAD").exists():
            self.repo.mkdir(parents=True, exist_ok=True)
            _git(["init", "--quiet", "--bare", str(self.repo)], CHECK_SECONDS)
        ref = self.options.branch or "HEAD"
        _git(
            [
                *("-C", str(self.repo), "fetch", "--quiet", "--no-tags", "--force", "--depth", "1"),
                *("--", self.options.url, f"+{ref}:{SYNCED_REF}"),
            ],
            self.options.timeout_seconds,
        )
        found = _git(["-C", str(self.repo), "rev-parse", "--verify", f"{SYNCED_REF}^{{commit}}"])
        return found.decode().strip()

    def _files(self, commit: str) -> Iterator[tuple[str, str, int]]:
        """(key, blob id, size) of each file of the commit under `subdir`."""
        subdir = self.options.subdir
        listing = _git(
            [
                "-C",
                str(self.repo),
                "ls-tree",
                "-r",
                "-z",
                "-l",
                commit,
                *(["--", subdir] if subdir else []),
            ],
            self.options.timeout_seconds,
        )
        prefix = f"{subdir}/" if subdir else ""
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, raw_path = entry.partition(b"\t")
            mode, kind, blob, size = meta.decode().split()
            path = raw_path.decode("utf-8", "surrogateescape")
            if kind != "blob" or mode == "120000" or not path.startswith(prefix):
                continue  # submodules, symbolic links
            key = path[len(prefix) :]
            if any(part.startswith(".") for part in key.split("/")) or not _matches(
                key, self.options.glob
            ):
                continue
            yield key, blob, int(size)


def _matches(key: str, glob: str | None) -> bool:
    return (
        glob is None or fnmatch.fnmatch(key.rsplit("/", 1)[-1], glob) or fnmatch.fnmatch(key, glob)
    )


_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "", "LC_ALL": "C"}


def _git(arguments: Sequence[str], timeout: float = CHECK_SECONDS) -> bytes:
    """git's standard output; SourceUnavailable with git's last error line when it fails."""
    try:
        done = subprocess.run(
            ["git", *arguments],
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **_ENV},
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SourceUnavailable(
            f"git {arguments[2] if arguments[0] == '-C' else arguments[0]}"
            f" took more than {timeout:g} s"
        ) from exc
    except OSError as exc:  # no git on the PATH
        raise SourceUnavailable(f"cannot run git: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise SourceUnavailable(lines[0] if lines else f"git exited with {done.returncode}")
    return done.stdout


class _Blobs:
    """One `git cat-file --batch` for a scan's blobs; killed after `timeout` seconds
    without an answer."""

    def __init__(self, repo: Path, timeout: float) -> None:
        self.repo, self.timeout = repo, timeout
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Blobs:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def read(self, blob: str) -> bytes:
        process = self._started()
        assert process.stdin is not None and process.stdout is not None
        watch = threading.Timer(self.timeout, process.kill)
        watch.start()
        try:
            process.stdin.write(blob.encode() + b"\n")
            process.stdin.flush()
            header = process.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise SourceUnavailable(f"git cat-file: no blob {blob}")
            data = _read_exactly(process.stdout, int(header[2]) + 1)[:-1]
        except OSError as exc:
            raise SourceUnavailable(f"git cat-file stopped: {exc}") from exc
        finally:
            watch.cancel()
        return data

    def _started(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            self.process = subprocess.Popen(
                ["git", "-C", str(self.repo), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, **_ENV},
            )
        return self.process


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:  # killed by its timeout, or gone
        raise SourceUnavailable("git cat-file stopped before it sent a whole blob")
    return data
