"""Settings sections of the promotion policy: the gates, their thresholds and their modes."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from indexgate.errors import unknown_name


GateMode = Literal["block", "warn", "off"]
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
                raise ValueError(unknown_name(name, valid, "gate or gate family"))
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
