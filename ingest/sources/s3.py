"""The `s3` source: the objects under a prefix of an S3-compatible bucket.

Each object is an item keyed by its object key (`guide/intro.md`, the prefix included); its
version is its ETag, so an object whose ETag the last sync recorded is `Unchanged` without a
GetObject. Folder markers and objects whose names say they are not prose (images, video,
archives: `ingest.filetypes.skip_reason`) are not listed, so they are never downloaded. The
listing (ListObjectsV2, page by page) failing, or the endpoint going away, makes the scan
unavailable; one object that cannot be read is `Failed`. Decision 0030 says why boto3.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.filetypes import skip_reason
from ingest.sources.base import (
    Failed,
    Fetched,
    Item,
    ReaderContext,
    SourceUnavailable,
    Unchanged,
    too_large,
)

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import ObjectTypeDef

# The endpoint itself failing (refused, reset, timed out), as opposed to one request refused.
_UNREACHABLE = (ConnectionError, HTTPClientError)


class S3Options(BaseModel):
    """An s3 source's options (`sources add --kind s3`). No secret is accepted here: options
    are stored as they are and shown to whoever may read the source; credentials come from
    boto3's chain on the process that syncs (environment, `profile` in the shared files,
    instance or container roles)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")
    prefix: str = Field("", max_length=1024, pattern=r"^[^\x00-\x1f]*$")
    endpoint_url: str | None = None  # for S3-compatible stores (MinIO, R2, Ceph, ...)
    region: str | None = Field(None, pattern=r"^[a-z0-9-]{1,64}$")
    profile: str | None = Field(None, pattern=r"^[A-Za-z0-9._@+-]{1,128}$")
    timeout_seconds: float = Field(30.0, gt=0, le=600)  # to connect, and between bytes read

    @field_validator("endpoint_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value


class S3Reader:
    """Implements `ingest.sources.base.SourceReader` for a bucket and prefix."""

    def __init__(
        self, options: S3Options, context: ReaderContext, *, page_size: int = 1000
    ) -> None:
        self.options = options
        self.max_bytes = context.max_file_bytes
        self._page_size = page_size
        self._listed = 0

    def cursor(self) -> dict[str, Any]:
        return {"objects": self._listed}

    def scan(self, known: Mapping[str, str], cursor: Mapping[str, Any]) -> Iterator[Item]:
        del cursor  # the ETags say what changed: nothing else to start from
        client = self._client()
        try:
            for entry in self._listing(client):
                key = entry["Key"]
                if known.get(key) == entry["ETag"]:
                    yield Unchanged(key)
                elif entry["Size"] > self.max_bytes:
                    yield Failed(key, too_large(entry["Size"], self.max_bytes))
                elif item := self._get(client, key):
                    yield item
        finally:
            client.close()

    def _client(self) -> S3Client:
        import boto3  # here: its 0.15 s import is paid by a sync, not by every CLI start
        from botocore.config import Config

        o = self.options
        config = Config(
            connect_timeout=o.timeout_seconds,
            read_timeout=o.timeout_seconds,
            retries={"mode": "standard", "max_attempts": 2},
        )
        try:
            session = boto3.Session(profile_name=o.profile, region_name=o.region)
            return session.client("s3", endpoint_url=o.endpoint_url, config=config)
        except BotoCoreError as exc:  # an unknown profile, a region or endpoint it refuses
            raise SourceUnavailable(f"s3://{o.bucket}: {exc}") from exc

    def _listing(self, client: S3Client) -> Iterator[ObjectTypeDef]:
        """Every object under the prefix that may be prose, a page at a time."""
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.options.bucket,
            Prefix=self.options.prefix,
            PaginationConfig={"PageSize": self._page_size},
        )
        self._listed = 0
        try:
            for page in pages:
                for entry in page.get("Contents", []):
                    if not entry["Key"].endswith("/") and not skip_reason(entry["Key"], b""):
                        self._listed += 1
                        yield entry
        except (BotoCoreError, ClientError) as exc:
            where = f"s3://{self.options.bucket}/{self.options.prefix}"
            raise SourceUnavailable(f"listing {where} failed: {exc}") from exc

    def _get(self, client: S3Client, key: str) -> Fetched | Failed | None:
        """The object's bytes and ETag (None when it was deleted since it was listed)."""
        cap = self.max_bytes
        try:
            answer = client.get_object(Bucket=self.options.bucket, Key=key)
            with answer["Body"] as body:
                data = body.read(cap + 1)
        except _UNREACHABLE as exc:
            raise SourceUnavailable(f"{key}: the endpoint did not answer ({exc})") from exc
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                return None
            return Failed(key, f"GetObject failed: {exc}")
        except BotoCoreError as exc:
            return Failed(key, f"GetObject failed: {exc}")
        if len(data) > cap:
            return Failed(key, too_large(len(data), cap))
        return Fetched(key, answer["ETag"], data, key, answer.get("ContentType"))
