"""Scoring retrieval against a golden set of queries with span-level relevance."""

from indexgate.evaluation.evaluate import EvalResult, SpanIndex, evaluate
from indexgate.evaluation.golden import GoldenQuery, Span, load_golden

__all__ = ["EvalResult", "GoldenQuery", "Span", "SpanIndex", "evaluate", "load_golden"]
