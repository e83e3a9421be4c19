"""Benchmark: the sync flow's embedding fan-out on the default task runner against a local Dask
cluster, on the same generated corpus, each from a fresh state folder (empty embedding cache).

    .venv/bin/python benchmarks/embedding_fanout.py [--documents 100] [--workers 2] [--batch 64]

It loads the model once in this process (timed apart) and runs a warm-up sync of one tiny
document (starts Prefect's temporary API; timed apart). Then it times the whole
``indexgate_flows.sync.sync(...)`` call twice: with the default runner (the batch tasks run on Prefect's
thread pool in this process, which already holds the model) and with ``dask.n_workers`` set (a
local cluster of that many single-threaded worker processes is started for the embedding step,
and each worker loads the model: both are inside the timing). It prints the embedding step's
seconds and where the batches ran from the manifests, and checks that both built the same version.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for key, value in {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error",
                   "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}.items():
    os.environ.setdefault(key, value)

from benchmarks.incremental_sync import write_corpus  # noqa: E402  (the same generated documents)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the local Dask cluster")
    parser.add_argument("--batch", type=int, default=64, help="texts per embedding batch task (batch_size)")
    args = parser.parse_args()

    import yaml

    from indexgate_flows.sync import sync
    from indexgate.resources import resources
    from indexgate.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="indexgate-fanout-"))
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    corpus, warm = work / "corpus", work / "warm"
    write_corpus(corpus, args.documents)
    (warm / "a.md").parent.mkdir(parents=True)
    (warm / "a.md").write_text("# Warm-up\n\nA tiny document that starts the machinery.\n")
    configs = {}
    for name, extra in (("default", {}), ("dask", {"dask": {"n_workers": args.workers}})):
        configs[name] = work / f"{name}.yaml"
        configs[name].write_text(yaml.safe_dump({"batch_size": args.batch, **extra}))

    started = time.perf_counter()
    resources(load_settings(configs["default"], home=str(work / "default")))
    print(f"model load in this process: {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    sync(source=str(warm), alias="warmup", state_dir=str(work / "warm-state"), config=str(configs["default"]))
    print(f"warm-up sync (starts Prefect's API): {time.perf_counter() - started:.2f} s\n")

    versions = {}
    for name in ("default", "dask"):
        state = str(work / name)
        started = time.perf_counter()
        outcome = sync(source=str(corpus), alias="bench", state_dir=state, config=str(configs[name]))
        seconds = time.perf_counter() - started
        m = resources(load_settings(configs[name], home=state)).registry.load("bench", outcome["version"])
        e = m.embedding
        where = ", ".join(f"{w}: {v['batches']} batches" for w, v in sorted(e["workers"].items()))
        label = "default runner" if name == "default" else f"Dask, {args.workers} local workers"
        print(f"{label:<24} full sync {seconds:6.2f} s, embed step {m.timings['embed_s']:6.2f} s:"
              f" {e['embedded']} chunks in {e['batches']} batches of <= {args.batch} ({where})")
        versions[name] = outcome["version"]
    same = versions["default"] == versions["dask"]
    print(f"\nsame version: {same} ({versions['default']} / {versions['dask']})")
    from indexgate import resources as shared

    shared.reset()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
