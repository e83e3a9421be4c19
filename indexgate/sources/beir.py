"""A BEIR corpus (``DIR/corpus.jsonl``) as a source, so public retrieval sets sync as they are.

Each line of ``corpus.jsonl`` is a document ``{"_id": str, "title": str, "text": str}``. Its
``doc_id`` is ``_id``, which is what the qrels name. Its content, and so its parsed text, is
``title + "\\n\\n" + text``, or just ``text`` when the title is empty. The content is taken as
UTF-8 bytes, whose sha256 is the content hash. Objects have mime ``text/plain`` and are parsed
as plain text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from indexgate.errors import SourceError
from indexgate.hashing import sha256_bytes, stable_hash
from indexgate.models import Snapshot, SourceObject

SCHEME = "beir:"


def document_text(title: str, text: str) -> str:
    """The text IndexGate indexes for one BEIR document."""
    return f"{title}\n\n{text}" if title else text


class BeirSource:
    """Documents of ``<root>/corpus.jsonl``.

    A malformed line, a missing ``_id`` or a duplicate ``_id`` makes the whole snapshot fail
    (SourceError naming the line). A corpus that cannot be read whole must not be mistaken for one
    that lost documents."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        self.corpus = self.root / "corpus.jsonl"
        self.uri = SCHEME + (str(self.root.resolve()) if self.root.exists() else str(self.root))
        self._offsets: dict[str, int] | None = None

    def _lines(self) -> Iterator[tuple[int, int, bytes]]:
        """(line number, byte offset, line) of every non-blank line."""
        if not self.corpus.is_file():
            raise SourceError(f"BEIR corpus not found: {self.corpus} (a BEIR folder holds corpus.jsonl)")
        try:
            with open(self.corpus, "rb") as fh:
                offset = 0
                for number, line in enumerate(fh, 1):
                    if line.strip():
                        yield number, offset, line
                    offset += len(line)
        except OSError as exc:
            raise SourceError(f"cannot read {self.corpus}: {exc.strerror or exc}",
                              permanent=isinstance(exc, PermissionError)) from exc

    def _record(self, number: int, line: bytes) -> tuple[str, bytes]:
        where = f"{self.corpus}:{number}"
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SourceError(f"{where}: not a valid JSON line ({exc})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("_id"), str) or not obj["_id"]:
            raise SourceError(f"{where}: a BEIR document needs a non-empty string '_id'")
        title, text = obj.get("title") or "", obj.get("text") or ""
        if not isinstance(title, str) or not isinstance(text, str):
            raise SourceError(f"{where}: 'title' and 'text' must be strings")
        return obj["_id"], document_text(title, text).encode("utf-8")

    def snapshot(self) -> Snapshot:
        modified = datetime.fromtimestamp(self.corpus.stat().st_mtime, timezone.utc).isoformat() \
            if self.corpus.is_file() else ""
        objects, offsets = [], {}
        for number, offset, line in self._lines():
            doc_id, data = self._record(number, line)
            if doc_id in offsets:
                raise SourceError(f"{self.corpus}:{number}: duplicate _id {doc_id!r}")
            offsets[doc_id] = offset
            objects.append(SourceObject(doc_id=doc_id, uri=f"{self.corpus.resolve().as_uri()}#{quote(doc_id)}",
                                        content_hash=sha256_bytes(data), size=len(data), modified=modified,
                                        mime="text/plain"))
        self._offsets = offsets
        objects.sort(key=lambda o: o.doc_id)
        digest = stable_hash([[o.doc_id, o.content_hash] for o in objects], length=64)
        return Snapshot(source=self.uri, objects=tuple(objects), hash=digest)

    def read(self, doc_id: str) -> bytes:
        """The document's text as UTF-8 (one seek: line offsets are indexed on first use)."""
        if self._offsets is None:
            self._offsets = {self._record(n, line)[0]: offset for n, offset, line in self._lines()}
        if doc_id not in self._offsets:
            raise SourceError(f"no document {doc_id!r} in {self.corpus}")
        with open(self.corpus, "rb") as fh:
            fh.seek(self._offsets[doc_id])
            return self._record(0, fh.readline())[1]
