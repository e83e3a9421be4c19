"""The embedded store on Qdrant Edge (``qdrant-edge-py``): Qdrant's engine in this process.

Layout of the store folder::

    shards/<alias>__<version>/        one Edge shard per collection (version), plus our files:
        owner                         the installation id that created it (indexgate.lifecycle.recovery)
        sealed                        written once the version is built; its content is the seal id
        writer.lock                   flock held by the one process writing the shard
    aliases/<alias>.json              the alias: {"collection": ...}, replaced atomically
    views/<collection>@<pid>-<hex>/   private read views of sealed shards, one per reader

Guarantees:

- one writer per shard: the process that builds a version holds ``writer.lock`` (and Edge's
  own WAL lock) until it seals the version or closes the store;
- a sealed shard is never written in place while a view of it exists: writes to a sealed
  shard are refused while a live process reads it;
- readers never block writers or each other: every reader of a sealed version loads a private
  *view* (the shard's files hard-linked, small files copied, an empty WAL) and deletes it on
  close; a view stays readable after its version is dropped (the links keep the data);
- an alias moves in one ``rename`` of a fully written, fsynced file, then the folder is
  fsynced: after a crash the alias names the old collection or the new one, never neither;
- dropping renames the shard away first (``shards/.trash-*``), so a crash mid-removal leaves
  nothing that looks like a collection; :meth:`EdgeStore.sweep` removes the leftovers and the
  views of dead processes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from indexgate.errors import StoreError
from indexgate.store.base import GROUPS_FIELD, PAYLOAD_FIELDS, Hit, SearchMode, StoredPoint, VectorStore, hit_of
from indexgate.testhook import checkpoint

log = logging.getLogger(__name__)

OWNER_FILE, SEALED_FILE, LOCK_FILE, CONFIG_FILE = "owner", "sealed", "writer.lock", "edge_config.json"
# Files this small are copied into a view rather than linked: configs and trackers that Edge
# may rewrite in place cost nothing to copy; the vectors, payloads and graphs are linked.
_COPY_BELOW = 256 * 1024
_BATCH = 256  # queries per query_batch call


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
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_sparse(src: Path, dst: Path) -> None:
    """Copy a file's data, leaving its holes as holes: Edge preallocates 32 MiB WAL segments
    that hold almost nothing, and a view copies its shard's WAL."""
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _edge_error(exc: Exception, what: str, path: Path) -> StoreError:
    text = str(exc)
    if "WouldBlock" in text:
        return StoreError(f"shard {path} is open for writing by another process; {what} refused")
    return StoreError(f"Qdrant Edge failed to {what} shard {path}: {text}")


class _Writer:
    """A shard this process writes: the Edge handle and the held ``writer.lock``."""

    def __init__(self, shard, lock_fh):
        self.shard = shard
        self.lock_fh = lock_fh

    def close(self) -> None:
        try:
            self.shard.flush()
            self.shard.close()
        finally:
            fcntl.flock(self.lock_fh, fcntl.LOCK_UN)
            self.lock_fh.close()


class _View:
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


