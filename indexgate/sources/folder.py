"""A folder on a local or mounted file system."""

from __future__ import annotations

import mimetypes
import os
from datetime import datetime, timezone
from pathlib import Path

from indexgate.errors import SourceError
from indexgate.hashing import sha256_file, stable_hash
from indexgate.models import Snapshot, SourceObject


class FolderSource:
    """Files under a root folder, addressed by their ``/``-separated path relative to the root.

    Hidden files and folders (names starting with ``.``) are skipped. Symlinks are followed only
    when they resolve inside the root; anything resolving outside is never read.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        self.uri = str(self.root.resolve()) if self.root.exists() else str(self.root)

    def _files(self):
        if not self.root.is_dir():
            raise SourceError(f"source folder not found or not a folder: {self.root}")
        real_root = self.root.resolve()

        def on_error(exc: OSError) -> None:
            # A folder we cannot list would look like deleted documents: stop instead.
            raise SourceError(f"cannot list {exc.filename}: {exc.strerror}") from exc

        for dirpath, dirnames, filenames in os.walk(self.root, onerror=on_error, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                path = Path(dirpath) / name
                resolved = path.resolve()
                if not resolved.is_relative_to(real_root) or not resolved.is_file():
                    continue
                yield path.relative_to(self.root).as_posix(), path

    def snapshot(self) -> Snapshot:
        objects = []
        for doc_id, path in self._files():
            try:
                stat = path.stat()
                digest = sha256_file(path)
            except OSError as exc:
                raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
            objects.append(
                SourceObject(
                    doc_id=doc_id,
                    uri=path.resolve().as_uri(),
                    content_hash=digest,
                    size=stat.st_size,
                    modified=datetime.fromtimestamp(stat.st_mtime, timezone.utc).isoformat(),
                    mime=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                )
            )
        objects.sort(key=lambda o: o.doc_id)
        digest = stable_hash([[o.doc_id, o.content_hash] for o in objects], length=64)
        return Snapshot(source=self.uri, objects=tuple(objects), hash=digest)

    def read(self, doc_id: str) -> bytes:
        path = (self.root / doc_id).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise SourceError(f"refusing to read {doc_id!r}: it resolves outside {self.root}")
        return path.read_bytes()
