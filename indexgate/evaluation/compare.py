"""Is a drop in a golden-set metric real? A paired test over the queries.

Both versions are scored on the same queries, so each query gives a pair (live, shadow). The
test asks whether the live version is better on average than chance alone would show:

- ``bootstrap``: resample the queries with replacement (a fixed seed, so the answer is
  reproducible); the p-value is the share of resampled mean drops that are <= 0.
- ``wilcoxon``: the Wilcoxon signed-rank test (scipy), one-sided, live > shadow.

A drop is *significant* when p < 1 - confidence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class PairedComparison:
    metric: str
    live: float
    shadow: float
    drop: float        # mean(live) - mean(shadow); positive when the shadow is worse
    p_value: float
    significant: bool
    test: str
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


def p_value_of_drop(live: np.ndarray, shadow: np.ndarray, test: str, resamples: int = 2000, seed: int = 0) -> float:
    """One-sided p-value of "live is better than shadow" over paired per-query scores."""
    diff = np.asarray(live, dtype=float) - np.asarray(shadow, dtype=float)
    if len(diff) == 0 or not np.any(diff):
        return 1.0
    if test == "bootstrap":
        rng = np.random.default_rng(seed)
        means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
        return float(np.mean(means <= 0))
    if test == "wilcoxon":
        from scipy.stats import wilcoxon

        p = wilcoxon(diff, alternative="greater", zero_method="wilcox").pvalue
        return 1.0 if np.isnan(p) else float(p)
    raise ValueError(f"unknown paired test {test!r}")


def compare(metric: str, live: list[float], shadow: list[float], test: str, confidence: float,
            resamples: int = 2000) -> PairedComparison:
    live_a, shadow_a = np.asarray(live, dtype=float), np.asarray(shadow, dtype=float)
    if live_a.shape != shadow_a.shape:
        raise ValueError(f"unpaired scores: {live_a.shape} live vs {shadow_a.shape} shadow")
    p = p_value_of_drop(live_a, shadow_a, test, resamples)
    live_mean = float(live_a.mean()) if len(live_a) else 0.0
    shadow_mean = float(shadow_a.mean()) if len(shadow_a) else 0.0
    return PairedComparison(metric, live_mean, shadow_mean, live_mean - shadow_mean, p, p < 1 - confidence,
                            test, len(live_a))


def compare_results(live, shadow, metrics: tuple[str, ...], test: str, confidence: float,
                    resamples: int = 2000) -> list[PairedComparison]:
    """Compare two evaluations (:class:`~indexgate.evaluation.evaluate.EvalResult`) of the same
    golden set query by query. Raises ValueError when they did not score the same queries."""
    live_rows = {row["query_id"]: row for row in live.per_query}
    shadow_rows = {row["query_id"]: row for row in shadow.per_query}
    if live_rows.keys() != shadow_rows.keys():
        raise ValueError(f"live scored {len(live_rows)} queries, shadow {len(shadow_rows)}: not the same set")
    ids = list(shadow_rows)
    return [compare(m, [live_rows[q][m] for q in ids], [shadow_rows[q][m] for q in ids], test, confidence, resamples)
            for m in metrics]
