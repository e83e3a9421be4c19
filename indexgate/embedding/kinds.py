"""Embedder kinds: the names ``embedder.kind`` accepts, and what builds each.

The library knows one kind, ``sentence-transformers``.
A program that embeds with something else registers its kind in its own process, before it loads settings.
The registry lives in the process only: nothing in a config file or the environment adds a kind.
This module imports nothing heavy, so registering a kind costs no import time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from indexgate.errors import ConfigError, unknown_name

BUILT_IN = "sentence-transformers"

# config -> embedder. Typed loosely: this module sits below the settings and the embedders, which
# both import it, so it imports neither.
EmbedderFactory = Callable[[Any], Any]

_LOCK = threading.Lock()
# The built-in kind is built by indexgate.embedding.make_embedder itself (no factory here).
_FACTORIES: dict[str, EmbedderFactory | None] = {BUILT_IN: None}


def register_embedder(kind: str, factory: EmbedderFactory) -> None:
    """Let ``embedder.kind: <kind>`` select ``factory`` in this process.

    ``factory`` gets the embedder config and returns an embedder.
    Registering a kind again replaces its factory; the built-in kind cannot be replaced.
    """
    if not kind or not isinstance(kind, str):
        raise ValueError(f"an embedder kind is a non-empty string, not {kind!r}")
    if kind == BUILT_IN:
        raise ValueError(f"embedder kind {BUILT_IN!r} is built in and cannot be replaced")
    with _LOCK:
        _FACTORIES[kind] = factory


def embedder_kinds() -> tuple[str, ...]:
    """The kinds this process accepts, the built-in one first."""
    with _LOCK:
        return (BUILT_IN, *sorted(k for k in _FACTORIES if k != BUILT_IN))


def check_kind(kind: str) -> str:
    """``kind`` itself, if this process knows it; else a ``ValueError`` naming the valid kinds."""
    valid = embedder_kinds()
    if kind not in valid:
        raise ValueError(unknown_name(kind, valid, "embedder kind"))
    return kind


def factory_for(kind: str) -> EmbedderFactory | None:
    """What builds ``kind``: None for the built-in kind.

    Raises :class:`ConfigError` for a kind this process does not know."""
    try:
        check_kind(kind)
    except ValueError as exc:
        raise ConfigError(f"embedder.kind: {exc}") from None
    with _LOCK:
        return _FACTORIES[kind]
