"""The data-quality suites, defined in code: what each expectation checks and its threshold.

A suite is plain data: expectation class name and arguments, in Great Expectations' own
vocabulary. So this module does not import Great Expectations. :mod:`indexgate.quality.gx`
turns it into GX objects. Some checks have no GX built-in:

- a chunk's offsets lie inside its document;
- ``text == document[start:end]``;
- the mean pairwise cosine of a sample.

:mod:`indexgate.quality.frames` computes these as columns. They are expected here like any
other column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from indexgate.settings import QualityConfig


@dataclass(frozen=True)
class Spec:
    """One expectation of a suite. ``name`` becomes the gate ``quality.<suite>.<name>``;
    ``threshold`` says in words what passing means (for the gate table)."""

    name: str
    expectation: str
    kwargs: dict[str, Any]
    threshold: str


@dataclass(frozen=True)
class Suite:
    name: str
    # Column naming a row in failure samples (doc_id, chunk_id).
    id_column: str
    specs: tuple[Spec, ...] = field(default_factory=tuple)


def documents_suite(config: QualityConfig, supported_types: list[str], source_empty: bool = False) -> Suite:
    """``source_empty``: the source itself holds nothing (a confirmed mass delete), so an empty
    version is the truth, not a failed parse; otherwise at least one document is expected."""
    least = 0 if source_empty else 1
    return Suite("documents", "doc_id", (
        Spec("not_empty", "ExpectTableRowCountToBeBetween", {"min_value": least}, f">= {least} document"),
        Spec("unique_ids", "ExpectColumnValuesToBeUnique", {"column": "doc_id"}, "unique"),
        Spec("non_empty_text", "ExpectColumnValuesToBeBetween", {"column": "stripped_chars", "min_value": 1},
             ">= 1 non-space character"),
        Spec("size_bounds", "ExpectColumnValuesToBeBetween",
             {"column": "chars", "min_value": config.min_document_chars, "max_value": config.max_document_chars},
             f"[{config.min_document_chars}, {config.max_document_chars}] characters"),
        Spec("supported_type", "ExpectColumnValuesToBeInSet",
             {"column": "extension", "value_set": list(supported_types)}, " ".join(supported_types)),
    ))


def chunks_suite(config: QualityConfig, max_tokens: int, empty: bool = False) -> Suite:
    """``empty``: no chunks at all, where the share of unique texts is undefined (not checked)."""
    duplicates = () if empty else (
        Spec("duplicate_share", "ExpectColumnProportionOfUniqueValuesToBeBetween",
             {"column": "text_hash", "min_value": round(1 - config.max_duplicate_share, 6)},
             f"unique text share >= {round(1 - config.max_duplicate_share, 6)}"),
    )
    return Suite("chunks", "chunk_id", (
        Spec("unique_ids", "ExpectColumnValuesToBeUnique", {"column": "chunk_id"}, "unique"),
        Spec("token_count", "ExpectColumnValuesToBeBetween",
             {"column": "n_tokens", "min_value": config.min_chunk_tokens, "max_value": max_tokens},
             f"[{config.min_chunk_tokens}, {max_tokens}] tokens"),
        Spec("not_blank", "ExpectColumnValuesToBeBetween", {"column": "stripped_chars", "min_value": 1},
             ">= 1 non-space character"),
        *duplicates,
        Spec("offsets_inside_document", "ExpectColumnValuesToBeInSet",
             {"column": "offsets_inside", "value_set": [True]}, "0 <= start < end <= len(document)"),
        Spec("text_matches_document", "ExpectColumnValuesToBeInSet",
             {"column": "slice_matches", "value_set": [True]}, "text == document[start:end]"),
    ))


def embeddings_suite(config: QualityConfig, dimension: int, normalized: bool, measurable_collapse: bool) -> Suite:
    specs = [
        Spec("dimension", "ExpectColumnValuesToBeInSet", {"column": "dimension", "value_set": [dimension]},
             f"{dimension} (0 = no vector)"),
        Spec("finite", "ExpectColumnValuesToBeInSet", {"column": "finite", "value_set": [True]}, "all finite"),
    ]
    if normalized:
        specs.append(Spec("unit_norm", "ExpectColumnValuesToBeBetween",
                          {"column": "norm", "min_value": 1 - config.norm_tolerance,
                           "max_value": 1 + config.norm_tolerance},
                          f"|norm - 1| <= {config.norm_tolerance}"))
    if measurable_collapse:
        specs.append(Spec("not_collapsed", "ExpectColumnMeanToBeBetween",
                          {"column": "sample_mean_cosine", "max_value": config.max_mean_cosine},
                          f"mean pairwise cosine <= {config.max_mean_cosine}"))
    return Suite("embeddings", "chunk_id", tuple(specs))
