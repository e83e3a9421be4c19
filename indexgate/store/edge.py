"""The embedded store on Qdrant Edge (``qdrant-edge-py``): Qdrant's engine in this process.

Layout of the store folder::

    shards/<alias>__<version>/        one Edge shard per collection (version), plus our files:
        owner                         the installation id that created it (indexgate.lifecycle.recovery)
        sealed                        written once the version is built; its content is the seal id
        writer.lock                   flock held by the one process writing the shard
    aliases/<alias>.json              the alias (:mod:`indexgate.store.aliases`)
    views/<collection>@<pid>-<hex>/   private read views of sealed shards (:mod:`indexgate.store.views`)

Guarantees:

- one writer per shard (:mod:`indexgate.store.shards`);
- a sealed shard is never written in place while a view of it exists: writes to a sealed
  shard are refused while a live process reads it;
- readers never block writers or each other: every reader of a sealed version loads a private
  view and deletes it on close;
- a new version can start as a copy of another's sealed shard (:meth:`EdgeStore.create_from`).
  The copy is made and trimmed in a temporary folder and renamed into place. The shard it
  copies is only read;
- dropping renames the shard away first (``shards/.trash-*``). So a crash mid-removal leaves
  nothing that looks like a collection. :meth:`EdgeStore.sweep` removes the leftovers and the
  views of dead processes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from indexgate.errors import StoreError
from indexgate.store.aliases import PointerAliases
from indexgate.store.base import GROUPS_FIELD, PAYLOAD_FIELDS, Hit, SearchMode, StoredPoint, VectorStore, hit_of
from indexgate.store.shards import (CONFIG_FILE, OWNER_FILE, SEALED_FILE, Writer, check_shard, copy_shard, read_labels,
                                    write_labels,
                                    edge_config, edge_error, lock_writer, optimize, pid_alive, search_params, trim,
                                    unlock, write_atomically)
from indexgate.store.views import PAYLOAD_FILES, View, live_views, open_view, sweep_views, warm
from indexgate.testhook import checkpoint

log = logging.getLogger(__name__)

_BATCH = 256  # queries per query_batch call


class EdgeStore(PointerAliases, VectorStore):
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
        self._writers: dict[str, Writer] = {}
        self._views: dict[str, View] = {}
        self._labels: dict[str, dict] = {}  # shard name -> its labels (written once, before it appears)

    # -- paths and handles -------------------------------------------------------------------
    def shard_dir(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise StoreError(f"invalid collection name {name!r}")
        return self.shards / name

    def _writer(self, name: str, unseal: bool = True) -> _Writer:
        """This process's writer of ``name``, opening it if needed. A sealed shard is reopened
        for writing only when no live process holds a view of it (its files are linked there)."""
        with self._lock:
            if name in self._writers:
                return self._writers[name]
            path = self.shard_dir(name)
            check_shard(path)
            fh = lock_writer(path)
            try:
                if (path / SEALED_FILE).exists():
                    if not unseal:
                        raise StoreError(f"collection {name} is sealed; it is not written again")
                    self._retire_view(name)
                    readers = live_views(self.views_dir, name)
                    if readers:
                        raise StoreError(f"collection {name} is sealed and read by pids {sorted(readers)};"
                                         " a built version is not written while it is read")
                    (path / SEALED_FILE).unlink()
                try:
                    shard = qe.EdgeShard.load(str(path))
                except Exception as exc:  # noqa: BLE001 - Edge raises plain Exception
                    raise edge_error(exc, "open", path) from None
            except BaseException:
                unlock(fh)
                raise
            self._writers[name] = writer = Writer(shard, fh)
            return writer

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
            check_shard(path)
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
                view = self._views[name] = open_view(self.views_dir, name, path, seal_id)
            view.users += 1
            return view.shard, self._releaser(view)

    def _releaser(self, view: View):
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

    def _labels_of(self, shard_name: str) -> dict:
        with self._lock:
            if shard_name not in self._labels:
                self._labels[shard_name] = read_labels(self.shard_dir(shard_name))
            return self._labels[shard_name]

    def _read(self, name: str, fn, labeled: bool = False):
        """``fn(shard)`` on a reader of ``name``; with ``labeled``, ``fn(shard, labels)``."""
        resolved = self._resolve(name)
        labels = self._labels_of(resolved) if labeled else None  # before a drop can remove the file
        shard, release = self._acquire(resolved)
        try:
            return fn(shard, labels) if labeled else fn(shard)
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

    def create(self, name: str, dimension: int, owner: str | None = None, labels: dict | None = None) -> None:
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
            write_labels(path, labels)  # before Edge's config makes the shard exist
            self._labels.pop(name, None)
            fh = lock_writer(path)
            try:
                shard = qe.EdgeShard.create(str(path), edge_config(dimension, self.mode))
            except Exception as exc:  # noqa: BLE001
                unlock(fh)
                raise edge_error(exc, "create", path) from None
            self._writers[name] = Writer(shard, fh)
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
            self._labels.pop(name, None)
            if path.exists():
                fh = lock_writer(path)  # raises if another process writes it
                trash = self.shards / f".trash-{name}-{uuid.uuid4().hex[:8]}"
                os.replace(path, trash)
                checkpoint("drop")
                unlock(fh)
                shutil.rmtree(trash, ignore_errors=True)
            self._drop_aliases_of(name)

    def create_from(self, name: str, base: str, dimension: int, owner: str | None,
                    keep: Collection[str], labels: dict) -> bool:
        """Start ``name`` as a copy of the sealed collection ``base`` holding only the points in
        ``keep``, labelled with ``labels`` (each copied point stays as it was: see
        :func:`~indexgate.store.shards.trim`). ``base`` is only read (its files are
        copied, never linked). The copy is trimmed in a temporary folder and renamed into place,
        so after a crash ``name`` is absent or holds exactly the kept points. Returns False
        (and does nothing) when ``name`` exists or ``base`` is not a sealed collection."""
        with self.write_lock, self._lock:
            base_path, path = self.shard_dir(base), self.shard_dir(name)
            if self.exists(name) or not self.is_sealed(base) or self.vector_size(base) != dimension:
                return False

            shutil.rmtree(path, ignore_errors=True)  # a folder without a config: a dead create
            self._labels.pop(name, None)
            copy_shard(base_path, path, dimension, self.mode, lambda shard: trim(shard, keep), owner, labels)
            return True

    def vector_size(self, name: str) -> int:
        path = self.shard_dir(self._resolve(name))
        check_shard(path)
        try:
            config = json.loads((path / CONFIG_FILE).read_text())
            return int(config["vectors"][""]["size"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"shard {path} has an unreadable {CONFIG_FILE}: {exc}") from None

    def is_sealed(self, name: str) -> bool:
        return (self.shard_dir(name) / SEALED_FILE).is_file()

    def seal(self, name: str) -> None:
        """Flush the shard; from ``exact_below`` points quantize it (and from ``graph_from``
        build its HNSW graph); close it and write ``sealed``. From then on it is read through
        views. Idempotent. A copied version keeps its copied segments as they are; its new
        points stay plain (searched exactly) until they are ``exact_below`` many
        (:func:`~indexgate.store.shards.optimize`)."""
        with self.write_lock, self._lock:
            path = self.shard_dir(name)
            if self.is_sealed(name) and name not in self._writers:
                return
            writer = self._writer(name)
            try:
                optimize(writer, path, self.vector_size(name), self.mode)
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise edge_error(exc, "seal", path) from None
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
    def _update(self, name: str, operation, points: int = 0) -> None:
        with self.write_lock:
            writer = self._writer(name)
            try:
                writer.shard.update(operation)
                writer.wrote(points)
            except Exception as exc:  # noqa: BLE001
                raise edge_error(exc, "write", self.shard_dir(name)) from None

    def upsert(self, name: str, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        """Idempotent: the same ids overwrite the same points. Durable on return (Edge's WAL)."""
        if not ids:
            return
        labels = self._labels_of(name)
        if labels:
            payloads = [_unlabelled(p, labels, name) for p in payloads]
        points = [qe.Point(i, v, p) for i, v, p in zip(ids, np.asarray(vectors, np.float32).tolist(), payloads,
                                                       strict=True)]
        self._update(name, qe.UpdateOperation.upsert_points(points), len(points))

    def set_payload(self, name: str, ids: Sequence[str], payload: dict) -> None:
        self._update(name, qe.UpdateOperation.set_payload(list(ids), payload))

    def delete_payload(self, name: str, ids: Sequence[str], keys: Sequence[str]) -> None:
        self._update(name, qe.UpdateOperation.delete_payload(list(ids), list(keys)))

    def delete_points(self, name: str, ids: Sequence[str]) -> None:
        self._update(name, qe.UpdateOperation.delete_points(list(ids)))

    def _pages(self, name: str, batch: int, with_payload, with_vectors: bool = False) -> Iterator[tuple[list, dict]]:
        """Pages of records, each with the labels of the shard it was read from."""
        offset = None
        while True:
            request = qe.ScrollRequest(offset=offset, limit=batch, with_payload=with_payload,
                                       with_vector=with_vectors)
            (records, offset), labels = self._read(name, lambda s, lab, r=request: (s.scroll(r), lab), labeled=True)
            yield records, labels
            if offset is None:
                return

    def scroll(self, name: str, limit: int = 10_000, with_vectors: bool = False) -> list[StoredPoint]:
        records, labels = self._read(name, lambda s, lab: (s.scroll(
            qe.ScrollRequest(limit=limit, with_payload=True, with_vector=with_vectors))[0], lab), labeled=True)
        return [StoredPoint(str(r.id), {**(r.payload or {}), **labels}, list(r.vector) if with_vectors else None)
                for r in records]

    def iter_ids(self, name: str, batch: int = 1024) -> Iterator[str]:
        for records, _labels in self._pages(name, batch, False):
            yield from (str(r.id) for r in records)

    def iter_payloads(self, name: str, fields: Sequence[str], batch: int = 512) -> Iterator[tuple[str, dict]]:
        # Every payload page is about to be read: one sequential read first (views.warm).
        warm(self.shard_dir(self._resolve(name)), PAYLOAD_FILES)
        for records, labels in self._pages(name, batch, list(fields)):
            asked = {k: v for k, v in labels.items() if k in fields}
            yield from ((str(r.id), {**(r.payload or {}), **asked}) for r in records)

    def search_many(self, name: str, vectors: np.ndarray, k: int,
                    groups: Sequence[str] | None = None) -> list[list[Hit]]:
        """Top-k hits for each query vector; ``name`` may be a collection or an alias. Exact
        below ``exact_below`` points, else as :class:`SearchMode` says."""
        vectors = np.asarray(vectors, np.float32)
        if groups is not None and not groups:
            return [[] for _ in range(len(vectors))]  # no group: reads nothing
        params = search_params(self.mode, k)
        where = None if groups is None else qe.Filter(
            must=[qe.FieldCondition(GROUPS_FIELD, match=qe.MatchAny(list(groups)))])
        requests = [qe.QueryRequest(limit=k, query=qe.Query.Nearest(v), with_payload=list(PAYLOAD_FIELDS),
                                    params=params, filter=where) for v in vectors.tolist()]
        results: list[list[Hit]] = []

        def run(shard, labels):
            for start in range(0, len(requests), _BATCH):
                for points in shard.query_batch(qe.QueryBatchRequest(requests[start:start + _BATCH])):
                    results.append([hit_of({**p.payload, **labels}, p.score) for p in points])
        self._read(name, run, labeled=True)
        return results

    # -- housekeeping ------------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Remove the views of dead processes, dropped shards a crash left in ``shards/.trash-*``,
        unfinished copies of dead processes (``shards/.copy-*``) and pointer temp files of dead
        writers."""
        removed = sweep_views(self.views_dir)
        for trash in [*self.shards.glob(".trash-*"), *self.shards.glob(".copy-*")]:
            if trash.name.startswith(".copy-") and pid_alive(int(trash.name.rsplit("-", 2)[1])):
                continue  # a copy being made by a live process
            shutil.rmtree(trash, ignore_errors=True)
            removed.append(str(trash))
        removed += self._sweep_pointer_temps()
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


def _unlabelled(payload: dict, labels: dict, name: str) -> dict:
    """``payload`` without the collection's labels (kept once, in the shard); refused when it
    gives a label another value."""
    for key, value in labels.items():
        if key in payload and payload[key] != value:
            raise StoreError(f"collection {name} is labelled {key}={value!r}; a point gives {key}={payload[key]!r}")
    return {k: v for k, v in payload.items() if k not in labels}
