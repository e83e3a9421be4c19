"""Where documents come from. :func:`open_source` picks the implementation from the URI."""

from __future__ import annotations

from pathlib import Path

from indexgate.errors import SourceError
from indexgate.settings import SourceConfig
from indexgate.sources.base import Source
from indexgate.sources.beir import SCHEME as BEIR_SCHEME
from indexgate.sources.beir import BeirSource
from indexgate.sources.folder import FolderSource
from indexgate.sources.s3 import S3Source
from indexgate.sources.spool import Spool

__all__ = ["BeirSource", "FolderSource", "S3Source", "Source", "Spool", "open_source"]


def open_source(uri: str, config: SourceConfig | None = None, spool_dir: Path | None = None) -> Source:
    """``DIR`` or ``file://DIR`` -> :class:`FolderSource`; ``s3://bucket/prefix`` ->
    :class:`S3Source` (downloads kept in a spool under ``spool_dir`` when given); ``beir:DIR`` ->
    :class:`BeirSource`. Other schemes are refused clearly."""
    config = config or SourceConfig()
    if uri.startswith("s3://"):
        spool = Spool(spool_dir, config.spool_max_bytes) if spool_dir is not None else None
        return S3Source(uri, config, spool)
    if uri.startswith(BEIR_SCHEME):
        return BeirSource(uri.removeprefix(BEIR_SCHEME))
    if "://" in uri and not uri.startswith("file://"):
        scheme = uri.split("://", 1)[0]
        raise SourceError(f"unsupported source scheme {scheme!r} in {uri!r}; give a folder path or s3://bucket/prefix")
    return FolderSource(uri.removeprefix("file://"), config)
