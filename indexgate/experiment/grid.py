"""The grid file of a chunking experiment (YAML): strategies, their parameter values, the k
values, and the rule that picks the winner.

```yaml
k: [5, 10]
strategies:
  token_window: {chunk_size: [100, 200], chunk_overlap: [0, 50]}   # 4 configurations
  markdown:     {chunk_size: 200, heading_prefix: [false, true]}    # 2
  sentence:                                                         # a list: 1 + 1
    - {chunk_size: 200}
    - {chunk_size: 100, chunk_overlap: 20}
select:
  metric: span_recall        # the metric to maximise ...
  k: 5                       # ... at this k (default: the first k)
  min: {span_precision: 0.03}
  max: {tokens_retrieved: 1000}
```

Each mapping under a strategy expands to every combination of its values (a scalar is one
value); the keys are those of the ``chunking`` settings. Every configuration is built once and
scored at every k.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from indexgate.errors import ConfigError
from indexgate.evaluation.evaluate import METRICS
from indexgate.settings import ChunkingConfig

# Result columns a selection rule may bound (per configuration and k).
BOUNDABLE = (*METRICS, "tokens_retrieved", "chunks", "mean_chunk_tokens", "index_tokens")


class SelectionRule(BaseModel):
    """Highest ``metric`` at ``k`` among the configurations within every ``min`` and ``max``
    bound (also at ``k``); ties go to fewer tokens retrieved, then to the earlier configuration
    in the grid. No configuration within the bounds means no winner."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: Literal["span_recall", "span_precision", "span_iou", "mrr", "ndcg"] = "span_recall"
    k: int | None = Field(None, ge=1)
    min: dict[str, float] = {}
    max: dict[str, float] = {}

    @field_validator("min", "max")
    @classmethod
    def _known_columns(cls, bounds: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(bounds) - set(BOUNDABLE))
        if unknown:
            raise ValueError(f"cannot bound {', '.join(unknown)}; use {', '.join(BOUNDABLE)}")
        return bounds

    def describe(self, k: int) -> str:
        bounds = [f"{name}@{k} >= {value:g}" for name, value in self.min.items()]
        bounds += [f"{name}@{k} <= {value:g}" for name, value in self.max.items()]
        where = f" among configurations with {' and '.join(bounds)}" if bounds else ""
        return f"highest {self.metric}@{k}{where}; ties: fewer tokens retrieved, then grid order"


class Grid(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    k: list[int] = Field([5], min_length=1)
    # strategy -> {parameter: value or [values]}, a list of such mappings, or nothing (defaults)
    strategies: dict[str, dict[str, Any] | list[dict[str, Any]] | None] = Field(min_length=1)
    select: SelectionRule = SelectionRule()

    @field_validator("k")
    @classmethod
    def _positive_unique(cls, ks: list[int]) -> list[int]:
        if any(k < 1 for k in ks):
            raise ValueError("every k must be at least 1")
        return list(dict.fromkeys(ks))

    @model_validator(mode="after")
    def _select_k_in_grid(self) -> Grid:
        if self.select.k is not None and self.select.k not in self.k:
            raise ValueError(f"select.k {self.select.k} is not one of the grid's k values {self.k}")
        return self

    @property
    def select_k(self) -> int:
        return self.select.k or self.k[0]

    def configurations(self) -> list[ChunkingConfig]:
        """Every configuration, in grid order, without duplicates; a bad one is a ConfigError."""
        out: dict[ChunkingConfig, None] = {}
        strategies = get_args(ChunkingConfig.model_fields["strategy"].annotation)
        for strategy, entries in self.strategies.items():
            if strategy not in strategies:
                raise ConfigError(f"grid: unknown strategy {strategy!r} (use {', '.join(strategies)})")
            for entry in entries if isinstance(entries, list) else [entries or {}]:
                if not isinstance(entry, dict):
                    raise ConfigError(f"grid: strategies.{strategy} must map parameters to values")
                names = list(entry)
                values = [v if isinstance(v, list) else [v] for v in entry.values()]
                for combo in itertools.product(*values):
                    params = dict(zip(names, combo))
                    try:
                        config = ChunkingConfig(strategy=strategy, **params)
                    except (ValidationError, TypeError) as exc:
                        raise ConfigError(f"grid: strategies.{strategy} {params}: {_problems(exc)}") from None
                    out.setdefault(config)
        return list(out)


def _problems(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
    return str(exc)


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid file; every problem names the file and what is wrong."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"grid file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"grid file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"grid file {path} must hold a mapping with 'strategies' (and 'k', 'select')")
    try:
        grid = Grid(**data)
        grid.configurations()
    except ValidationError as exc:
        raise ConfigError(f"grid file {path}: {_problems(exc)}") from None
    except ConfigError as exc:
        raise ConfigError(f"grid file {path}: {str(exc).removeprefix('grid: ')}") from None
    return grid


def label(config: ChunkingConfig) -> str:
    """A short human name of a configuration: ``recursive 200/50`` (size/overlap) and options."""
    extra = ""
    if config.heading_prefix:
        extra = " +prefix"
    if config.strategy == "semantic":
        extra = f" p{config.breakpoint_percentile:g}"
    return f"{config.strategy} {config.chunk_size}/{config.chunk_overlap}{extra}"


def winner_chunking(config: ChunkingConfig) -> dict:
    """The chunking settings of a configuration, only the keys that apply to its strategy."""
    keep = {"strategy", "chunk_size", "chunk_overlap"}
    keep |= {"heading_prefix"} if config.strategy == "markdown" else set()
    keep |= {"breakpoint_percentile"} if config.strategy == "semantic" else set()
    return {k: v for k, v in config.model_dump().items() if k in keep}
