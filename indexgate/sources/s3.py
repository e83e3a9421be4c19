"""Objects under a prefix of an S3 bucket (AWS, MinIO or any S3-compatible endpoint), via boto3."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Iterator

from indexgate.errors import ObjectUnreadable, SourceError
from indexgate.models import Quarantined, Snapshot, SourceObject
from indexgate.settings import SourceConfig
from indexgate.sources.base import make_snapshot
from indexgate.sources.ids import UnsafeId, check_doc_id, printable
from indexgate.sources.selection import Selection
from indexgate.sources.spool import Spool, TooLarge

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_DENIED = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden"}
# Answers that no retry can change: the credentials are refused, access is denied, the bucket is
# not there. A timeout, a throttle or a 5xx can pass.
_PERMANENT = _DENIED | {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                        "TokenRefreshRequired", "NoSuchBucket", "InvalidBucketName", "AuthorizationHeaderMalformed"}
_GONE = {"NoSuchKey", "404", "NotFound"}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> ``(bucket, prefix)``; a non-empty prefix always ends with ``/``
    (``s3://b/docs`` and ``s3://b/docs/`` both mean the folder ``docs/``)."""
    rest = uri.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise SourceError(f"no bucket in {uri!r}; expected s3://bucket/prefix")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def _hash_chunks(chunks, limit: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"more than {limit:,} bytes")
        digest.update(chunk)
    return digest.hexdigest(), size


def _error(exc) -> tuple[str, str]:
    error = (getattr(exc, "response", None) or {}).get("Error", {})
    return str(error.get("Code", type(exc).__name__)), str(error.get("Message", exc))


def _permanent(exc) -> bool:
    """A refusal that trying again cannot change: no or partial credentials, or an answer in
    :data:`_PERMANENT`."""
    from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return True
    return isinstance(exc, ClientError) and _error(exc)[0] in _PERMANENT


