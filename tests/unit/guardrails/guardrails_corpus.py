"""Score the guardrails detectors on the labelled corpus (corpus.yaml beside this file).

Run as a script to print the table of docs/guardrails.md:
    PYTHONPATH=. python tests/unit/guardrails/guardrails_corpus.py
With --speed it also times every detector over the sample corpus (data/corpus) and the labelled
texts, repeated to about 2 MB, and prints the throughput.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from indexgate.guardrails.detectors import DETECTOR_NAMES, detect

CORPUS = Path(__file__).with_name("corpus.yaml")
HOLDOUT = Path(__file__).with_name("holdout.yaml")


@dataclass(frozen=True)
class Case:
    about: str        # the corpus section (a detector, or general_near_miss)
    kind: str         # positive | near_miss
    text: str
    find: tuple[tuple[str, str], ...]  # expected (detector, exact text) findings


@dataclass(frozen=True)
class Score:
    detector: str
    positives: int    # expected findings
    near_misses: int  # near-miss cases in the detector's own section
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_cases(path: Path = CORPUS) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Case(about, kind, entry["text"], tuple((d, v) for d, v in entry.get("find") or ()))
        for about, sections in data.items()
        for kind, entries in sections.items()
        for entry in entries
    ]


def errors(case: Case) -> tuple[Counter, Counter, Counter]:
    """True positives, false positives and false negatives of one case, per detector."""
    found = Counter((m.detector, case.text[m.start:m.end]) for m in detect(case.text))
    expected = Counter(case.find)
    tp, fp, fn = Counter(), Counter(), Counter()
    for (det, _), n in (found & expected).items():
        tp[det] += n
    for (det, _), n in (found - expected).items():
        fp[det] += n
    for (det, _), n in (expected - found).items():
        fn[det] += n
    return tp, fp, fn


def score(cases: list[Case]) -> list[Score]:
    tp, fp, fn, pos, near = Counter(), Counter(), Counter(), Counter(), Counter()
    for case in cases:
        t, f, n = errors(case)
        tp += t
        fp += f
        fn += n
        pos.update(d for d, _ in case.find)
        if case.kind == "near_miss":
            near[case.about] += 1
    return [Score(d, pos[d], near[d], tp[d], fp[d], fn[d]) for d in DETECTOR_NAMES]


def table(scores: list[Score]) -> str:
    rows = [
        "| detector | positives | near-misses | TP | FP | FN | precision | recall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scores:
        rows.append(
            f"| {s.detector} | {s.positives} | {s.near_misses} | {s.tp} | {s.fp} | {s.fn}"
            f" | {s.precision:.2f} | {s.recall:.2f} |"
        )
    return "\n".join(rows)


def speed(megabytes: float = 2.0) -> None:
    """Print the detectors' throughput on real prose with findings mixed in."""
    import time

    root = Path(__file__).resolve().parents[3]
    texts = [p.read_text(encoding="utf-8", errors="replace")
             for p in sorted((root / "data" / "corpus").rglob("*")) if p.is_file()]
    texts += [c.text for c in load_cases()]
    sample = "\n".join(texts)
    text = sample * max(1, int(megabytes * 1e6 / len(sample)))
    start = time.perf_counter()
    found = detect(text)
    seconds = time.perf_counter() - start
    print(f"\nspeed: {len(text) / 1e6:.1f} MB in {seconds:.2f} s ="
          f" {len(text) / 1e6 / seconds:.2f} MB/s, {len(found)} findings")
    for name in DETECTOR_NAMES:
        start = time.perf_counter()
        detect(text, (name,))
        print(f"  {name}: {time.perf_counter() - start:.2f} s")
    # Adversarial runs: each detector must stay linear (a nested quantifier once took minutes).
    worst = []
    for unit in ("a_", "key_", "key=", "1 ", "1-", "a:", "1.", "x@a.", "DE89 ", "eyJa.", 'pwd="'):
        text = unit * (100_000 // len(unit))
        for name in DETECTOR_NAMES:
            start = time.perf_counter()
            detect(text, (name,))
            worst.append((time.perf_counter() - start, name, unit))
    seconds, name, unit = max(worst)
    print(f"adversarial 100 kB runs: slowest {name} on {unit!r}*: {seconds:.2f} s")


if __name__ == "__main__":
    import sys

    cases = load_cases()
    print(table(score(cases)))
    general = sum(1 for c in cases if c.about == "general_near_miss")
    print(f"\n{len(cases)} cases, of which {general} general near-misses (no detector's own).")
    for case in cases:
        t, f, n = errors(case)
        if f or n:
            print(f"MISS {case.about}/{case.kind}: fp={dict(f)} fn={dict(n)}: {case.text[:70]!r}")
    holdout = load_cases(HOLDOUT)
    print(f"\nheld-out set ({len(holdout)} cases):")
    print(table(score(holdout)))
    for case in holdout:
        t, f, n = errors(case)
        if f or n:
            print(f"MISS held-out: fp={dict(f)} fn={dict(n)}: {case.text[:70]!r}")
    if "--speed" in sys.argv:
        speed()
