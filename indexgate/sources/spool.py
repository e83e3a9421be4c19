"""A bounded, content-addressed local copy of downloaded objects, and what their ETags hashed to.

A remote object has to be downloaded once to learn its sha256 (the snapshot) and its bytes are
needed again to parse it. The snapshot keeps each download here under its sha256, and the parse
step takes it from here, so each object crosses the network once.

The spool is a cache, never a source of truth. Blobs are named by their sha256. The parse step
checks every blob it reads against the snapshot's hash. So an evicted, damaged or half-written
blob only costs a download.

Layout under ``root``::

    blobs/<sha256[:2]>/<sha256>     object bytes; least recently used evicted beyond max_bytes
    etags.sqlite                    (store, key, etag, size) -> sha256
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


class TooLarge(Exception):
    """The stream grew beyond the limit it was stored with."""


class Spool:
    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._total: int | None = None  # bytes held in blobs/, counted on first use
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- blobs -------------------------------------------------------------------------------

    def _blob(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / "blobs" / sha256[:2] / sha256

    def store(self, chunks: Iterable[bytes], limit: int) -> tuple[str, int]:
        """Hash a stream of bytes, keep it under its sha256 if it fits the spool, and return
        ``(sha256, size)``. Raises :class:`TooLarge` (keeping nothing) past ``limit`` bytes."""
        folder = self.root / "blobs"
        folder.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"more than {limit:,} bytes")
                    digest.update(chunk)
                    fh.write(chunk)
            sha = digest.hexdigest()
            if size <= self.max_bytes:
                target = self._blob(sha)
                target.parent.mkdir(exist_ok=True)
                existed = target.exists()
                os.replace(tmp, target)
                if not existed:
                    self._grow(size)
            return sha, size
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get(self, sha256: str) -> bytes | None:
        """The bytes kept under ``sha256``, or None. The caller verifies them against the hash."""
        path = self._blob(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        os.utime(path)  # recently used: evicted last
        return data

    def _grow(self, size: int) -> None:
        if self._total is None:
            self._total = sum(size for _, size, _ in self._blobs())
        else:
            self._total += size
        if self._total > self.max_bytes:
            self._evict()

    def _blobs(self) -> list[tuple[float, int, Path]]:
        found = []
        for path in (self.root / "blobs").glob("??/*"):
            try:
                st = path.stat()
            except FileNotFoundError:  # evicted by another process meanwhile
                continue
            found.append((st.st_mtime, st.st_size, path))
        return found

    def _evict(self) -> None:
        """Delete least recently used blobs until the spool holds at most 90% of its limit."""
        blobs = sorted(self._blobs())
        total = sum(size for _, size, _ in blobs)
        target = int(self.max_bytes * 0.9)
        for _, size, path in blobs:
            if total <= target:
                break
            path.unlink(missing_ok=True)
            total -= size
        self._total = total
        log.info("spool %s: evicted down to %d bytes", self.root, total)

    # -- ETag index --------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        """One connection per spool, opened on first use. WAL with synchronous=NORMAL: a commit
        does not wait for the disk (an index entry lost in a crash only costs a download)."""
        with self._lock:
            if self._connection is None:
                self.root.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.root / "etags.sqlite", timeout=30, check_same_thread=False,
                                     isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("CREATE TABLE IF NOT EXISTS etags (store TEXT, key TEXT, etag TEXT, size INTEGER,"
                           " sha256 TEXT, PRIMARY KEY (store, key, etag, size))")
                self._connection = db
            return self._connection

    def known_hash(self, store: str, key: str, etag: str, size: int) -> str | None:
        """The sha256 an object with this key, ETag and size had when it was last downloaded."""
        if not etag:
            return None
        db = self._db()
        with self._lock:
            row = db.execute("SELECT sha256 FROM etags WHERE store=? AND key=? AND etag=? AND size=?",
                             (store, key, etag, size)).fetchone()
        return row[0] if row else None

    def remember(self, store: str, key: str, etag: str, size: int, sha256: str) -> None:
        if not etag:
            return
        db = self._db()
        with self._lock:
            db.execute("BEGIN")
            db.execute("DELETE FROM etags WHERE store=? AND key=?", (store, key))
            db.execute("INSERT INTO etags VALUES (?, ?, ?, ?, ?)", (store, key, etag, size, sha256))
            db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
