"""Read a YAML file that must hold a mapping (a config or policy file).

Its own module, below both :mod:`indexgate.settings` and :mod:`indexgate.guardrails.policy`,
which read such files: neither imports the other for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from indexgate.errors import ConfigError


def read_yaml(path: Path, what: str) -> dict[str, Any]:
    """The mapping at the top of the YAML file at ``path``.

    Raises :class:`ConfigError` in one line naming ``what`` and the file: not found, not valid
    YAML, or not a mapping. An empty file is an empty mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must hold a mapping at the top level")
    return data
