"""Embeddings cached by (embedder fingerprint, chunk text hash), in Arrow IPC files.

Layout: ``<root>/<fingerprint id>/part-<uuid>.arrow``, columns ``text_hash`` (string) and
``vector`` (fixed-size list of float32), uncompressed, one record batch. Parts are only ever
added, each written to a temporary name and renamed, so a crash never leaves a half-written part
and concurrent writers never collide. A vector is a pure function of (fingerprint, text), so
duplicates across parts are harmless: any copy is the right one. Parts of the former Parquet
layout (``part-<uuid>.parquet``) are still read; a compaction rewrites them as Arrow.

Lookups cost what they ask for, not what the cache holds. Each instance keeps an index (hash to
part and row), built from the hash columns when it first sees a part. A part's vectors are
memory-mapped: a lookup copies only the rows it asks for, and the operating system reads only
their pages. Measured at 1M cached vectors in 8 parts (``benchmarks/embedding_cache.py``): a
lookup of 3,000 hashes took 9 ms, where the former scan of every Parquet part took 2.2 s
(docs/benchmarks.md). Opening the cache still reads every hash once per process (0.5 s at 1M).

One instance per cache folder per process (:func:`indexgate.resources.resources` shares it), so
concurrent builds see each other's vectors; a writer holding :attr:`EmbeddingCache.lock` while it
checks, embeds and adds makes a text that two concurrent builds need hit the model once.

Several processes (Dask workers of the embedding fan-out, see docs/scaling.md) may write to one
folder at once: every part has its own uuid name and appears by an atomic rename, so no writer
ever overwrites or half-shows another's part. A process learns of other processes' parts only
when it calls :meth:`EmbeddingCache.refresh`.

Every write is a part, so a deployment that syncs daily would gather a part a day.
:meth:`EmbeddingCache.compact`, run at the end of each sync, merges the smallest parts into one
when there are more than a few. It writes the merged part before it deletes the parts it merged,
so every vector is in the folder at every moment. A part already mapped stays readable after
its deletion (POSIX keeps an unlinked file while it is mapped). A reader that meets a part
deleted before it mapped it forgets its index and reads the folder again.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


# Reads of a folder that a compaction changed under them are tried again, this many times in all.
_ATTEMPTS = 3
# An index entry packs a part's number and a row: number << _ROW_BITS | row.
_ROW_BITS = 32


class EmbeddingCache:
    def __init__(self, root: Path, fingerprint_id: str, dimension: int):
        self.dir = Path(root) / fingerprint_id
        self.dimension = dimension
        self.schema = pa.schema([("text_hash", pa.string()), ("vector", pa.list_(pa.float32(), dimension))])
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._forget()
        self.refresh()

    def _forget(self) -> None:
        """Drop the index and the mapped parts (the next :meth:`refresh` reads the folder again)."""
        self._index: dict[str, int] = {}  # hash -> its part's number and row (_ROW_BITS)
        self._names: list[str] = []  # part number -> file name
        self._read: set[str] = set()  # names of the parts whose hashes are in the index
        self._vectors: dict[str, np.ndarray] = {}  # part name -> its (rows, dimension) vectors, mapped

    def _parts(self) -> list[Path]:
        return sorted([*self.dir.glob("part-*.arrow"), *self.dir.glob("part-*.parquet")])

    def _table(self, part: Path, columns: list[str] | None = None) -> pa.Table:
        """A part's table: memory-mapped (Arrow) or read (the former Parquet layout)."""
        if part.suffix == ".parquet":
            return pq.read_table(part, columns=columns).cast(self.schema if columns is None else
                                                             pa.schema([self.schema.field(c) for c in columns]))
        with pa.memory_map(str(part)) as source:  # the table's buffers keep the mapping alive
            table = pa.ipc.open_file(source).read_all()
        return table if columns is None else table.select(columns)

    def _add(self, name: str, hashes: list[str]) -> None:
        """Index a part's hashes. A hash also in another part now points here: any copy is right."""
        base = len(self._names) << _ROW_BITS
        self._names.append(name)
        self._read.add(name)
        self._index.update(zip(hashes, range(base, base + len(hashes))))

    def refresh(self) -> int:
        """Learn the hashes of parts written since this instance last looked (by other processes);
        returns how many new hashes it learnt."""
        with self.lock:
            before = len(self._index)
            for _ in range(_ATTEMPTS):
                gone = False
                for part in self._parts():
                    if part.name not in self._read:
                        try:
                            hashes = self._table(part, ["text_hash"]).column(0).to_pylist()
                        except FileNotFoundError:  # merged by a compaction: its merged part is newer
                            gone = True
                            continue
                        self._add(part.name, hashes)
                if not gone:
                    break
            return len(self._index) - before

    def __contains__(self, text_hash: str) -> bool:
        return text_hash in self._index

    def __len__(self) -> int:
        return len(self._index)

    def missing(self, hashes: Iterable[str]) -> list[str]:
        """The hashes not cached yet, deduplicated, in first-seen order."""
        return list(dict.fromkeys(h for h in hashes if h not in self._index))

    def _part_vectors(self, name: str, mapped: dict[str, np.ndarray]) -> np.ndarray:
        """A part's vectors as a (rows, dimension) array: a view of the mapped file (Arrow)."""
        vectors = mapped.get(name)
        if vectors is None:
            column = self._table(self.dir / name, ["vector"]).column(0)
            if column.num_chunks == 1:  # one record batch, as written: no copy
                flat = column.chunk(0).flatten().to_numpy(zero_copy_only=column.null_count == 0)
            else:
                flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
            vectors = mapped[name] = np.asarray(flat, dtype=np.float32).reshape(-1, self.dimension)
        return vectors

    def get_many(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors of the cached hashes among ``hashes``; reads only the rows asked for.

        Takes no lock (a writer holds :attr:`lock` while it embeds): it reads one consistent set
        of index, part names and mapped parts, which :meth:`_forget` replaces rather than clears."""
        hashes = list(dict.fromkeys(hashes))
        mask = (1 << _ROW_BITS) - 1
        for attempt in range(_ATTEMPTS):
            index, names, mapped = self._index, self._names, self._vectors
            by_part: dict[str, list[tuple[str, int]]] = {}
            for text_hash in hashes:
                where = index.get(text_hash)
                if where is not None:
                    by_part.setdefault(names[where >> _ROW_BITS], []).append((text_hash, where & mask))
            try:
                found: dict[str, np.ndarray] = {}
                for name, items in by_part.items():
                    rows = self._part_vectors(name, mapped)[[row for _, row in items]]  # a copy of those rows
                    found.update(zip((h for h, _ in items), rows))
                return found
            except FileNotFoundError:  # a compaction deleted a part before this instance mapped it
                if attempt == _ATTEMPTS - 1:
                    raise
                with self.lock:
                    if self._index is index:  # not read again by another thread meanwhile
                        self._forget()
                        self.refresh()
        raise AssertionError("unreachable")

    def _write(self, table: pa.Table) -> str:
        """Write ``table`` as a new part, atomically (a temporary name, then a rename); its name."""
        name = f"part-{uuid.uuid4().hex}.arrow"
        tmp = self.dir / f".{name}.tmp"
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, self.schema) as writer:
            writer.write_table(table.cast(self.schema).combine_chunks())  # one batch: mapped without a copy
        tmp.rename(self.dir / name)
        return name

    def put_many(self, hashes: list[str], vectors: np.ndarray) -> None:
        """Add vectors; hashes already cached are skipped. Atomic per call."""
        if len(hashes) != len(vectors):
            raise ValueError(f"{len(hashes)} hashes but {len(vectors)} vectors")
        keep = [i for i, h in enumerate(hashes) if h not in self._index]
        if not keep:
            return
        vectors = np.asarray(vectors, dtype=np.float32)[keep]
        if vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, cache holds {self.dimension}")
        kept = [hashes[i] for i in keep]
        name = self._write(pa.table({
            "text_hash": pa.array(kept, pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), self.dimension),
        }))
        with self.lock:
            self._add(name, kept)

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
            table = pa.concat_tables([self._table(p) for p in merge])
        except FileNotFoundError:
            return 0
        hashes = table.column("text_hash").to_pylist()
        first: dict[str, int] = {}  # each hash's first row, in row order
        for row, text_hash in enumerate(hashes):
            first.setdefault(text_hash, row)
        merged = self._write(table.take(list(first.values())))
        with self.lock:
            numbers = {name: number for number, name in enumerate(self._names)}
            gone = {numbers[p.name] for p in merge if p.name in numbers}
            base = len(self._names) << _ROW_BITS
            self._names.append(merged)
            self._read.add(merged)
            for row, text_hash in enumerate(first):  # point the merged parts' hashes at the merged part
                where = self._index.get(text_hash)
                if where is None or where >> _ROW_BITS in gone:
                    self._index[text_hash] = base | row
            for part in merge:
                self._vectors.pop(part.name, None)  # unmapped once nothing refers to it
        for part in merge:
            part.unlink(missing_ok=True)
        return len(merge)
