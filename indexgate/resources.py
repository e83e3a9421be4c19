"""The outside systems a run uses, built from settings once per process.

Loading the model takes seconds and an Edge shard opens once per process, so
every step of a run shares these objects instead of opening its own.
"""

from __future__ import annotations

import functools
import gc
import threading
from dataclasses import dataclass
from pathlib import Path

from indexgate.chunking import Chunker, make_chunker
from indexgate.embedding import Embedder, EmbeddingCache, make_embedder
from indexgate.embedding.batch import CachedEmbedding
from indexgate.errors import EmbedderMismatch
from indexgate.lifecycle.registry import Registry
from indexgate.settings import EmbedderConfig, Settings, default_models_dir
from indexgate.store import VectorStore, connect, disconnect, disconnect_all

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Resources:
    settings: Settings
    store: VectorStore
    registry: Registry
    embedder: Embedder
    chunker: Chunker
    cache: EmbeddingCache


@functools.lru_cache(maxsize=4)
def _embedder(config: EmbedderConfig, models: Path | None = None) -> Embedder:
    # The embedder is lazy (indexgate.embedding.sentence_transformers): building it reads a cached
    # record; its weights load on the first embed.
    embedder = make_embedder(config, models)
    if _embedder.cache_info().misses == 1:  # (counted on entry) the process's first model
        freeze_start_up()
    return embedder


def freeze_start_up() -> None:
    """Move every object this process holds now out of reach of the cyclic garbage collector
    (``gc.freeze``). The objects made later are collected as usual.

    Called once, when the process's first embedder is built. By then the process holds what it
    keeps for its whole life: imported modules, the clients. (The embedder loads its weights on
    its first embed, and freezes again what that load brought.) That is about 620,000
    objects in a sync's process. Every full collection scanned them all. It took 0.37-0.42 s on
    the development machine, added to whatever sync it fell in, and under 1 ms once they are
    frozen. Frozen objects are still freed when nothing refers to them. Only reference cycles
    among them are never broken, so a start-up cycle that is garbage already stays in memory."""
    gc.freeze()


def embedder_for(settings: Settings) -> Embedder:
    """The process's embedder for these settings, without opening a store (model-only work)."""
    return _embedder(settings.embedder, settings.models_folder)


def pinned_embedder(settings: Settings, recorded: dict) -> Embedder:
    """The embedder a version's manifest pins (``Manifest.embedder``: its fingerprint and config):
    the process's embedder built from the recorded config, accepted only if its fingerprint is the
    recorded one. Raises :class:`EmbedderMismatch` saying why not: never an embedder of another
    model."""
    what = f"{recorded.get('model')} (fingerprint {recorded.get('id')})"
    if not recorded.get("config"):
        raise EmbedderMismatch(f"{what}, whose config its manifest does not record: its queries cannot be embedded")
    try:
        embedder = embedder_for(settings.model_copy(update={"embedder": EmbedderConfig.recorded(recorded["config"])}))
    except Exception as exc:  # noqa: BLE001 - any failure to load it is reported with its reason
        raise EmbedderMismatch(f"{what}, which cannot be loaded here: {exc}") from None
    if embedder.fingerprint.id != recorded.get("id"):
        raise EmbedderMismatch(f"{what}; loading its config here gives fingerprint {embedder.fingerprint.id},"
                               " not the recorded one")
    return embedder


def embedding_for(config: EmbedderConfig, cache_dir: Path, models: Path | None = None) -> tuple[Embedder, EmbeddingCache]:
    """The process's embedder and its embedding cache in ``cache_dir``, and nothing else: what an
    embedding batch needs in any process (a Dask worker too). Opens no store and no state
    folder; the model is loaded once per process. Model records and ONNX exports are in ``models``
    (default: the user's cache, :func:`~indexgate.settings.default_models_dir`)."""
    embedder = _embedder(config, (models or default_models_dir()).expanduser())
    return embedder, _embedding_cache(Path(cache_dir).resolve(), embedder.fingerprint.id, embedder.dimension)


def models_loaded() -> int:
    """How many embedding models this process has loaded."""
    return _embedder.cache_info().misses


@functools.lru_cache(maxsize=16)
def _embedding_cache(root: Path, fingerprint_id: str, dimension: int) -> EmbeddingCache:
    # One instance per folder: concurrent builds (the chunking experiment) share what they embed.
    return EmbeddingCache(root, fingerprint_id, dimension)


_CACHE: dict[str, Resources] = {}


def resources(settings: Settings) -> Resources:
    """The shared resources for these settings (thread-safe; built on first use)."""
    key = settings.model_dump_json(round_trip=True)
    with _LOCK:
        if key not in _CACHE:
            embedder, cache = embedding_for(settings.embedder, settings.embedding_cache_dir, settings.models_folder)
            api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
            _CACHE[key] = Resources(
                settings=settings,
                store=connect(path=settings.qdrant_folder, url=settings.qdrant_url, api_key=api_key,
                              wait_s=settings.lifecycle.wait_s, mode=settings.store.mode()),
                registry=Registry(settings.home),
                embedder=embedder,
                chunker=make_chunker(settings.chunking, embedder.tokenizer, embed=CachedEmbedding(embedder, cache),
                                     vector_space=embedder.fingerprint.id),
                cache=cache,
            )
        return _CACHE[key]


def release(settings: Settings) -> None:
    """Forget the resources of these settings and close their store client (scratch runs)."""
    with _LOCK:
        res = _CACHE.pop(settings.model_dump_json(round_trip=True), None)
    if res is not None:
        disconnect(res.store)


def reset() -> None:
    """Forget every cached resource and close every store client (tests)."""
    with _LOCK:
        _CACHE.clear()
        _embedding_cache.cache_clear()
    disconnect_all()
