"""One Qdrant Edge shard on disk: its files, its writer lock, its configurations, sealing, and
copying a sealed shard into a new one (the start of the next version of an alias).

Guarantees:

- one writer per shard: the process that builds a version holds ``writer.lock`` (and Edge's
  own WAL lock) until it seals the version or closes the store;
- :func:`write_atomically` writes a file whole or not at all;
- :func:`copy_shard` never writes to the shard it copies. Every file of the copy is a new file:
  a reflink where the file system has them, else the bytes. It is never a hard link, because
  Edge rewrites some segment files in place (deletion flags, id tracker, payload storage).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable, Collection
from pathlib import Path

import qdrant_edge as qe

from indexgate.errors import StoreError
from indexgate.store.base import SearchMode
from indexgate.testhook import checkpoint

OWNER_FILE, SEALED_FILE, LOCK_FILE, CONFIG_FILE = "owner", "sealed", "writer.lock", "edge_config.json"
# The collection's labels (VectorStore.create): payload fields every point holds, kept once here.
LABELS_FILE = "labels.json"
# Edge's "no automatic indexing" (its indexing threshold is in KB of vectors).
_NEVER = 2**31 - 1
# Segments a sealed shard keeps before Edge merges the smallest: the first build's segment, the
# indexed tails of later copies and the plain tail. With 1, sealing a copied version merged and
# quantized all of its points again for a few new ones (docs/store.md#sealing-a-copied-version).
SEGMENTS = 4


def write_atomically(path: Path, data: bytes, pause: str | None = None) -> None:
    """Write ``path`` whole or not at all: a temp file, fsync, rename over, fsync the folder."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if pause:
        checkpoint(pause)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_sparse(src: Path, dst: Path) -> None:
    """Copy a file's data, leaving its holes as holes: Edge preallocates 32 MiB WAL segments
    that hold almost nothing."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        size = os.fstat(fin.fileno()).st_size
        pos = 0
        while pos < size:
            try:
                start = os.lseek(fin.fileno(), pos, os.SEEK_DATA)
            except OSError:  # no data after pos: the rest is a hole
                break
            end = os.lseek(fin.fileno(), start, os.SEEK_HOLE)
            fin.seek(start)
            fout.seek(start)
            left = end - start
            while left > 0:
                chunk = fin.read(min(left, 1 << 20))
                if not chunk:
                    break
                fout.write(chunk)
                left -= len(chunk)
            pos = end
        fout.truncate(size)


def copy_file(src: Path, dst: Path) -> None:
    """A new file with ``src``'s bytes: a reflink (FICLONE) where the file system shares extents
    copy-on-write, else a sparse copy. Never a hard link."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), 0x40049409, fin.fileno())  # FICLONE
            return
        except OSError:
            pass
    copy_sparse(src, dst)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def edge_error(exc: Exception, what: str, path: Path) -> StoreError:
    text = str(exc)
    if "WouldBlock" in text:
        return StoreError(f"shard {path} is open for writing by another process; {what} refused")
    return StoreError(f"Qdrant Edge failed to {what} shard {path}: {text}")


def edge_config(dimension: int, mode: SearchMode, tier: str = "load") -> qe.EdgeConfig:
    """The shard's configuration for a tier of :class:`SearchMode`: ``load`` (plain segments, no
    indexing while points arrive), ``quantized`` (int8 vectors, no graph) or ``graph`` (int8
    vectors and an HNSW graph). Edge indexes only in ``optimize()``, which :func:`seal` calls."""
    built = tier != "load"
    return qe.EdgeConfig(
        # Cold: the vectors and their int8 copy stay memory-mapped files, not copies in each
        # process. Opening a view then costs ~0.1 s, readers share the page cache, and sealing
        # does not hold the whole segment in memory. (In RAM, reopening 1M points took 3-8 s and
        # each reader held ~2 GiB; measured in docs/store.md.)
        vectors=qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine, memory=qe.Memory.Cold),
        # m=0: Edge builds no graph but still makes the quantized copy of the vectors.
        hnsw_config=qe.HnswIndexConfig(m=mode.m if tier == "graph" else 0, ef_construct=mode.ef_construct,
                                       full_scan_threshold=10),
        quantization_config=qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=0.99, memory=qe.Memory.Cold)
        if built else None,
        # Once built, optimize() indexes a segment from exact_below points on. A smaller one (what a
        # copied version adds) stays plain and is searched exactly, as a collection that small is.
        # Segments are merged only past SEGMENTS.
        optimizers=qe.EdgeOptimizersConfig(
            indexing_threshold=mode.indexing_threshold_kb(dimension) if built else _NEVER,
            default_segment_number=SEGMENTS))


