"""Data quality of a version: Great Expectations suites on its documents, chunks and embeddings.

:func:`validate_version` is the whole interface: it computes the tables, runs the suites
(defined in :mod:`indexgate.quality.suites`) and writes Great Expectations Data Docs into the
version's work folder. Great Expectations itself is used only inside :mod:`indexgate.quality.gx`,
and by default in a process of its own (:mod:`indexgate.quality.worker`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from indexgate.embedding.cache import EmbeddingCache
from indexgate.models import GateResult
from indexgate.quality import worker
from indexgate.quality.gx import Check, data_docs_index
from indexgate.quality.job import QualityJob
from indexgate.quality.worker import wait_data_docs, warm_up
from indexgate.settings import QualityConfig

__all__ = ["Check", "QualityResult", "start_validation", "validate_version", "wait_data_docs", "warm_up"]


@dataclass(frozen=True)
class QualityResult:
    """``seconds``: what the suites took to validate (in the worker); ``waited``: how long the
    caller waited for them (less, when they ran while the caller went on)."""

    checks: list[Check]
    data_docs: str
    seconds: float
    waited: float = 0.0

    def gates(self) -> list[GateResult]:
        return [GateResult(c.gate, c.success, _value(c), c.threshold, detail=_detail(c)) for c in self.checks]

    def as_dict(self) -> dict:
        return {"checks": [asdict(c) for c in self.checks], "data_docs": self.data_docs,
                "seconds": round(self.seconds, 3), "waited_s": round(self.waited, 3)}


def _value(c: Check):
    if c.unexpected is not None:
        return f"{c.unexpected}/{c.rows} rows fail"
    return round(c.observed, 4) if isinstance(c.observed, float) else c.observed


def _detail(c: Check) -> str:
    return f"e.g. {', '.join(c.sample)}" if c.sample and not c.success else ""


def quality_job(documents: Path, chunks: Path, cache: EmbeddingCache, *, dimension: int, normalized: bool,
                max_tokens: int, config: QualityConfig, folder: Path, source_empty: bool = False) -> QualityJob:
    return QualityJob(documents=Path(documents), chunks=Path(chunks), cache_dir=Path(cache.dir), dimension=dimension,
                      normalized=normalized, max_tokens=max_tokens, config=config, folder=Path(folder),
                      source_empty=source_empty)


def start_validation(documents: Path, chunks: Path, cache: EmbeddingCache, *, suites: tuple[str, ...],
                     **job) -> None:
    """Start ``suites`` of :func:`validate_version` (same arguments) in the quality worker now,
    so that they run while the caller goes on; :func:`validate_version` then collects them. A
    suite is started once its table is final: ``documents`` once the documents table is written,
    ``chunks`` once the chunks table is, ``embeddings`` once every chunk's vector is cached."""
    worker.start(quality_job(documents, chunks, cache, **job), suites)


def validate_version(documents: Path, chunks: Path, cache: EmbeddingCache, *, wait_docs: bool = True,
                     timeout: float = worker.WAIT_S, **job) -> QualityResult:
    """Run the documents, chunks and embeddings suites on one version's tables, in the quality
    worker.

    See :class:`~indexgate.quality.job.QualityJob` for the keyword arguments. When
    :func:`start_validation` started the suites with the same arguments, this collects them.

    Returns once the checks are known: from the worker within ``timeout`` seconds. Else the
    worker is killed and the checks run in this process. With ``wait_docs`` false, the worker
    may still be writing the Data Docs. :func:`wait_data_docs` with the same ``folder`` waits
    for them."""
    started = time.perf_counter()
    spec = quality_job(documents, chunks, cache, **job)
    checks, seconds = worker.validate(spec, cache, timeout)
    if wait_docs:
        wait_data_docs(spec.folder, timeout)
    return QualityResult(checks=checks, data_docs=str(data_docs_index(spec.folder)), seconds=seconds,
                         waited=time.perf_counter() - started)
