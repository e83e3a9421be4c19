"""Benchmark: what each gate family costs on a 1%-changed sync, each sync a fresh process.

    .venv/bin/python benchmarks/small_change_gates.py [--documents 1000] [--runs 3] [--work DIR]
                                                      [--without-memo]

It writes the corpus of ``incremental_sync.py`` (2-4 KB Markdown documents) and syncs it once in
full into ``<work>/base``, with the real model. That takes minutes, once: a later run with the same
``--work`` reuses it. Then, per run, in a new process (imports, model load, then
:func:`indexgate.sync.run_sync`, and the wait for the Data Docs):

- a copy of the base state and corpus;
- 1% of the documents edited, one deleted, one added;
- the sync, and what its manifest's ``timings`` say: ``gates_<family>_s`` per gate family
  (:data:`indexgate.sync.GATE_FAMILIES`), ``quality_s`` the wait for the data-quality suites.

``--without-memo`` alternates each run with one whose base has no guardrails memory
(``guardrails-clean.bin``, :mod:`indexgate.guardrails.memo`): the gate then scans every payload,
as it did before the memory existed. The full sync's gate writes that memory. A base built before it
existed gets it here, once, from the live version's stored payloads.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ALIAS = "bench"


def _full(work: Path, documents: int) -> None:
    from incremental_sync import write_corpus

    from indexgate.guardrails.memo import MEMO_FILE
    from indexgate.quality import wait_data_docs
    from indexgate.resources import resources
    from indexgate.settings import load_settings
    from indexgate.sync import run_sync

    corpus, base = work / "corpus", work / "base"
    if not corpus.is_dir():
        write_corpus(corpus, documents)
    res = resources(load_settings(home=str(base)))
    live = res.store.alias_target(ALIAS)
    if live is None:
        started = time.perf_counter()
        plan, outcome = run_sync(res, ALIAS, str(corpus), by="benchmark")
        wait_data_docs(plan.workdir)
        print(f"full sync of {documents} documents: {time.perf_counter() - started:.1f} s, {outcome.action}")
        live = plan.collection
    folder = res.registry.version_dir(ALIAS, live.split("__", 1)[1])
    if not (folder / MEMO_FILE).is_file():  # a base built before the memory existed
        from indexgate import gates
        from indexgate.guardrails.memo import NewKeys, save_clean

        clean = NewKeys()
        gates.guardrails(res.store, live, res.settings.guardrails, frozenset(), clean)
        save_clean(folder, clean)


def _changed(work: Path, run: Path, memo: bool) -> tuple[Path, Path]:
    """A copy of the base state and corpus, 1% of the documents edited, one deleted, one added."""
    from indexgate.guardrails.memo import MEMO_FILE

    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(work / "base", run / "state", symlinks=True)
    shutil.copytree(work / "corpus", run / "corpus")
    if not memo:
        for path in (run / "state").rglob(MEMO_FILE):
            path.unlink()
    files = sorted((run / "corpus").rglob("*.md"))
    for i, path in enumerate(files[len(files) // 2:][:max(1, len(files) // 100)]):
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"\nThe planning group verifies the revised cut-off times before {16 + i % 8}:00 UTC.\n")
    files[len(files) * 7 // 10].unlink()
    (run / "corpus" / "added.md").write_text("# Added\n\nThe operations team reviews the weekly capacity forecast.\n")
    return run / "state", run / "corpus"


def _one(state: str, corpus: str) -> None:
    """One sync in this (fresh) process; prints its figures as JSON."""
    started = time.perf_counter()
    from indexgate.quality import wait_data_docs
    from indexgate.resources import resources
    from indexgate.settings import load_settings
    from indexgate.sync import run_sync

    imported = time.perf_counter()
    res = resources(load_settings(home=state))
    loaded = time.perf_counter()
    plan, outcome = run_sync(res, ALIAS, corpus, by="benchmark")
    wait_data_docs(plan.workdir)
    done = time.perf_counter()
    manifest = res.registry.load(ALIAS, plan.version)
    guard = next((g for g in manifest.gates if g["name"] == "guardrails.stored_payloads"), {})
    print(json.dumps({"imports": imported - started, "model": loaded - imported, "sync": done - loaded,
                      "action": outcome.action, "timings": manifest.timings, "guardrails": guard.get("detail", ""),
                      "points": manifest.counts.get("chunks")}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "indexgate-bench-gates")
    parser.add_argument("--without-memo", action="store_true", help="alternate with runs whose base has no"
                                                                    " guardrails memory")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # STATE CORPUS: the child process
    args = parser.parse_args()
    if args.one:
        _one(*args.one)
        return 0

    from indexgate.sync import GATE_FAMILIES

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    _full(work, args.documents)
    kinds = [True, False] if args.without_memo else [True]
    results: dict[bool, list[dict]] = {kind: [] for kind in kinds}
    for i in range(args.runs):
        for memo in kinds:
            state, corpus = _changed(work, work / "run", memo)
            out = subprocess.run([sys.executable, __file__, "--one", str(state), str(corpus)], check=True,
                                 capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            results[memo].append(figures)
            load = os.getloadavg()[0]
            print(f"run {i + 1} {'with' if memo else 'without'} the guardrails memory (load {load:.1f}):"
                  f" sync {figures['sync']:.2f} s, {figures['action']}; {figures['guardrails']}\n   steps (s): "
                  + ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in figures["timings"].items()))
    print(f"\nmedian seconds over {args.runs} runs, {args.documents} documents, 1% changed, a fresh process each")
    header = ["step"] + [("with" if memo else "without") + " memory" for memo in kinds]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    rows = [("imports", lambda f: f["imports"]), ("model load", lambda f: f["model"])]
    rows += [(f"gates: {family}", lambda f, k=f"gates_{family}_s": f["timings"].get(k))
             for family in GATE_FAMILIES]
    rows += [("sync (run_sync + Data Docs)", lambda f: f["sync"])]
    for label, get in rows:
        values = [[get(f) for f in results[memo]] for memo in kinds]
        if all(v is None for vs in values for v in vs):
            continue
        print(f"| {label} | " + " | ".join(f"{statistics.median(v for v in vs if v is not None):.2f}"
                                           for vs in values) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
