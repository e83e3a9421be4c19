"""Where documents come from. :func:`open_source` picks the implementation from the URI."""

from __future__ import annotations

from indexgate.errors import SourceError
from indexgate.sources.base import Source
from indexgate.sources.beir import SCHEME as BEIR_SCHEME
from indexgate.sources.beir import BeirSource
from indexgate.sources.folder import FolderSource

__all__ = ["BeirSource", "Source", "FolderSource", "open_source"]


def open_source(uri: str) -> Source:
    """``DIR`` or ``file://DIR`` -> :class:`FolderSource`; ``beir:DIR`` -> :class:`BeirSource`.
    Other schemes are refused clearly."""
    if uri.startswith(BEIR_SCHEME):
        return BeirSource(uri.removeprefix(BEIR_SCHEME))
    if "://" in uri and not uri.startswith("file://"):
        scheme = uri.split("://", 1)[0]
        raise SourceError(f"unsupported source scheme {scheme!r} in {uri!r}; give a folder path")
    return FolderSource(uri.removeprefix("file://"))
