"""The YAML files the settings read: the config file and the policy file.

:func:`indexgate.settings.load_settings` names them in :data:`CONFIG_FILE` and :data:`POLICY_FILE`
for the time it builds the settings; :class:`YamlSource` reads them then.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import PydanticBaseSettingsSource

from indexgate.errors import ConfigError

# Set by load_settings for the time it builds the settings; read by YamlSource.
CONFIG_FILE: ContextVar[Path | None] = ContextVar("indexgate_config_file", default=None)
POLICY_FILE: ContextVar[Path | None] = ContextVar("indexgate_policy_file", default=None)


def read_yaml(path: Path, what: str) -> dict[str, Any]:
    """The mapping a YAML file holds; a missing, invalid or non-mapping file is one ConfigError."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must hold a mapping at the top level")
    return data


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class YamlSource(PydanticBaseSettingsSource):
    """Values from the YAML config file named in :func:`load_settings`, with the policy file's
    ``gates`` section merged over the config file's (both below the environment)."""

    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ is used instead
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path, policy = CONFIG_FILE.get(), POLICY_FILE.get()
        data = read_yaml(path, "config file") if path is not None else {}
        if policy is not None:
            rules = read_yaml(policy, "policy file")
            # The promotion policy (gates) and the guardrails policy; each merged over the config's.
            if not rules or not set(rules) <= {"gates", "guardrails"} or \
                    not all(isinstance(v, dict) for v in rules.values()):
                raise ConfigError(f"policy file {policy} must hold one or both mappings 'gates' and 'guardrails'"
                                  f" (found: {', '.join(map(str, rules)) or 'nothing'})")
            for section, values in rules.items():
                base = data.get(section) if isinstance(data.get(section), dict) else {}
                data = {**data, section: deep_merge(base, values)}
        return data
