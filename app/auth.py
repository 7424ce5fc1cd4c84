"""API keys: parsing PGASK_API_KEYS and checking a presented key in constant time.

PGASK_API_KEYS is a comma-separated list of `name:[role:]secret` entries, where role is
`read` (search, ask, and every GET) or `admin` (everything; the default), and secret is the
key itself or its stored hash `sha256:<64 hex digits>` (`printf %s KEY | sha256sum`).
Keys are only ever compared as SHA-256 digests with `hmac.compare_digest`, against every
configured key, so neither timing nor logs reveal them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

from app.errors import ConfigError, Forbidden, Unauthorized

Role = Literal["read", "admin"]
_ROLES: tuple[Role, ...] = ("read", "admin")
_HASH = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: Role
    digest: bytes

    def __repr__(self) -> str:  # never show the digest
        return f"ApiKey(name={self.name!r}, role={self.role!r})"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _parse_entry(entry: str, number: int) -> ApiKey:
    name, colon, rest = entry.partition(":")
    # A malformed entry is named by its place, never by its text: without its colon (or
    # with a space for it) the whole entry, the secret included, would be the "name".
    label = f"{name!r}" if colon and _NAME.match(name) else f"number {number}"
    role: Role = "admin"
    head, sep, tail = rest.partition(":")
    if sep and head in _ROLES:
        role = "read" if head == "read" else "admin"
        rest = tail
    if not _NAME.match(name) or not rest:
        raise ConfigError(
            f"PGASK_API_KEYS: entry {label} must look like name:key, name:read:key "
            "or name:admin:sha256:<hex>"
        )
    hashed = _HASH.match(rest)
    digest = bytes.fromhex(hashed.group(1)) if hashed else _digest(rest)
    if not hashed and len(rest) < 16:
        raise ConfigError(f"PGASK_API_KEYS: key {name!r} is shorter than 16 characters")
    return ApiKey(name, role, digest)


def parse_api_keys(raw: str | None) -> list[ApiKey]:
    entries = [e.strip() for e in (raw or "").split(",") if e.strip()]
    keys = [_parse_entry(entry, number) for number, entry in enumerate(entries, 1)]
    names = [k.name for k in keys]
    if len(set(names)) != len(names):
        raise ConfigError("PGASK_API_KEYS: two keys have the same name")
    return keys


def find_key(keys: list[ApiKey], presented: str) -> ApiKey | None:
    """The key matching `presented`, comparing against all keys in constant time."""
    digest = _digest(presented)
    found = None
    for key in keys:
        if hmac.compare_digest(key.digest, digest):
            found = key
    return found


def authenticate(keys: list[ApiKey], authorization: str | None) -> ApiKey:
    """The key an `Authorization: Bearer <key>` header presents; Unauthorized otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    key = find_key(keys, token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise Unauthorized("send a valid API key as 'Authorization: Bearer <key>'")
    return key


def authorize(key: ApiKey, role: Role) -> None:
    """Forbidden unless `key` may act with `role`."""
    if role == "admin" and key.role != "admin":
        raise Forbidden(f"key {key.name!r} is read-only; this needs an admin key")


def acting_key(keys: list[ApiKey], presented: str | None) -> ApiKey | None:
    """The key a CLI or MCP client acts as (PGASK_API_KEY): None when no keys are configured
    (everything is visible, as on /v1); refused like a missing or wrong bearer otherwise."""
    if not keys:
        return None
    key = find_key(keys, presented) if presented else None
    if key is None:
        raise Unauthorized(
            "PGASK_API_KEY: API keys are configured (PGASK_API_KEYS); set PGASK_API_KEY to "
            "one of them"
            if not presented
            else "PGASK_API_KEY: not one of the configured API keys"
        )
    return key


def required_role(method: str, path: str) -> Role | None:
    """Which role a request needs: None for public paths (health, metrics, docs, web page)."""
    if path == MCP_PATH or path.startswith(MCP_PATH + "/"):
        return "read"  # every MCP tool and resource only reads
    if not path.startswith("/v1/"):
        return None
    if method in ("GET", "HEAD", "OPTIONS") or path in _READ_POSTS:
        return "read"
    return "admin"


MCP_PATH = "/mcp"
_READ_POSTS = frozenset({"/v1/search", "/v1/ask", "/v1/chat/completions"})
