"""The guardrails policy: an action per detector, per folder, and the embedding budget.

The policy lives under a ``guardrails:`` key, in its own YAML file or beside ``gates:`` in the
policy file. Without one, every detector redacts: the safe default.

    guardrails:
      actions:                # detector -> redact | block | allow
        ip_address: allow
      paths:                  # later entries win over earlier ones and over ``actions``
        - glob: "hr/**"
          actions: {email: block}
      phone_region: US        # country of phone numbers written without +country code
      budget:
        max_tokens: 5000000
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from indexgate.config.files import read_yaml
from indexgate.errors import ConfigError
from indexgate.hashing import stable_hash
from indexgate.guardrails.budget import EmbeddingBudget
from indexgate.guardrails.detectors import DETECTOR_NAMES


Action = Literal["redact", "block", "allow"]


def _known(actions: dict[str, Action]) -> dict[str, Action]:
    """Refuse a detector name that does not exist, listing the valid ones."""
    unknown = sorted(set(actions) - set(DETECTOR_NAMES))
    if unknown:
        raise ValueError(
            f"unknown detector {', '.join(unknown)}; valid: {', '.join(DETECTOR_NAMES)}"
        )
    return actions


class PathRule(BaseModel):
    """Actions for the documents whose path matches ``glob`` (fnmatch: ``*`` crosses ``/``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    glob: str = Field(min_length=1)
    actions: dict[str, Action]

    @field_validator("actions")
    @classmethod
    def _known_detectors(cls, actions: dict[str, Action]) -> dict[str, Action]:
        return _known(actions)


class GuardrailsPolicy(BaseModel):
    """Which detectors run and what each does to a document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: Action = "redact"  # action of every detector not named in ``actions``
    actions: dict[str, Action] = Field(default_factory=dict)
    paths: tuple[PathRule, ...] = ()
    phone_region: str = Field("US", pattern=r"^[A-Z]{2}$")
    budget: EmbeddingBudget = Field(default_factory=EmbeddingBudget)

    @field_validator("actions")
    @classmethod
    def _known_detectors(cls, actions: dict[str, Action]) -> dict[str, Action]:
        return _known(actions)

    def actions_for(self, path: str) -> dict[str, Action]:
        """The action of every detector for the document at ``path`` (relative, ``/``-separated)."""
        actions = {name: self.actions.get(name, self.default) for name in DETECTOR_NAMES}
        for rule in self.paths:
            if fnmatchcase(path, rule.glob):
                actions.update(rule.actions)
        return actions

    @property
    def fingerprint(self) -> str:
        """What decides a version's stored text: every field but the budget. A change of it is
        another version (the same documents under another policy are another index)."""
        return stable_hash(self.model_dump(mode="json", exclude={"budget"}), length=12)


def load_guardrails_policy(path: Path | None) -> GuardrailsPolicy:
    """The ``guardrails:`` section of the YAML file at ``path``; the default without a file
    or without that section. Raises :class:`ConfigError` with one line naming the file and field.
    """
    if path is None:
        return GuardrailsPolicy()
    data = read_yaml(path, "policy file")
    section = data.get("guardrails")
    if section is None:
        return GuardrailsPolicy()
    if not isinstance(section, dict):
        raise ConfigError(f"policy file {path}: 'guardrails' must be a mapping")
    try:
        return GuardrailsPolicy.model_validate(section)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in ("guardrails", *err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"policy file {path}: {where}: {msg}") from None
