"""The one settings object of IndexGate.

Read once at an entry point (the CLI, a flow) with :func:`load_settings` and passed down.
Precedence, highest first: explicit overrides (CLI flags) > environment (``INDEXGATE_*``, nested
with ``__``, e.g. ``INDEXGATE_GATES__MIN_SPAN_RECALL=0.6``) > the YAML config file > defaults.
``QDRANT_URL`` and ``QDRANT_API_KEY`` are honoured without the prefix, as Qdrant's own tools do.

The sections are defined by concept in :mod:`indexgate.config` and re-exported here: import them
from this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexgate.config.files import CONFIG_FILE, POLICY_FILE, YamlSource
from indexgate.config.gates import (
    GATE_NAMES, AuditConfig, GateConfig, GateMode, LatencyConfig, QualityConfig, RegressionConfig,
    policy_names,
)
from indexgate.config.operations import (
    AccessConfig, AccessRule, ApiConfig, DaskConfig, LifecycleConfig, NotifyConfig, ReportConfig, StoreConfig,
)
from indexgate.config.pipeline import ChunkingConfig, EmbedderConfig, ParsingConfig, S3Config, SourceConfig
from indexgate.errors import ConfigError, unknown_name
from indexgate.guardrails.policy import GuardrailsPolicy

__all__ = [
    "GATE_NAMES", "OTHER_VARIABLES", "AccessConfig", "AccessRule", "ApiConfig", "AuditConfig",
    "ChunkingConfig", "DaskConfig", "EmbedderConfig", "GateConfig", "GateMode", "LatencyConfig", "LifecycleConfig",
    "NotifyConfig", "ParsingConfig", "QualityConfig", "RegressionConfig", "ReportConfig", "S3Config", "Settings",
    "SourceConfig", "StoreConfig", "check_environment", "load_settings", "policy_names",
]


class Settings(BaseSettings):
    """Everything IndexGate can be told. Frozen: pass it down, never mutate it."""

    model_config = SettingsConfigDict(
        env_prefix="INDEXGATE_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    home: Path = Field(default_factory=lambda: Path("~/.indexgate").expanduser())
    # Where the embedded store (Qdrant Edge shards) and the embedding cache live; both default to folders under home.
    qdrant_path: Path | None = None
    cache_dir: Path | None = None
    # Model records and ONNX exports (a one-off per model and machine): shared by every state folder.
    models_dir: Path | None = None
    qdrant_url: str | None = Field(
        None, validation_alias=AliasChoices("qdrant_url", "INDEXGATE_QDRANT_URL", "QDRANT_URL")
    )
    qdrant_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("qdrant_api_key", "INDEXGATE_QDRANT_API_KEY", "QDRANT_API_KEY")
    )
    chunking: ChunkingConfig = ChunkingConfig()
    embedder: EmbedderConfig = EmbedderConfig()
    gates: GateConfig = GateConfig()
    source: SourceConfig = SourceConfig()
    parsing: ParsingConfig = ParsingConfig()
    report: ReportConfig = ReportConfig()
    lifecycle: LifecycleConfig = LifecycleConfig()
    store: StoreConfig = StoreConfig()
    dask: DaskConfig = DaskConfig()
    notify: NotifyConfig = NotifyConfig()
    api: ApiConfig = ApiConfig()
    # Personal data and secrets: what each detector does, and the embedding budget (issue 22).
    guardrails: GuardrailsPolicy = GuardrailsPolicy()
    access: AccessConfig | None = None
    # Whether `indexgate sync` runs as a Prefect flow: "auto" when a Prefect API is configured
    # (PREFECT_API_URL, a Prefect profile or file), "always" (a temporary local API if none is),
    # "never" (the library's steps in this process). See indexgate.cli.runner.
    prefect: Literal["auto", "always", "never"] = "auto"
    # Points and chunks are streamed through the pipeline in batches of this many (and the sync's
    # embedding fan-out sends this many texts to the model per task).
    batch_size: int = Field(256, ge=1)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, YamlSource(settings_cls))

    @property
    def qdrant_folder(self) -> Path:
        """Folder of the embedded Qdrant (used when no ``qdrant_url`` is set)."""
        return self.qdrant_path or self.home / "qdrant"

    @property
    def embedding_cache_dir(self) -> Path:
        return self.cache_dir or self.home / "cache" / "embeddings"

    @property
    def models_folder(self) -> Path:
        """Where model records and ONNX exports live (``models_dir``, else :func:`default_models_dir`)."""
        return (self.models_dir or default_models_dir()).expanduser()

    @property
    def spool_folder(self) -> Path:
        return self.source.spool_dir or self.home / "spool"


def default_models_dir() -> Path:
    """The user's cache of model records and ONNX exports: ``$XDG_CACHE_HOME/indexgate/models``
    (``~/.cache/indexgate/models``). Per user, not per state folder: an export depends on the
    model's weights only, and takes seconds."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "indexgate" / "models"