class S3Source:
    """Every object under ``s3://bucket/prefix``; the doc id is the key relative to the prefix.

    Guarantees:
    - The whole listing is read before anything is downloaded. A listing that fails on any page
      raises SourceError naming the page: AccessDenied, timeout, unreachable endpoint, missing
      bucket, no credentials. A partial listing is never taken for deletions.
    - A key that is not a safe relative id is refused as ``unsafe_path`` and never downloaded.
      Unsafe are ``..``, absolute, ``//``, backslash, control or bidi characters, and look-alike
      separators. Doc ids are never joined to a folder on disk: the spool names files by sha256.
    - An object larger than ``max_file_bytes`` is refused without downloading it. An object
      that answers AccessDenied on GET is refused as ``access_denied``, and the snapshot goes
      on. Any other failure to download raises SourceError.
    - Each object's sha256 (of its content) goes into the snapshot. Its ETag and size are
      recorded with it. With a spool, each download is kept for the parse step. An object whose
      key, ETag and size are unchanged since an earlier snapshot is not downloaded again.
    - Keys ending in ``/`` with no content are folder markers and are skipped.
    """

    def __init__(self, uri: str, config: SourceConfig | None = None, spool: Spool | None = None, session=None):
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.uri = f"s3://{self.bucket}/{self.prefix}"
        self.config = config or SourceConfig()
        self.selection = Selection(self.config)
        self.spool = spool
        self._session = session  # a boto3 Session; None: the default credential chain
        self._client_obj = None

    @property
    def _client(self):
        if self._client_obj is None:
            import boto3
            from botocore.config import Config

            s3 = self.config.s3
            try:
                session = self._session or boto3.session.Session(profile_name=s3.profile)
                self._client_obj = session.client(
                    "s3", endpoint_url=s3.endpoint_url, region_name=s3.region,
                    config=Config(retries={"max_attempts": s3.max_attempts, "mode": "standard"},
                                  connect_timeout=s3.connect_timeout_s, read_timeout=s3.read_timeout_s,
                                  s3={"addressing_style": s3.addressing_style}),
                )
            except Exception as exc:  # botocore raises many types for a bad profile, region or URL
                raise SourceError(f"cannot set up an S3 client for {self.uri}: {exc}", permanent=True) from exc
        return self._client_obj

    @property
    def _store(self) -> str:
        """Identifies the bucket across endpoints in the spool's ETag index."""
        return f"{self._client.meta.endpoint_url}|{self.bucket}"

    def _list(self) -> list[dict]:
        from botocore.exceptions import BotoCoreError, ClientError

        items: list[dict] = []
        page_no = 0
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": self.config.s3.page_size})
        try:
            for page_no, page in enumerate(pages, 1):
                items.extend(page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            code, message = _error(exc)
            detail = f"{code}: {message}" if isinstance(exc, ClientError) else str(exc)
            raise SourceError(
                f"listing {self.uri} failed on page {page_no + 1} (after {len(items)} objects): {detail}."
                " The sync stops here: a partial listing is never read as deletions.", permanent=_permanent(exc),
            ) from exc
        log.info("listed %s: %d objects in %d pages", self.uri, len(items), page_no)
        return items

    def _get(self, key: str) -> dict:
        """GetObject, with per-object failures as ObjectUnreadable and the rest as SourceError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            code, message = _error(exc)
            if code in _DENIED:
                raise ObjectUnreadable(f"S3 AccessDenied on GetObject: {message}", "access_denied") from None
            if code in _GONE:
                raise ObjectUnreadable("deleted between listing and download (NoSuchKey)", "unreadable") from None
            raise SourceError(f"cannot download s3://{self.bucket}/{printable(key)}: {code}: {message}",
                              permanent=_permanent(exc)) from exc
        except BotoCoreError as exc:
            raise SourceError(f"cannot download s3://{self.bucket}/{printable(key)}: {exc}",
                              permanent=_permanent(exc)) from exc

    def _body(self, response: dict) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError

        try:
            yield from response["Body"].iter_chunks(_CHUNK)
        except BotoCoreError as exc:
            raise SourceError(f"download from {self.uri} broke off: {exc}") from exc

    def _object(self, item: dict) -> SourceObject | Quarantined | None:
        key, size = item["Key"], int(item.get("Size", 0))
        doc_id = key[len(self.prefix):]
        if key.endswith("/") and size == 0:
            return None
        if not self.selection.wanted(doc_id):
            return None
        shown = printable(doc_id)
        try:
            check_doc_id(doc_id)
        except UnsafeId as exc:
            return Quarantined(shown, f"unsafe key: {exc}", "unsafe_path")
        if reason := self.selection.too_large(size):
            return Quarantined(doc_id, reason, "too_large")
        etag = str(item.get("ETag", "")).strip('"')
        modified = item.get("LastModified")
        sha = None
        if self.spool is not None and self.config.s3.trust_etag:
            sha = self.spool.known_hash(self._store, key, etag, size)
        if sha is None:
            try:
                response = self._get(key)
            except ObjectUnreadable as exc:
                return Quarantined(doc_id, str(exc), exc.kind)
            # What was downloaded is what the snapshot records, even if it changed since listing.
            etag = str(response.get("ETag", etag)).strip('"')
            modified = response.get("LastModified", modified)
            limit = self.config.max_file_bytes
            try:
                if self.spool is not None:
                    sha, size = self.spool.store(self._body(response), limit)
                    self.spool.remember(self._store, key, etag, size, sha)
                else:
                    sha, size = _hash_chunks(self._body(response), limit)
            except TooLarge:
                return Quarantined(doc_id, f"file over the size limit: grew past max_file_bytes {limit:,}"
                                   " while downloading", "too_large")
        return SourceObject(
            doc_id=doc_id, uri=f"s3://{self.bucket}/{key}", content_hash=sha, size=size,
            modified=modified.isoformat() if modified is not None else "",
            mime=mimetypes.guess_type(doc_id)[0] or "application/octet-stream", etag=etag,
        )

    def object_tags(self, doc_id: str) -> dict[str, str]:
        """The S3 tags of one object (key and value). Raises SourceError when they cannot be read."""
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.prefix + doc_id
        try:
            tags = self._client.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        except (ClientError, BotoCoreError) as exc:
            raise SourceError(f"cannot read the tags of s3://{self.bucket}/{printable(key)}: {exc}") from exc
        return {t["Key"]: t["Value"] for t in tags}

    def snapshot(self) -> Snapshot:
        objects, refused = [], []
        for item in self._list():
            found = self._object(item)
            if isinstance(found, SourceObject):
                objects.append(found)
            elif found is not None:
                refused.append(found)
        return make_snapshot(self.uri, objects, refused)

    def read(self, doc_id: str) -> bytes:
        """Download ``doc_id`` again (the parse step tries the spool first), at most
        ``max_file_bytes + 1`` bytes; the caller checks them against the snapshot's sha256."""
        try:
            check_doc_id(doc_id)
        except UnsafeId as exc:
            raise ObjectUnreadable(f"unsafe key: {exc}", "unsafe_path") from None
        limit, data = self.config.max_file_bytes + 1, bytearray()
        for chunk in self._body(self._get(self.prefix + doc_id)):
            data += chunk
            if len(data) >= limit:
                break
        return bytes(data[:limit])
