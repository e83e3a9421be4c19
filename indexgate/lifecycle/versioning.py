"""Version ids and collection names.

A version id is derived from what built it (source snapshot, chunker and embedder
fingerprints): building the same inputs twice gives the same version, so a rerun resumes
instead of duplicating. Its collection is ``<alias>__<version>``.
"""

from __future__ import annotations

import re

from indexgate.errors import ConfigError
from indexgate.hashing import stable_hash

SEPARATOR = "__"
_ALIAS = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$")


def validate_alias(alias: str) -> str:
    """Alias names are 1-64 letters, digits, '-' or '_', without '__' (the version separator)."""
    if not _ALIAS.match(alias or "") or SEPARATOR in alias:
        raise ConfigError(
            f"invalid alias {alias!r}: use 1-64 letters, digits, '-' or '_', starting and ending"
            f" with a letter or digit, and no '{SEPARATOR}'"
        )
    return alias


def version_id(snapshot_hash: str, chunker_fingerprint: str, embedder_fingerprint: str, parser_version: int,
               guardrails: str | None = None) -> str:
    """The id of the version these inputs build. The parser version is part of it: a parser that
    reads the same bytes differently makes a different version, never a silent no-op. So is the
    guardrails policy's fingerprint (``guardrails``), when given: the same documents under
    another policy store other text, so they are another index."""
    inputs = {"snapshot": snapshot_hash, "chunker": chunker_fingerprint, "embedder": embedder_fingerprint,
              "parser": parser_version}
    if guardrails is not None:
        inputs["guardrails"] = guardrails
    return stable_hash(inputs, length=12)


def collection_name(alias: str, version: str) -> str:
    return f"{alias}{SEPARATOR}{version}"


def version_of(collection: str | None, alias: str) -> str | None:
    """The version a collection name holds for this alias, or None if it is not one of its."""
    prefix = alias + SEPARATOR
    if collection and collection.startswith(prefix):
        return collection[len(prefix):]
    return None