# INDEXGATE_ variables that are not settings: the Docker set-up's (docker/setup.sh, deployments/prefect.yaml).
OTHER_VARIABLES = ("INDEXGATE_REPO", "INDEXGATE_BUCKET")


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Refuse an ``INDEXGATE_`` variable whose section is not a setting (``INDEXGATE_GATE__K``
    for ``INDEXGATE_GATES__K``): the environment would silently not say what its writer meant.
    Keys inside a section are checked by the settings models themselves (unknown ones refused)."""
    environ = os.environ if environ is None else environ
    sections = sorted(Settings.model_fields)
    for key in environ:
        upper = key.upper()
        if not upper.startswith("INDEXGATE_") or upper in OTHER_VARIABLES:
            continue
        section = upper[len("INDEXGATE_"):].split("__")[0].lower()
        if section not in sections:
            raise ConfigError(f"environment variable {key}: " + unknown_name(section, sections, "settings section")
                              .replace("valid: ", "valid sections (INDEXGATE_<SECTION>, nested with __): "))


def load_settings(config: str | Path | None = None, policy: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from defaults, an optional YAML file, the environment and overrides.

    ``policy`` names a YAML file with a ``gates`` and/or a ``guardrails`` section (see
    ``policy.yaml``). It is merged over the config file's sections and under the environment.

    Overrides whose value is ``None`` are ignored, so CLI flags that were not given do not mask
    the environment. Nested overrides are given as dicts (``chunking={"chunk_size": 128}``) and
    merged over the file's values.
    """
    from pydantic import ValidationError

    path = Path(config).expanduser() if config else None
    if path is not None and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    policy_path = Path(policy).expanduser() if policy else None
    if policy_path is not None and not policy_path.is_file():
        raise ConfigError(f"policy file not found: {policy_path}")
    check_environment()
    clean = {key: value for key, value in overrides.items() if value is not None}
    token, policy_token = CONFIG_FILE.set(path), POLICY_FILE.set(policy_path)
    try:
        if any(isinstance(v, dict) for v in clean.values()):
            base = Settings()
            for key, value in list(clean.items()):
                if isinstance(value, dict):
                    current = getattr(base, key)  # None: an optional section (access) not set
                    merged = current.model_dump() if current is not None else {}
                    merged.update({k: v for k, v in value.items() if v is not None})
                    clean[key] = merged
        settings = Settings(**clean)
    except ValidationError as exc:
        where = "".join(f" ({what} {p})" for what, p in (("config file", path), ("policy file", policy_path)) if p)
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise ConfigError(f"invalid settings{where}: {problems}") from None
    finally:
        CONFIG_FILE.reset(token)
        POLICY_FILE.reset(policy_token)
    return settings.model_copy(update={"home": settings.home.expanduser()})


def _problem(err: dict) -> str:
    """One validation error; an unknown key comes with the keys its section takes."""
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "value_error" and "error" in err.get("ctx", {}):
        return f"{where}: {err['ctx']['error']}"  # our own message, without pydantic's "Value error, "
    if err["type"] != "extra_forbidden":
        return f"{where}: {err['msg']}"
    model: Any = Settings
    for part in err["loc"][:-1]:
        field = model.model_fields.get(str(part)) if isinstance(model, type) and issubclass(model, BaseModel) else None
        model = field.annotation if field is not None else None
    if isinstance(model, type) and issubclass(model, BaseModel):
        return f"{where}: " + unknown_name(str(err["loc"][-1]), sorted(model.model_fields), "setting")
    return f"{where}: {err['msg']}"