def tier_of(count: int, mode: SearchMode) -> str:
    if count < mode.exact_below:
        return "load"
    return "graph" if count >= mode.graph_from else "quantized"


def search_params(mode: SearchMode, k: int) -> qe.SearchParams:
    # Ignored on plain segments; on quantized ones the best oversampling x k are rescored.
    return qe.SearchParams(hnsw_ef=max(mode.hnsw_ef, k),
                           quantization=qe.QuantizationSearchParams(rescore=True, oversampling=mode.oversampling))


def lock_writer(path: Path):
    """Take the shard's ``writer.lock`` (flock, not blocking) and write this pid in it."""
    fh = open(path / LOCK_FILE, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        raise StoreError(f"shard {path} is open for writing by another process (pid {holder});"
                         " one process writes a version: wait for it to finish") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


def unlock(fh) -> None:
    fcntl.flock(fh, fcntl.LOCK_UN)
    fh.close()


def check_shard(path: Path) -> None:
    if not (path / CONFIG_FILE).is_file():
        raise StoreError(f"collection {path.name} does not exist (no shard at {path})")
    if not (path / "wal").is_dir():
        raise StoreError(f"shard {path} has no wal/ folder: it is damaged; drop it"
                         " (`indexgate gc` removes unfinished builds) and build the version again")


# Points written between flushes. Edge keeps what it has not flushed in memory: without flushes,
# loading 1M points held ~0.25 KiB a point (333 MiB); flushing every 20k points held 104 MiB at
# 1M and 57 MiB at 300k, for ~9% more load time (docs/store.md).
FLUSH_EVERY = 20_000


class Writer:
    """A shard this process writes: the Edge handle and the held ``writer.lock``."""

    def __init__(self, shard, lock_fh):
        self.shard = shard
        self.lock_fh = lock_fh
        self.unflushed = 0

    def wrote(self, points: int) -> None:
        """Count ``points`` written; flush once :data:`FLUSH_EVERY` have gathered."""
        self.unflushed += points
        if self.unflushed >= FLUSH_EVERY:
            self.shard.flush()
            self.unflushed = 0

    def close(self) -> None:
        try:
            self.shard.flush()
            self.shard.close()
        finally:
            unlock(self.lock_fh)


def optimize(writer: Writer, path: Path, dimension: int, mode: SearchMode) -> None:
    """Flush the shard and, from ``exact_below`` points, reopen it with the quantized (or graph)
    configuration and optimize. Edge then quantizes (and builds the graph of) every segment of
    ``exact_below`` points or more, and every segment built for another tier. A smaller plain
    segment stays as it is: a new version copied from a sealed one keeps its sealed segments,
    and only its own points sit in the plain tail. Past :data:`SEGMENTS` segments Edge merges
    the smallest; past 20% deleted points in a segment it rebuilds that segment."""
    writer.shard.flush()
    tier = tier_of(writer.shard.count(qe.CountRequest(exact=True)), mode)
    if tier == "load":
        return
    writer.shard.close()
    writer.shard = qe.EdgeShard.load(str(path), edge_config(dimension, mode, tier))
    checkpoint("optimize")
    writer.shard.optimize()
    writer.shard.flush()


def trim(shard, keep: Collection[str]) -> None:
    """Delete every point of ``shard`` not in ``keep``. The rest stay untouched in their sealed
    segments: the new version's label lives in the shard's ``labels.json``, not in each payload.
    (Setting a payload field on every copied point made Edge move each one out of its sealed
    segment, and the seal rebuild them all: 2.4x the copy's time and 4.5x its memory at 33,000
    points.)"""
    ids, offset = [], None
    while True:
        records, offset = shard.scroll(qe.ScrollRequest(offset=offset, limit=4096, with_payload=False))
        ids += [str(r.id) for r in records if str(r.id) not in keep]
        if offset is None:
            break
    for start in range(0, len(ids), 4096):
        shard.update(qe.UpdateOperation.delete_points(ids[start:start + 4096]))
    checkpoint("copy")


def write_labels(shard: Path, labels: dict | None) -> None:
    """Write the shard's labels (none: no file)."""
    if labels:
        write_atomically(shard / LABELS_FILE, json.dumps(labels, sort_keys=True).encode())


def read_labels(shard: Path) -> dict:
    """The shard's labels; {} for a shard written before labels existed (its payloads hold them)."""
    try:
        return json.loads((shard / LABELS_FILE).read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise StoreError(f"shard {shard} has an unreadable {LABELS_FILE}: {exc}") from None


def shared_lock(shard: Path, gone: str, busy: str):
    """The shard's ``writer.lock``, open and locked shared: while it is held, no process reopens
    the shard for writing (that takes the lock exclusively). Never waits: a shard that is gone
    raises :class:`StoreError` with ``gone``, one being written with ``busy``. Release it with
    :func:`unlock`."""
    try:
        guard = open(shard / LOCK_FILE, "a+")
    except FileNotFoundError:
        raise StoreError(gone) from None
    try:
        fcntl.flock(guard, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        guard.close()
        raise StoreError(busy) from None
    return guard


def copy_shard(src: Path, dst: Path, dimension: int, mode: SearchMode, trim: Callable[[object], None],
               owner: str | None = None, labels: dict | None = None) -> None:
    """Make ``dst`` a writable copy of the sealed shard ``src``.

    Every file is copied, never linked (see the module docstring), except ``writer.lock``,
    ``sealed``, ``owner`` and ``labels.json``: the copy gets ``owner`` and ``labels`` instead. The copy is reopened with the loading configuration (no indexing
    until sealed) and passed to ``trim``. ``src`` is only read, under a shared lock of its
    ``writer.lock``. (A process reopening it for writing takes that lock exclusively.) The copy
    is made in ``.copy-<name>-<pid>-<hex>``. It is renamed into place once trimmed and flushed,
    so ``dst`` is whole or absent."""
    tmp = dst.with_name(f".copy-{dst.name}-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        guard = shared_lock(src, gone=f"shard {src} was removed before it could be copied",
                            busy=f"shard {src} is being written by another process; it is not copied")
        try:
            if not (src / SEALED_FILE).is_file():
                raise StoreError(f"shard {src} is not sealed; only a sealed shard is copied")
            for src_dir, _dirs, files in os.walk(src):
                rel = Path(src_dir).relative_to(src)
                (tmp / rel).mkdir(parents=True, exist_ok=True)
                for file in files:
                    if rel == Path(".") and file in (LOCK_FILE, SEALED_FILE, OWNER_FILE, LABELS_FILE):
                        continue
                    copy_file(Path(src_dir) / file, tmp / rel / file)
        finally:
            unlock(guard)
        if owner:
            write_atomically(tmp / OWNER_FILE, owner.encode())
        write_labels(tmp, labels)
        try:
            shard = qe.EdgeShard.load(str(tmp), edge_config(dimension, mode))
            try:
                trim(shard)
                shard.flush()
            finally:
                shard.close()
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - Edge raises plain Exception
            raise edge_error(exc, "copy", src) from None
        checkpoint("copied")
        os.rename(tmp, dst)
        fsync_dir(dst.parent)
    except FileNotFoundError as exc:
        raise StoreError(f"shard {src} was removed while copying it ({exc.filename})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
