"""Settings sections of running IndexGate: reports, lifecycle, store, Dask, notices, access and the API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


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
    # Seconds a sync waits for the quality worker's checks (or Data Docs). Then it kills the worker
    # as hung and runs them in its own process: a hung worker must not hold the alias for ever.
    quality_wait_s: float = Field(600.0, gt=0)
    # The quality worker's niceness (0: the sync's own priority, 19: the lowest). It runs beside
    # the sync. At 0 its Great Expectations import took CPU from the model's threads: a full sync
    # of 100 documents took 12.6 s (median of 6) against 12.4 s at 10 and 11.9 s at 19
    # (docs/benchmarks.md#the-cpu-of-a-100-document-full-sync). On a machine that other work keeps
    # busy, a high value makes the worker wait for CPU, and the sync for the worker.
    quality_nice: int = Field(10, ge=0, le=19)
    # A first sync of an alias whose source holds no document is refused unless this (or
    # `indexgate sync --allow-empty`) allows an empty index to go live.
    allow_empty: bool = False


class StoreConfig(BaseModel):
    """How collections are searched (indexgate.store.SearchMode; figures in docs/scaling.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Collections with fewer points are searched exactly; larger ones are quantized (below).
    exact_below: int = Field(20_000, ge=1)
    # HNSW edges per node and build candidates; search candidates per query.
    hnsw_m: int = Field(16, ge=4)
    hnsw_ef_construct: int = Field(128, ge=4)
    hnsw_ef: int = Field(128, ge=1)
    # Between exact_below and graph_from: a scan of int8-quantized vectors, the best
    # oversampling x k rescored exactly; the HNSW graph only from graph_from points.
    graph_from: int = Field(2_000_000, ge=1)
    oversampling: float = Field(2.0, ge=1.0)

    def mode(self):
        from indexgate.store.base import SearchMode
        return SearchMode(self.exact_below, self.hnsw_m, self.hnsw_ef_construct, self.hnsw_ef, self.graph_from,
                          self.oversampling)


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
