"""How much time the data-quality (Great Expectations) validation adds to a sync.

Runs the sync's build steps (:func:`indexgate.sync.build_shadow`), then each gate, on a corpus.
The defaults: data/corpus, golden data/golden.jsonl, indexgate.yaml. It runs in a fresh temporary
state folder, with the real packaged model, and prints each step's time.
The GX validation runs in the quality worker (``indexgate/quality/worker.py``), as in a sync. The
worker starts (and imports Great Expectations) at the ``plan`` step. Each suite starts as soon as
its table is final, so the first ``check_quality`` is the time the sync waits for the checks. A
second call on the same version times a whole validation in the warm worker (every suite again).

    .venv/bin/python benchmarks/quality.py [--source DIR] [--golden FILE] [--config FILE]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default="data/corpus")
    parser.add_argument("--golden", default="data/golden.jsonl")
    parser.add_argument("--config", default="indexgate.yaml")
    args = parser.parse_args()

    from indexgate import sync
    from indexgate.resources import reset, resources
    from indexgate.settings import load_settings

    home = tempfile.mkdtemp(prefix="indexgate-bench-")
    res = resources(load_settings(args.config, home=home))
    times: dict[str, float] = {}

    def step(name, fn, *a):
        started = time.perf_counter()
        out = fn(*a)
        times[name] = time.perf_counter() - started
        return out

    # The sync's build steps (indexgate.sync.BUILD_STEPS); their own times come from the manifest.
    plan = step("build (snapshot ... load)", sync.build_shadow, res, "bench", args.source)
    step("integrity", sync.check_integrity, res, plan)
    step("quality (waited at the gate)", sync.check_quality, res, plan)
    step("quality (again, whole validation)", sync.check_quality, res, plan)
    if args.golden:
        step("relevance + live + audit", sync.check_relevance, res, plan, args.golden)
        step("latency", sync.check_latency, res, plan, args.golden)
    manifest = res.registry.load("bench", plan.version)
    counts = manifest.counts
    print(f"corpus {args.source}: {counts.get('documents')} documents, {counts.get('chunks')} chunks"
          f" (state {home})")
    sync_total = sum(v for k, v in times.items() if not k.startswith("quality (again"))
    for name, seconds in times.items():
        print(f"  {name:<34} {seconds:8.2f} s")
        if name.startswith("build"):
            for key, value in manifest.timings.items():
                if key in ("parse_s", "chunk_s", "embed_s", "load_s"):
                    print(f"    {key.removesuffix('_s'):<32} {value:8.2f} s")
    first = times["quality (waited at the gate)"]
    print(f"  the sync waited {first:.2f} s for GX in a {sync_total:.2f} s sync ({100 * first / sync_total:.0f}%);"
          f" a whole validation in the warm worker takes {times['quality (again, whole validation)']:.2f} s"
          " (embedding from an empty cache)")
    reset()


if __name__ == "__main__":
    main()
