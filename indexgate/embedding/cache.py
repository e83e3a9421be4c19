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
            for part in self._parts():
                if part.name not in self._read:
                    self._known.update(pq.read_table(part, columns=["text_hash"]).column(0).to_pylist())
                    self._read.add(part.name)
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
        table = ds.dataset([str(p) for p in self._parts()], format="parquet").to_table(
            filter=ds.field("text_hash").isin(wanted)
        )
        keys = table.column("text_hash").to_pylist()
        flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        vectors = np.asarray(flat, dtype=np.float32).reshape(len(keys), self.dimension)
        return dict(zip(keys, vectors))

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
        table = pa.table({
            "text_hash": pa.array([hashes[i] for i in keep], pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), self.dimension),
        })
        name = f"part-{uuid.uuid4().hex}.parquet"
        tmp = self.dir / f".{name}.tmp"
        pq.write_table(table, tmp)
        tmp.rename(self.dir / name)
        with self.lock:
            self._known.update(hashes[i] for i in keep)
            self._read.add(name)
