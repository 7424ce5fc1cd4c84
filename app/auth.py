"""API keys: parsing PGASK_API_KEYS and checking a presented key in constant time.

PGASK_API_KEYS is a comma-separated list of `name:[role:]secret` entries, where role is
`read` (search, ask, and every GET), `write` (read, plus adding and deleting documents) or
`admin` (everything; the default), and secret is the
key itself or its stored hash `sha256:<64 hex digits>` (`printf %s KEY | sha256sum`).
Keys are only ever compared as SHA-256 digests with `hmac.compare_digest`, against every
configured key, so neither timing nor logs reveal them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from app.access import ROLES, Principal, Role
from app.errors import ConfigError, Forbidden, NotFound, Unauthorized

_HASH = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: Role
    digest: bytes

    def __repr__(self) -> str:  # never show the digest
        return f"ApiKey(name={self.name!r}, role={self.role!r})"


def digest(secret: str) -> bytes:
    """SHA-256 of a key's secret: what bootstrap and stored keys are compared by."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _parse_entry(entry: str, number: int) -> ApiKey:
    name, colon, rest = entry.partition(":")
    # A malformed entry is named by its place, never by its text: without its colon (or
    # with a space for it) the whole entry, the secret included, would be the "name".
    label = f"{name!r}" if colon and KEY_NAME.match(name) else f"number {number}"
    role: Role = "admin"
    head, sep, tail = rest.partition(":")
    if sep and head in ROLES:
        role = ROLES[ROLES.index(head)]
        rest = tail
    if not KEY_NAME.match(name) or not rest:
        raise ConfigError(
            f"PGASK_API_KEYS: entry {label} must look like name:key, name:read:key, "
            "name:write:key "
            "or name:admin:sha256:<hex>"
        )
    hashed = _HASH.match(rest)
    hashed_secret = bytes.fromhex(hashed.group(1)) if hashed else digest(rest)
    if not hashed and len(rest) < 16:
        raise ConfigError(f"PGASK_API_KEYS: key {name!r} is shorter than 16 characters")
    return ApiKey(name, role, hashed_secret)


def parse_api_keys(raw: str | None) -> list[ApiKey]:
    entries = [e.strip() for e in (raw or "").split(",") if e.strip()]
    keys = [_parse_entry(entry, number) for number, entry in enumerate(entries, 1)]
    names = [k.name for k in keys]
    if len(set(names)) != len(names):
        raise ConfigError("PGASK_API_KEYS: two keys have the same name")
    return keys


def find_key(keys: list[ApiKey], presented: str) -> ApiKey | None:
    """The key matching `presented`, comparing against all keys in constant time."""
    presented_digest = digest(presented)
    found = None
    for key in keys:
        if hmac.compare_digest(key.digest, presented_digest):
            found = key
    return found


def bearer_token(authorization: str | None) -> str:
    """The key an `Authorization: Bearer <key>` header presents; Unauthorized otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send a valid API key as 'Authorization: Bearer <key>'")
    return token.strip()


def authorize(principal: Principal, role: Role, path: str) -> None:
    """Forbidden unless `principal` may act with `role`; NotFound, exactly as for a missing
    collection, when the path's collection is outside its scope (no existence leak)."""
    if principal.may(role):
        return
    collection = path_collection(path)
    if collection is not None and not principal.sees_collection(collection):
        raise NotFound(f"collection {collection!r} does not exist")
    raise Forbidden(f"key {principal.name!r} has role {principal.role}; this needs {role}")


def required_role(method: str, path: str) -> Role | None:
    """Which role a request needs: None for public paths (health, metrics, docs, web page)."""
    if path == MCP_PATH or path.startswith(MCP_PATH + "/"):
        return "read"  # every MCP tool and resource only reads
    if not path.startswith("/v1/"):
        return None
    if path.startswith(_ADMIN_PREFIXES) or _ADMIN_PATHS.match(path):
        return "admin"
    if method in ("GET", "HEAD", "OPTIONS") or path in _READ_POSTS:
        return "read"
    if method == "POST" and _SOURCE_SYNC.match(path):
        return "write"  # a sync only reads what the source's admin configured
    found = _DOCUMENT_WRITE.match(path)
    if found and (method, found.group(1) or found.group(2)) in _WRITES:
        return "write"
    return "admin"


def path_collection(path: str) -> str | None:
    """The collection a /v1/collections/{c}... path names."""
    found = _COLLECTION_PATH.match(path)
    return found.group(1) if found else None


_ADMIN_PREFIXES = ("/v1/keys", "/v1/audit")
# An export is the whole collection, embeddings included: admins only (docs/security.md).
_ADMIN_PATHS = re.compile(r"^/v1/collections/[^/]+/(export|import)$")
MCP_PATH = "/mcp"
_READ_POSTS = frozenset({"/v1/search", "/v1/ask", "/v1/chat/completions"})
# POST .../documents and .../files, DELETE .../documents/{id}: what write keys may do
_DOCUMENT_WRITE = re.compile(r"^/v1/collections/[^/]+/(?:(documents|files)|(documents/).+)$")
_WRITES = {("POST", "documents"), ("POST", "files"), ("DELETE", "documents/")}
_SOURCE_SYNC = re.compile(r"^/v1/sources/[^/]+/sync$")
_COLLECTION_PATH = re.compile(r"^/v1/collections/([^/]+)")
