"""Searching an alias from an application: the consumer side of the index.

Guarantees of :class:`Index`:

- every search reads where the alias points when it starts. It is answered wholly from that
  version: its collection, not the alias, is searched. The answer says which version;
- the alias is followed: after a promotion or a rollback the next search serves the new version,
  without reopening anything;
- queries are embedded by the embedder that the served version's manifest pins (its fingerprint
  and config). An embedder or vectors of another fingerprint are refused
  (:class:`EmbedderMismatch`), never searched;
- the alias and its version are checked before any model is loaded. A missing alias or an
  unreadable version is a one-line :class:`NotServing` error;
- ``k`` and the query length are bounded by ``settings.api`` (:class:`QueryError`);
- every search is filtered by the caller's groups (docs/access.md). A caller with no group gets
  no hit. Only ``unfiltered=True`` (an administrator's option) searches every document.

Safe to share between threads (the HTTP API does).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from indexgate.access import caller_groups
from indexgate.embedding import Embedder, EmbedderFingerprint
from indexgate.errors import EmbedderMismatch, IndexGateError, NotServing, QueryError, StoreError
from indexgate.lifecycle.registry import Registry
from indexgate.resources import pinned_embedder
from indexgate.settings import Settings, load_settings
from indexgate.store import Hit, VectorStore, connect
from indexgate.lifecycle.versioning import validate_alias, version_of

DEFAULT_K = 5


@dataclass(frozen=True)
class Served:
    """One version of the alias, as a search sees it: its collection and the embedder it pins."""

    alias: str
    version: str
    collection: str
    embedder: dict  # the manifest's record: fingerprint fields, "id" and "config"

    @property
    def fingerprint(self) -> str:
        return str(self.embedder.get("id"))


@dataclass(frozen=True)
class Answer:
    """The top-k hits of one search, every one from ``version``."""

    alias: str
    version: str
    k: int
    hits: tuple[Hit, ...]
    query: str | None = None  # None when the caller gave a vector

    def as_dict(self) -> dict:
        return {"alias": self.alias, "version": self.version, "query": self.query, "k": self.k,
                "hits": [h.as_dict() for h in self.hits]}


class Index:
    """An alias opened for searching. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, alias: str, settings: Settings, store: VectorStore, registry: Registry,
                 embedder: Embedder | None = None):
        self.alias = validate_alias(alias)
        self.settings = settings
        self._store = store
        self._registry = registry
        self._own_embedder = embedder
        self._lock = threading.Lock()
        self._served: Served | None = None
        self._embedders: dict[str, Embedder] = {}  # fingerprint id -> the embedder checked to match it
        self._closed = False

    @classmethod
    def open(cls, alias: str, settings: Settings | None = None, *, embedder: Embedder | None = None) -> Index:
        """Open ``alias`` in the store and registry of ``settings`` (default: :func:`load_settings`).

        Loads no model. ``embedder``: embed queries with this one instead of the one each
        version pins; a version it did not embed is refused at search time."""
        validate_alias(alias)
        settings = settings or load_settings()
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        store = connect(path=settings.qdrant_folder, url=settings.qdrant_url, api_key=api_key,
                        wait_s=settings.lifecycle.wait_s, mode=settings.store.mode())
        return cls(alias, settings, store, Registry(settings.home), embedder)

    # -- where the alias points ----------------------------------------------------------------
    @property
    def live_version(self) -> str | None:
        """The version the alias serves now, read from the store (None: it serves nothing)."""
        return version_of(self._store.alias_target(self.alias), self.alias)

    def resolve(self) -> Served:
        """The version the alias points at now, checked readable: its collection exists and its
        manifest names its embedder. Loads no model. Reads the pointer on every call; the rest
        is read again only when the pointer changed."""
        self._check_open()
        target = self._store.alias_target(self.alias)
        with self._lock:
            if self._served is not None and self._served.collection == target:
                return self._served
        version = version_of(target, self.alias)
        if version is None:
            raise NotServing(f"alias {self.alias!r} does not exist; run `indexgate sync --alias {self.alias}` first")
        if not self._store.exists(target):
            raise NotServing(f"alias {self.alias!r} points at {target}, which does not exist")
        manifest = self._registry.load(self.alias, version)
        if manifest is None:
            raise NotServing(f"version {version} of alias {self.alias!r} has no manifest under"
                             f" {self._registry.home}: which model embedded it is unknown")
        served = Served(self.alias, version, target, dict(manifest.embedder))
        with self._lock:
            self._served = served
        return served

    def warm(self) -> Served:
        """Resolve the alias and load the embedder its version pins, so the first search is not
        slow. Raises like :meth:`search` does."""
        served = self.resolve()
        self._embedder(served)
        return served

    # -- searching -------------------------------------------------------------------------------
    def search(self, text: str, k: int = DEFAULT_K, *, groups: Iterable[str] | None = None,
               unfiltered: bool = False) -> Answer:
        """The top ``k`` chunks for ``text`` from the version the alias serves when it starts,
        among the documents ``groups`` may read (see :func:`indexgate.access.caller_groups`: no
        group reads nothing). ``unfiltered``: every document (an administrator's option)."""
        self._check_query(text, k)
        where = None if unfiltered else caller_groups(self.settings, groups)
        for attempt in (1, 2):
            served = self.resolve()
            if where is not None and not where:
                return Answer(self.alias, served.version, k, (), query=text)  # no group: nothing
            vector = self._embedder(served).embed_queries([text])
            hits = self._search(served, vector, k, last=attempt == 2, groups=where)
            if hits is not None:
                return Answer(self.alias, served.version, k, tuple(hits[0]), query=text)
        raise AssertionError("unreachable")  # pragma: no cover

    def search_vector(self, vector: np.ndarray, k: int = DEFAULT_K, *,
                      fingerprint: EmbedderFingerprint | str, groups: Iterable[str] | None = None,
                      unfiltered: bool = False) -> Answer:
        """The top ``k`` chunks for a query vector the caller embedded itself. ``fingerprint`` (or
        its id) names the embedder that made it: another than the served version's is refused.
        ``groups`` and ``unfiltered`` as for :meth:`search`."""
        self._check_k(k)
        where = None if unfiltered else caller_groups(self.settings, groups)
        given = fingerprint.id if isinstance(fingerprint, EmbedderFingerprint) else str(fingerprint)
        for attempt in (1, 2):
            served = self.resolve()
            if given != served.fingerprint:
                raise EmbedderMismatch(
                    f"the query vector comes from embedder {given}, but version {served.version} of"
                    f" {self.alias!r} was embedded by {served.embedder.get('model')} ({served.fingerprint})")
            hits = self._search(served, np.asarray(vector, dtype=np.float32).reshape(1, -1), k, last=attempt == 2,
                                groups=where)
            if hits is not None:
                return Answer(self.alias, served.version, k, tuple(hits[0]))
        raise AssertionError("unreachable")  # pragma: no cover

    def _search(self, served: Served, vectors: np.ndarray, k: int, last: bool,
                groups: tuple[str, ...] | None = None) -> list[list[Hit]] | None:
        """Search the version's collection; None when it was removed meanwhile (collected after
        the alias moved on), so the caller starts again from where the alias points now."""
        try:
            hits = self._store.search_many(served.collection, vectors, k, groups)
        except Exception:
            if last or self._store.exists(served.collection):
                raise
            return None
        wrong = {h.version for row in hits for h in row} - {served.version}
        if wrong:
            raise StoreError(f"collection {served.collection} holds points of version {sorted(wrong)[0]},"
                             f" not {served.version}; check the store")
        return hits

    def _embedder(self, served: Served) -> Embedder:
        if self._own_embedder is not None:
            if self._own_embedder.fingerprint.id != served.fingerprint:
                raise EmbedderMismatch(
                    f"the given embedder ({self._own_embedder.fingerprint.model}, {self._own_embedder.fingerprint.id})"
                    f" is not the one version {served.version} of {self.alias!r} was embedded by"
                    f" ({served.embedder.get('model')}, {served.fingerprint})")
            return self._own_embedder
        # Known fingerprints skip pinned_embedder's settings copy and checks (most of a search's
        # own cost with a fast model).
        if (embedder := self._embedders.get(served.fingerprint)) is not None:
            return embedder
        try:
            # The process's embedder for the recorded config: each model is loaded once.
            embedder = pinned_embedder(self.settings, served.embedder)
        except EmbedderMismatch as exc:
            raise EmbedderMismatch(f"version {served.version} of {self.alias!r} was embedded by {exc}") from None
        with self._lock:
            self._embedders[served.fingerprint] = embedder
        return embedder

    # -- bounds ----------------------------------------------------------------------------------
    def _check_k(self, k: int) -> None:
        limit = self.settings.api.max_k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= limit:
            raise QueryError(f"k must be a whole number from 1 to {limit} (api.max_k), not {k!r}")

    def _check_query(self, text: str, k: int) -> None:
        self._check_k(k)
        if not isinstance(text, str) or not text.strip():
            raise QueryError("the query is empty")
        limit = self.settings.api.max_query_chars
        if len(text) > limit:
            raise QueryError(f"the query has {len(text)} characters; at most {limit} are allowed (api.max_query_chars)")

    # -- life ------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise IndexGateError(f"the index of alias {self.alias!r} is closed")

    def close(self) -> None:
        """Stop serving from this object. The store client is the process's own and stays open
        for others (:func:`indexgate.store.disconnect_all` closes it)."""
        with self._lock:
            self._closed = True
            self._served = None
            self._embedders.clear()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
