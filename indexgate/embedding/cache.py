"""Embeddings cached by (embedder fingerprint, chunk text hash), in Parquet.

Layout: ``<root>/<fingerprint id>/part-<uuid>.parquet``, columns ``text_hash`` (string) and
``vector`` (fixed-size list of float32). Parts are only ever added, each written to a temporary
name and renamed, so a crash never leaves a half-written part and concurrent writers never
collide. A vector is a pure function of (fingerprint, text), so duplicates across parts are
harmless: any copy is the right one.

One instance per cache folder per process (:func:`indexgate.resources.resources` shares it), so
concurrent builds see each other's vectors; a writer holding :attr:`EmbeddingCache.lock` while it
checks, embeds and adds makes a text that two concurrent builds need hit the model once.

Several processes (Dask workers of the embedding fan-out, see docs/scaling.md) may write to one
folder at once: every part has its own uuid name and appears by an atomic rename, so no writer
ever overwrites or half-shows another's part. A process learns of other processes' parts only
when it calls :meth:`EmbeddingCache.refresh`.

Every write is a part, so a deployment that syncs daily would gather a part a day, and every read
opens every part (0.4 ms a part per read, 1 ms a part to open the cache, measured: 200 parts made
a 327-vector read 80 ms instead of 7). :meth:`EmbeddingCache.compact`, run at the end of each
sync, merges the smallest parts into one when there are more than a few. It writes the merged
part before it deletes the parts it merged, so every vector is in the folder at every moment;
a reader that meets a part deleted under it reads the folder again.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq


# Reads of a folder that a compaction changed under them are tried again, this many times in all.
_ATTEMPTS = 3


class EmbeddingCache:
    def __init__(self, root: Path, fingerprint_id: str, dimension: int):
        self.dir = Path(root) / fingerprint_id
        self.dimension = dimension
        self.dir.mkdir(parents=True, exist_ok=True)
        self._known: set[str] = set()
        self._read: set[str] = set()  # names of the parts whose hashes are in _known
        self.lock = threading.RLock()
        self.refresh()

    def _parts(self) -> list[Path]:
        return sorted(self.dir.glob("part-*.parquet"))

    def refresh(self) -> int:
        """Learn the hashes of parts written since this instance last looked (by other processes);
        returns how many new hashes it learnt."""
        with self.lock:
            before = len(self._known)
            for _ in range(_ATTEMPTS):
                gone = False
                for part in self._parts():
                    if part.name not in self._read:
                        try:
                            hashes = pq.read_table(part, columns=["text_hash"]).column(0).to_pylist()
                        except FileNotFoundError:  # merged by a compaction: its merged part is newer
                            gone = True
                            continue
                        self._known.update(hashes)
                        self._read.add(part.name)
                if not gone:
                    break
            return len(self._known) - before

    def __contains__(self, text_hash: str) -> bool:
        return text_hash in self._known

    def __len__(self) -> int:
        return len(self._known)

    def missing(self, hashes: Iterable[str]) -> list[str]:
        """The hashes not cached yet, deduplicated, in first-seen order."""
        return list(dict.fromkeys(h for h in hashes if h not in self._known))

    def get_many(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors of the cached hashes among ``hashes``; reads only the rows asked for."""
        wanted = [h for h in dict.fromkeys(hashes) if h in self._known]
        if not wanted:
            return {}
        for attempt in range(_ATTEMPTS):
            try:
                table = ds.dataset([str(p) for p in self._parts()], format="parquet").to_table(
                    filter=ds.field("text_hash").isin(wanted)
                )
                break
            except FileNotFoundError:  # a compaction deleted a part after it wrote the merged one
                if attempt == _ATTEMPTS - 1:
                    raise
        keys = table.column("text_hash").to_pylist()
        flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        vectors = np.asarray(flat, dtype=np.float32).reshape(len(keys), self.dimension)
        return dict(zip(keys, vectors))

    def _write(self, table: pa.Table) -> str:
        """Write ``table`` as a new part, atomically (a temporary name, then a rename); its name."""
        name = f"part-{uuid.uuid4().hex}.parquet"
        tmp = self.dir / f".{name}.tmp"
        pq.write_table(table, tmp)
        tmp.rename(self.dir / name)
        return name

    def put_many(self, hashes: list[str], vectors: np.ndarray) -> None:
        """Add vectors; hashes already cached are skipped. Atomic per call."""
        if len(hashes) != len(vectors):
            raise ValueError(f"{len(hashes)} hashes but {len(vectors)} vectors")
        keep = [i for i, h in enumerate(hashes) if h not in self._known]
        if not keep:
            return
        vectors = np.asarray(vectors, dtype=np.float32)[keep]
        if vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, cache holds {self.dimension}")
        name = self._write(pa.table({
            "text_hash": pa.array([hashes[i] for i in keep], pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), self.dimension),
        }))
        with self.lock:
            self._known.update(hashes[i] for i in keep)
            self._read.add(name)

    def compact(self, max_parts: int = 8) -> int:
        """Merge the smallest parts into one so that at most ``max_parts`` remain; returns how many
        parts were merged (0: there were not more than ``max_parts``).

        Safe beside readers and writers in any process: the merged part (each hash once) appears
        by an atomic rename before the parts it merged are deleted, and a part written meanwhile is
        not touched. Crashing halfway leaves duplicates, which are harmless (module docstring) and
        merged by the next call. Only the small parts are rewritten, so the large part of a full
        sync is read again only when the small ones have grown as large."""
        if max_parts < 1:
            raise ValueError(f"max_parts must be at least 1, not {max_parts}")
        parts = self._parts()
        if len(parts) <= max_parts:
            return 0
        sizes = {}
        for part in parts:
            try:
                sizes[part] = part.stat().st_size
            except FileNotFoundError:  # another process is compacting: leave it to that one
                return 0
        merge = sorted(parts, key=lambda p: (sizes[p], p.name))[:len(parts) - max_parts + 1]
        try:
            table = pa.concat_tables([pq.read_table(p) for p in merge])
        except FileNotFoundError:
            return 0
        hashes = table.column("text_hash").to_pylist()
        first: dict[str, int] = {}  # each hash's first row, in row order
        for row, text_hash in enumerate(hashes):
            first.setdefault(text_hash, row)
        merged = self._write(table.take(list(first.values())))
        with self.lock:
            self._known.update(hashes)
            self._read.add(merged)
        for part in merge:
            part.unlink(missing_ok=True)
        return len(merge)