class EdgeStore(VectorStore):
    """Collections as Edge shards in one folder (see the module docstring)."""

    def __init__(self, root: Path, mode: SearchMode = SearchMode()):
        root = Path(root)
        if (root / "meta.json").is_file() or (root / "collection").is_dir():
            raise StoreError(
                f"{root} holds qdrant-client's local-mode layout (meta.json, collection/) from before IndexGate"
                f" stored on Qdrant Edge; run `indexgate migrate-store` to copy it into the new layout"
                f" (or move the folder away and sync again)")
        self.root = root
        self.location = str(root)
        self.mode = mode
        self.shards, self.alias_dir, self.views_dir = root / "shards", root / "aliases", root / "views"
        for folder in (self.shards, self.alias_dir, self.views_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.write_lock = threading.RLock()
        self._lock = threading.RLock()  # guards the two maps below
        self._writers: dict[str, _Writer] = {}
        self._views: dict[str, _View] = {}

    # -- paths and handles -------------------------------------------------------------------
    def shard_dir(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise StoreError(f"invalid collection name {name!r}")
        return self.shards / name

    def _config(self, dimension: int) -> qe.EdgeConfig:
        # No graph while loading (Edge indexes only in optimize()); seal() decides.
        return qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine),
            hnsw_config=qe.HnswIndexConfig(m=self.mode.m, ef_construct=self.mode.ef_construct,
                                           full_scan_threshold=10),
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=2**31 - 1, default_segment_number=1))

    def _lock_writer(self, path: Path):
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

    def _check_shard(self, path: Path) -> None:
        if not (path / CONFIG_FILE).is_file():
            raise StoreError(f"collection {path.name} does not exist (no shard at {path})")
        if not (path / "wal").is_dir():
            raise StoreError(f"shard {path} has no wal/ folder: it is damaged; drop it"
                             " (`indexgate gc` removes unfinished builds) and build the version again")

    def _writer(self, name: str, unseal: bool = True) -> _Writer:
        """This process's writer of ``name``, opening it if needed. A sealed shard is reopened
        for writing only when no live process holds a view of it (its files are linked there)."""
        with self._lock:
            if name in self._writers:
                return self._writers[name]
            path = self.shard_dir(name)
            self._check_shard(path)
            fh = self._lock_writer(path)
            try:
                if (path / SEALED_FILE).exists():
                    if not unseal:
                        raise StoreError(f"collection {name} is sealed; it is not written again")
                    self._retire_view(name)
                    readers = self._live_views(name)
                    if readers:
                        raise StoreError(f"collection {name} is sealed and read by pids {sorted(readers)};"
                                         " a built version is not written while it is read")
                    (path / SEALED_FILE).unlink()
                try:
                    shard = qe.EdgeShard.load(str(path))
                except Exception as exc:  # noqa: BLE001 - Edge raises plain Exception
                    raise _edge_error(exc, "open", path) from None
            except BaseException:
                fcntl.flock(fh, fcntl.LOCK_UN)
                fh.close()
                raise
            self._writers[name] = writer = _Writer(shard, fh)
            return writer

    def _live_views(self, name: str) -> set[int]:
        pids = set()
        for folder in self.views_dir.glob(f"{name}@*"):
            pid = int(folder.name.rsplit("@", 1)[1].split("-")[0])
            if _pid_alive(pid):
                pids.add(pid)
        return pids

    def _open_view(self, name: str, path: Path, seal_id: str) -> _View:
        # A shared lock while linking: a process reopening the shard for writing takes it
        # exclusively, then looks for views, so no view is made of files about to change.
        try:
            guard = open(path / LOCK_FILE, "a+")
        except FileNotFoundError:
            raise StoreError(f"collection {name} was removed while opening a view of it") from None
        try:
            fcntl.flock(guard, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            guard.close()
            raise StoreError(f"shard {path} is being written again by another process; read it when it is"
                             " sealed") from None
        try:
            if not (path / SEALED_FILE).is_file() or (path / SEALED_FILE).read_text().strip() != seal_id:
                raise StoreError(f"shard {path} was unsealed while opening a view of it; read it again")
            return self._link_view(name, path, seal_id)
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)
            guard.close()

    def _empty_wal(self) -> Path:
        """An empty WAL made by Edge itself (a throw-away shard), kept in ``views/.empty-wal``."""
        template = self.views_dir / ".empty-wal"
        if not template.is_dir():
            scratch = self.views_dir / f".scratch-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            qe.EdgeShard.create(str(scratch), self._config(1)).close()
            try:
                os.rename(scratch / "wal", template)
            except OSError:  # another process made it first
                pass
            shutil.rmtree(scratch, ignore_errors=True)
        return template

    def _link_view(self, name: str, path: Path, seal_id: str) -> _View:
        """The shard's files hard-linked, small ones copied, and an empty WAL: a sealed shard is
        flushed, so its WAL holds nothing its segments lack, and a view never writes. (Copying
        the shard's WAL instead costs up to ~64 MiB a reader: the closed segment Edge retains.)"""
        folder = self.views_dir / f"{name}@{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            empty_wal = self._empty_wal()
            for src_dir, dirs, files in os.walk(path):
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
            shard = qe.EdgeShard.load(str(folder))
        except FileNotFoundError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise StoreError(f"collection {name} was removed while opening a view of it ({exc.filename})") from None
        except Exception as exc:  # noqa: BLE001
            shutil.rmtree(folder, ignore_errors=True)
            raise _edge_error(exc, "read a view of", path) from None
        return _View(shard, folder, seal_id)

    def _retire_view(self, name: str) -> None:
        view = self._views.pop(name, None)
        if view is not None:
            view.retired = True
            if view.users == 0:
                view.close()

    def _acquire(self, name: str):
        """(shard, release) to read ``name``: this process's writer, else a view of the sealed shard."""
        with self._lock:
            if name in self._writers:
                return self._writers[name].shard, lambda: None
            path = self.shard_dir(name)
            view = self._views.get(name)
            if view is not None and not path.is_dir():
                # Dropped since this view was opened: it still answers (its links hold the data)
                # until this process opens a view of another version (_retire_gone) or closes.
                view.users += 1
                return view.shard, self._releaser(view)
            self._check_shard(path)
            try:
                seal_id = (path / SEALED_FILE).read_text().strip()
            except FileNotFoundError:
                seal_id = None
            if seal_id is None:
                # Not built yet: only its writer reads it (a dead run's shadow is reopened here).
                return self._writer(name).shard, lambda: None
            view = self._views.get(name)
            if view is None or view.seal_id != seal_id:
                self._retire_view(name)
                self._retire_gone()
                view = self._views[name] = self._open_view(name, path, seal_id)
            view.users += 1
            return view.shard, self._releaser(view)

    def _releaser(self, view: _View):
        def release() -> None:
            with self._lock:
                view.users -= 1
                if view.retired and view.users == 0:
                    view.close()
        return release

    def _retire_gone(self) -> None:
        """Close the views of versions dropped since (a long-lived reader would keep them all)."""
        for name in [n for n in self._views if not (self.shards / n).is_dir()]:
            self._retire_view(name)

    def _read(self, name: str, fn):
        shard, release = self._acquire(self._resolve(name))
        try:
            return fn(shard)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"Qdrant Edge failed to read collection {name} ({self.shards / name}): {exc}") from None
        finally:
            release()

    def _resolve(self, name: str) -> str:
        """A collection name, or an alias's target."""
        if name in self._views or name in self._writers or (self.shards / name).is_dir() or "/" in name:
            return name
        target = self.alias_target(name)
        if target is None:
            raise StoreError(f"no collection or alias {name!r} in {self.root}")
        if not (self.shards / target / CONFIG_FILE).is_file():
            raise StoreError(f"alias {name!r} ({self.alias_dir / (name + '.json')}) points at {target},"
                             f" whose shard {self.shards / target} is missing")
        return target

    # -- collections -------------------------------------------------------------------------
    def collections(self) -> list[str]:
        return sorted(p.name for p in self.shards.iterdir()
                      if not p.name.startswith(".") and (p / CONFIG_FILE).is_file())

    def exists(self, name: str) -> bool:
        return (self.shard_dir(name) / CONFIG_FILE).is_file()

    def create(self, name: str, dimension: int, owner: str | None = None) -> None:
        with self.write_lock, self._lock:
            path = self.shard_dir(name)
            if self.exists(name):
                have = self.vector_size(name)
                if have != dimension:
                    raise StoreError(f"collection {name} exists with vector size {have}, expected {dimension}")
                return
            # A folder without a config is a create that died before Edge wrote it: start over.
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            if owner:
                write_atomically(path / OWNER_FILE, owner.encode())
            fh = self._lock_writer(path)
            try:
                shard = qe.EdgeShard.create(str(path), self._config(dimension))
            except Exception as exc:  # noqa: BLE001
                fcntl.flock(fh, fcntl.LOCK_UN)
                fh.close()
                raise _edge_error(exc, "create", path) from None
            self._writers[name] = _Writer(shard, fh)
            # Searches filter on the groups: a keyword index keeps that cheap.
            self._writers[name].shard.update(qe.UpdateOperation.create_field_index(GROUPS_FIELD, qe.PayloadSchemaType.Keyword))

    def owner(self, name: str) -> str | None:
        try:
            return (self.shard_dir(name) / OWNER_FILE).read_text().strip() or None
        except FileNotFoundError:
            return None

    def drop(self, name: str) -> None:
        """Remove the collection and the aliases pointing at it. Refused while another process
        writes it; readers of it keep their views."""
        with self.write_lock, self._lock:
            path = self.shard_dir(name)
            if not path.is_dir():
                return
            writer = self._writers.pop(name, None)
            if writer is not None:
                writer.close()
            self._retire_view(name)
            if path.exists():
                fh = self._lock_writer(path)  # raises if another process writes it
                trash = self.shards / f".trash-{name}-{uuid.uuid4().hex[:8]}"
                os.replace(path, trash)
                checkpoint("drop")
                fcntl.flock(fh, fcntl.LOCK_UN)
                fh.close()
                shutil.rmtree(trash, ignore_errors=True)
            for pointer in self.alias_dir.glob("*.json"):
                try:
                    target = self.alias_target(pointer.stem)
                except StoreError:  # a damaged pointer names nothing we can match
                    continue
                if target == name:
                    self.delete_alias(pointer.stem)

    def vector_size(self, name: str) -> int:
        path = self.shard_dir(self._resolve(name))
        self._check_shard(path)
        try:
            config = json.loads((path / CONFIG_FILE).read_text())
            return int(config["vectors"][""]["size"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"shard {path} has an unreadable {CONFIG_FILE}: {exc}") from None

    def is_sealed(self, name: str) -> bool:
        return (self.shard_dir(name) / SEALED_FILE).is_file()

    def seal(self, name: str) -> None:
        """Flush the shard, build its HNSW graph if it holds ``exact_below`` points or more, close
        it and write ``sealed``. From then on it is read through views. Idempotent."""
        with self.write_lock, self._lock:
            path = self.shard_dir(name)
            if self.is_sealed(name) and name not in self._writers:
                return
            writer = self._writer(name)
            try:
                writer.shard.flush()
                count = writer.shard.count(qe.CountRequest(exact=True))
                if count >= self.mode.exact_below:
                    writer.shard.close()
                    config = self._config(self.vector_size(name))
                    # Reopened with an indexing threshold of 1 KB: optimize() then builds the graph.
                    indexed = qe.EdgeConfig(
                        vectors=config.vectors[""], hnsw_config=config.hnsw_config,
                        optimizers=qe.EdgeOptimizersConfig(indexing_threshold=1, default_segment_number=1))
                    writer.shard = qe.EdgeShard.load(str(path), indexed)
                    writer.shard.optimize()
                    writer.shard.flush()
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise _edge_error(exc, "seal", path) from None
            finally:
                self._writers.pop(name, None)
                writer.close()
            write_atomically(path / SEALED_FILE, uuid.uuid4().hex.encode())

    def wait_ready(self, name: str, timeout: float = 120.0) -> None:
        """Seal the collection if it is not yet (only its writer or a rerun gets here)."""
        self.seal(self._resolve(name))

    def count(self, name: str) -> int:
        return int(self._read(name, lambda s: s.count(qe.CountRequest(exact=True))))

    # -- points ------------------------------------------------------------------------------
    def _update(self, name: str, operation) -> None:
        with self.write_lock:
            writer = self._writer(name)
            try:
                writer.shard.update(operation)
            except Exception as exc:  # noqa: BLE001
                raise _edge_error(exc, "write", self.shard_dir(name)) from None

    def upsert(self, name: str, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        """Idempotent: the same ids overwrite the same points. Durable on return (Edge's WAL)."""
        if not ids:
            return
        points = [qe.Point(i, v, p) for i, v, p in zip(ids, np.asarray(vectors, np.float32).tolist(), payloads,
                                                       strict=True)]
        self._update(name, qe.UpdateOperation.upsert_points(points))

    def set_payload(self, name: str, ids: Sequence[str], payload: dict) -> None:
        self._update(name, qe.UpdateOperation.set_payload(list(ids), payload))

    def delete_payload(self, name: str, ids: Sequence[str], keys: Sequence[str]) -> None:
        self._update(name, qe.UpdateOperation.delete_payload(list(ids), list(keys)))

    def delete_points(self, name: str, ids: Sequence[str]) -> None:
        self._update(name, qe.UpdateOperation.delete_points(list(ids)))

    def _pages(self, name: str, batch: int, with_payload, with_vectors: bool = False) -> Iterator[list]:
        offset = None
        while True:
            request = qe.ScrollRequest(offset=offset, limit=batch, with_payload=with_payload,
                                       with_vector=with_vectors)
            records, offset = self._read(name, lambda s, r=request: s.scroll(r))
            yield records
            if offset is None:
                return

    def scroll(self, name: str, limit: int = 10_000, with_vectors: bool = False) -> list[StoredPoint]:
        records, _ = self._read(name, lambda s: s.scroll(
            qe.ScrollRequest(limit=limit, with_payload=True, with_vector=with_vectors)))
        return [StoredPoint(str(r.id), dict(r.payload or {}), list(r.vector) if with_vectors else None)
                for r in records]

    def iter_ids(self, name: str, batch: int = 1024) -> Iterator[str]:
        for records in self._pages(name, batch, False):
            yield from (str(r.id) for r in records)

    def iter_payloads(self, name: str, fields: Sequence[str], batch: int = 512) -> Iterator[tuple[str, dict]]:
        for records in self._pages(name, batch, list(fields)):
            yield from ((str(r.id), dict(r.payload or {})) for r in records)

    def search_many(self, name: str, vectors: np.ndarray, k: int,
                    groups: Sequence[str] | None = None) -> list[list[Hit]]:
        """Top-k hits for each query vector; ``name`` may be a collection or an alias. Exact
        below ``exact_below`` points (no graph is built there), HNSW with ``hnsw_ef`` above."""
        vectors = np.asarray(vectors, np.float32)
        if groups is not None and not groups:
            return [[] for _ in range(len(vectors))]  # no group: reads nothing
        params = qe.SearchParams(hnsw_ef=max(self.mode.hnsw_ef, k))
        where = None if groups is None else qe.Filter(
            must=[qe.FieldCondition(GROUPS_FIELD, match=qe.MatchAny(list(groups)))])
        requests = [qe.QueryRequest(limit=k, query=qe.Query.Nearest(v), with_payload=list(PAYLOAD_FIELDS),
                                    params=params, filter=where) for v in vectors.tolist()]
        results: list[list[Hit]] = []

        def run(shard):
            for start in range(0, len(requests), _BATCH):
                for points in shard.query_batch(qe.QueryBatchRequest(requests[start:start + _BATCH])):
                    results.append([hit_of(p.payload, p.score) for p in points])
        self._read(name, run)
        return results

    # -- aliases -----------------------------------------------------------------------------
    def _pointer(self, alias: str) -> Path:
        if not alias or "/" in alias or alias.startswith("."):
            raise StoreError(f"invalid alias name {alias!r}")
        return self.alias_dir / f"{alias}.json"

    def aliases(self) -> dict[str, str]:
        return {p.stem: target for p in sorted(self.alias_dir.glob("*.json"))
                if not p.name.startswith(".") and (target := self.alias_target(p.stem)) is not None}

    def alias_target(self, alias: str) -> str | None:
        path = self._pointer(alias)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            target = json.loads(data)["collection"]
            if not isinstance(target, str) or not target:
                raise ValueError("no collection name")
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"alias pointer {path} is damaged ({len(data)} bytes, {exc}); point the alias"
                             f" again (`indexgate rollback --to <version>`) or delete the file") from None
        return target

    def delete_alias(self, alias: str) -> None:
        path = self._pointer(alias)
        with self.write_lock:
            if path.exists():
                path.unlink()
                fd = os.open(self.alias_dir, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def point_alias(self, alias: str, collection: str) -> None:
        """Replace the alias's pointer file in one atomic rename (see the module docstring)."""
        if not self.exists(collection):
            raise StoreError(f"collection {collection} does not exist; cannot point {alias!r} at it")
        with self.write_lock:
            write_atomically(self._pointer(alias), json.dumps({"collection": collection}).encode(), pause="pointer")

    # -- housekeeping ------------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Remove the views of dead processes, dropped shards a crash left in ``shards/.trash-*``
        and pointer temp files of dead writers."""
        removed = []
        for folder in self.views_dir.iterdir():
            try:
                if folder.name.startswith(".scratch-"):  # an empty WAL being made
                    pid = int(folder.name.split("-")[1])
                else:
                    pid = int(folder.name.rsplit("@", 1)[1].split("-")[0])
            except (IndexError, ValueError):
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(str(folder))
        for trash in self.shards.glob(".trash-*"):
            shutil.rmtree(trash, ignore_errors=True)
            removed.append(str(trash))
        for tmp in self.alias_dir.glob(".*.tmp-*"):
            pid = int(tmp.name.rsplit(".tmp-", 1)[1].split("-")[0])
            if not _pid_alive(pid):
                tmp.unlink(missing_ok=True)
                removed.append(str(tmp))
        return removed

    def close(self) -> None:
        """Close every writer (flushed, not sealed) and every view (deleted)."""
        with self._lock:
            writers, self._writers = list(self._writers.values()), {}
            views, self._views = list(self._views.values()), {}
        for writer in writers:
            writer.close()
        for view in views:
            view.retired = True
            if view.users == 0:
                view.close()
