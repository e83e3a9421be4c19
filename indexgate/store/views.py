"""Private read views of sealed shards: how any number of processes read a version while
another process builds the next one.

A view is a new folder under ``views/<collection>@<pid>-<hex>/``. In it:

- the shard's large files are hard-linked;
- files under 256 KiB are copied (holes kept);
- an empty WAL, made by Edge.

A sealed shard is flushed, so its own WAL holds nothing the segments lack. A view never writes.
Edge loads it without touching the shard's lock. The shard's files never change (tests hash
them). A view stays readable after its version is dropped: the links keep the data.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import qdrant_edge as qe

from indexgate.errors import StoreError
from indexgate.store.base import SearchMode
from indexgate.store.shards import (
    LOCK_FILE, SEALED_FILE, copy_sparse, edge_config, edge_error, pid_alive, shared_lock, unlock,
)

# Files this small are copied into a view rather than linked: configs and trackers that Edge
# may rewrite in place cost nothing to copy; the vectors, payloads and graphs are linked.
_COPY_BELOW = 256 * 1024


class View:
    """A private read view of a sealed shard, shared by this process's readers (counted)."""

    def __init__(self, shard, folder: Path, seal_id: str):
        self.shard, self.folder, self.seal_id = shard, folder, seal_id
        self.users = 0
        self.retired = False

    def close(self) -> None:
        try:
            self.shard.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def view_pid(folder: Path) -> int:
    """The pid in a view's name (``<collection>@<pid>-<hex>``); ValueError if it has none."""
    try:
        return int(folder.name.rsplit("@", 1)[1].split("-")[0])
    except IndexError:
        raise ValueError(folder.name) from None


def live_views(views_dir: Path, name: str) -> set[int]:
    """The live processes holding a view of collection ``name``."""
    return {pid for folder in views_dir.glob(f"{name}@*") if pid_alive(pid := view_pid(folder))}


def open_view(views_dir: Path, name: str, path: Path, seal_id: str) -> View:
    """A view of the sealed shard at ``path``.

    A shared lock of ``writer.lock`` is held while linking. A process reopening the shard for
    writing takes that lock exclusively, then looks for views. So no view is made of files about
    to change."""
    guard = shared_lock(path, gone=f"collection {name} was removed while opening a view of it",
                        busy=f"shard {path} is being written again by another process; read it when it is sealed")
    try:
        if not (path / SEALED_FILE).is_file() or (path / SEALED_FILE).read_text().strip() != seal_id:
            raise StoreError(f"shard {path} was unsealed while opening a view of it; read it again")
        return _link_view(views_dir, name, path, seal_id)
    finally:
        unlock(guard)


def _empty_wal(views_dir: Path) -> Path:
    """An empty WAL made by Edge itself (a throw-away shard), kept in ``views/.empty-wal``."""
    template = views_dir / ".empty-wal"
    if not template.is_dir():
        scratch = views_dir / f".scratch-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        qe.EdgeShard.create(str(scratch), edge_config(1, SearchMode())).close()
        try:
            os.rename(scratch / "wal", template)
        except OSError:  # another process made it first
            pass
        shutil.rmtree(scratch, ignore_errors=True)
    return template


# Where Edge keeps a segment's int8 vectors and its payloads (Qdrant's segment layout,
# qdrant-edge-py 0.9). tests/unit/store/test_edge.py fails if a shard no longer has such files.
QUANTIZED_FILES = "segments/*/vector_storage/quantized.data"
PAYLOAD_FILES = "segments/*/payload_storage/page_*.dat"
_READ_CHUNK = 1 << 22


def warm(folder: Path, pattern: str) -> int:
    """Read the shard's files that match ``pattern`` once, in large sequential reads, so they
    are in the page cache before Edge touches them. Returns the bytes read.

    Why: Edge keeps int8 vectors and payloads memory-mapped and "cold". A process that is done
    with them drops them from the page cache, and a freshly copied shard's pages are not mapped
    yet. Edge then faults them in 4 KiB at a time: the first query of a new process took about
    1 s at 200k points (5-6 s at 1M); the first read of every payload of a just-built
    33,000-point version took 1.07 s against 0.29 s. One sequential read costs a tenth of that
    (measured in docs/store.md). Nothing is written; a missing file reads nothing."""
    read = 0
    for file in sorted(folder.glob(pattern)):
        with open(file, "rb", buffering=0) as fh:
            while chunk := fh.read(_READ_CHUNK):
                read += len(chunk)
    return read


def warm_quantized(folder: Path) -> int:
    """:func:`warm` of the int8 vectors: a view does it before its first query."""
    return warm(folder, QUANTIZED_FILES)


def _link_view(views_dir: Path, name: str, path: Path, seal_id: str) -> View:
    """The shard's files hard-linked, small ones copied, and an empty WAL. (Copying the shard's
    WAL instead costs up to ~64 MiB a reader: the closed segment Edge retains.)"""
    folder = views_dir / f"{name}@{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        empty_wal = _empty_wal(views_dir)
        for src_dir, _dirs, files in os.walk(path):
            rel = Path(src_dir).relative_to(path)
            if rel.parts[:1] == ("wal",):
                continue
            (folder / rel).mkdir(parents=True, exist_ok=True)
            for file in files:
                if rel == Path(".") and file == LOCK_FILE:
                    continue
                src, dst = Path(src_dir) / file, folder / rel / file
                if src.stat().st_size < _COPY_BELOW:
                    copy_sparse(src, dst)
                else:
                    os.link(src, dst)
        (folder / "wal").mkdir()
        for file in empty_wal.iterdir():
            copy_sparse(file, folder / "wal" / file.name)
        warm_quantized(folder)
        shard = qe.EdgeShard.load(str(folder))
    except FileNotFoundError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise StoreError(f"collection {name} was removed while opening a view of it ({exc.filename})") from None
    except Exception as exc:  # noqa: BLE001 - Edge raises plain Exception
        shutil.rmtree(folder, ignore_errors=True)
        raise edge_error(exc, "read a view of", path) from None
    return View(shard, folder, seal_id)


def sweep_views(views_dir: Path) -> list[str]:
    """Remove the views (and empty-WAL scratch folders) of dead processes."""
    removed = []
    for folder in views_dir.iterdir():
        try:
            if folder.name.startswith(".scratch-"):  # an empty WAL being made
                pid = int(folder.name.split("-")[1])
            else:
                pid = view_pid(folder)
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
    return removed
