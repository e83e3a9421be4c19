"""Benchmark: a full sync of 100 documents against a sync after 1 of them changed.

    .venv/bin/python benchmarks/incremental_sync.py [--documents 100] [--library | --heartbeats]

Everything runs in one warm Python process: the model is loaded once first (timed apart), and a
tiny warm-up sync starts Prefect's temporary API server (timed apart). Then it times, with
``time.perf_counter`` around the call:

- full sync: ``flows.sync.sync(...)`` on a fresh state directory (empty embedding cache, no live
  version) over N generated Markdown documents of 2-4 KB: snapshot, parse, chunk, embed, load
  into a new Qdrant collection, every gate (integrity, quarantine, Great Expectations suites with
  Data Docs), promotion, smoke check, HTML report, gc, report artifact;
- 1%-changed sync: the same call after one document got one more paragraph (every step again,
  with the unchanged documents' rows carried from the live version and their vectors from the
  cache).

The flow runs as ``indexgate sync`` runs it (:func:`flows.runtime.flow_runs`: no flow-run
heartbeats against the temporary API); ``--heartbeats`` keeps Prefect's default heartbeats on.
``--library`` times the library steps alone (``indexgate.sync``: build steps and the same gates,
no Prefect, no smoke check, report or gc). The per-step
timings printed come from the versions' manifests. Target: the 1%-changed sync costs at most 5%
of the full one.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for key, value in {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error",
                   "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}.items():
    os.environ.setdefault(key, value)

TOPICS = ["expense reports", "parental leave", "database failover", "certificate rotation", "route planning",
          "customs declarations", "warehouse safety", "carrier onboarding", "incident response", "data retention",
          "remote work", "travel bookings", "password resets", "invoice disputes", "fleet maintenance"]
SUBJECTS = ["The operations team", "Each depot manager", "The on-call engineer", "Finance", "A new employee",
            "The customer support desk", "Every carrier", "The security office", "The planning group", "Legal"]
VERBS = ["reviews", "approves", "documents", "escalates", "archives", "checks", "updates", "reports", "schedules",
         "verifies"]
OBJECTS = ["the weekly capacity forecast", "all open incidents", "the pallet inventory", "signed delivery notes",
           "the quarterly audit trail", "outstanding purchase orders", "driver rest periods", "backup restore tests",
           "temperature logs of cold-chain loads", "access requests for the routing system"]
TAILS = ["within {n} business days", "before {n}:00 UTC", "at least every {n} weeks", "for shipments above {n} kg",
         "unless the budget exceeds {n} thousand euros", "and keeps the record for {n} months",
         "using the template in section {n}", "after {n} failed attempts"]


def make_document(rng: random.Random, i: int) -> str:
    """A Markdown policy-like document of 2-4 KB: headings and paragraphs of varied sentences."""
    topic = TOPICS[i % len(TOPICS)]
    target = rng.randint(2048, 4096)
    parts = [f"# {topic.title()} procedure {i:03d}\n"]
    section = 0
    while sum(len(p) for p in parts) < target:
        if rng.random() < 0.25:
            section += 1
            parts.append(f"\n## {section}. {rng.choice(TOPICS).capitalize()}\n")
        sentences = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
                     f"{rng.choice(TAILS).format(n=rng.randint(2, 90))}." for _ in range(rng.randint(3, 6))]
        parts.append("\n" + " ".join(sentences) + "\n")
    return "".join(parts)[:target].rstrip() + "\n"


def write_corpus(folder: Path, n: int) -> None:
    rng = random.Random(20240601)
    for i in range(n):
        path = folder / f"{TOPICS[i % len(TOPICS)].replace(' ', '-')}/doc-{i:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make_document(rng, i), encoding="utf-8")


def run_library(source: str, alias: str, settings) -> dict:
    from indexgate import sync
    from indexgate.resources import resources

    res = resources(settings)
    snap = sync.snapshot(source)
    plan = sync.plan(res, alias, snap)
    sync.parse(res, plan, source, snap)
    sync.chunk(res, plan)
    sync.embed(res, plan)
    sync.load(res, plan)
    gates = sync.validate(res, plan)  # every gate the flow runs without a golden set, GX suites included
    return {"version": sync.conclude(res, plan, gates, by="benchmark").version}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--library", action="store_true", help="time the library steps alone, without Prefect")
    parser.add_argument("--heartbeats", action="store_true",
                        help="keep Prefect's flow-run heartbeats on against the temporary API (Prefect's default;"
                             " the CLI switches them off there, see flows/runtime.py)")
    args = parser.parse_args()

    from indexgate.resources import resources
    from indexgate.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="indexgate-bench-"))
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    state, corpus, warm = work / "state", work / "corpus", work / "warm"
    write_corpus(corpus, args.documents)
    (warm / "a.md").parent.mkdir(parents=True)
    (warm / "a.md").write_text("# Warm-up\n\nA tiny document that starts the machinery.\n")
    size = sum(p.stat().st_size for p in corpus.rglob("*.md"))
    print(f"corpus: {args.documents} Markdown documents, {size / 1024:.0f} KiB ({size / args.documents / 1024:.1f} KiB"
          f" each on average), in {corpus}")

    settings = load_settings(home=str(state))  # exactly what the flow loads: its resources are reused
    started = time.perf_counter()
    res = resources(settings)
    print(f"model load (embedder, tokenizer, embedded Qdrant, cache index): {time.perf_counter() - started:.2f} s")

    if args.library:
        def sync_once(source: str, alias: str) -> dict:
            return run_library(source, alias, settings)
        mode = "library steps (indexgate.sync, no Prefect)"
    else:
        from contextlib import nullcontext

        from flows.runtime import flow_runs
        from flows.sync import sync as sync_flow

        runtime = nullcontext if args.heartbeats else flow_runs  # flow_runs: as `indexgate sync` runs it

        def sync_once(source: str, alias: str) -> dict:
            with runtime():
                return sync_flow(source=source, alias=alias, state_dir=str(state))
        mode = ("the sync flow (flows.sync.sync, Prefect temporary API, flow-run heartbeats "
                f"{'on' if args.heartbeats else 'off as in `indexgate sync`'})")
    started = time.perf_counter()
    sync_once(str(warm), "warmup")
    print(f"warm-up sync of 1 tiny document (starts Prefect's API when used): {time.perf_counter() - started:.2f} s")

    started = time.perf_counter()
    full = sync_once(str(corpus), "bench")
    full_s = time.perf_counter() - started

    victim = sorted(corpus.rglob("*.md"))[args.documents // 2]
    with open(victim, "a", encoding="utf-8") as fh:
        fh.write("\nThe planning group verifies the revised cut-off times before 16:00 UTC.\n")
    started = time.perf_counter()
    incremental = sync_once(str(corpus), "bench")
    incremental_s = time.perf_counter() - started

    print(f"\ntimed: {mode}, whole call, warm process\n")
    for label, outcome, seconds in (("full sync", full, full_s), ("1%-changed sync", incremental, incremental_s)):
        m = res.registry.load("bench", outcome["version"])
        steps = ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in m.timings.items())
        print(f"{label:<16} {seconds:7.2f} s   documents {m.counts['documents']} (parsed"
              f" {m.changes.get('documents_parsed')}), chunks {m.counts['chunks']} (carried"
              f" {m.changes.get('chunks_carried')}), embedded {m.embedding['embedded']},"
              f" reused {m.embedding['reused']}")
        print(f"{'':<16} steps (s): {steps}")
    ratio = incremental_s / full_s
    verdict = "met" if ratio <= 0.05 else "MISSED"
    print(f"\nratio 1%-changed / full: {ratio:.3f} ({ratio:.1%}; target at most 5%: {verdict})")
    from indexgate import resources as shared

    shared.reset()  # close embedded Qdrant now, not during interpreter shutdown
    return 0


if __name__ == "__main__":
    sys.exit(main())
