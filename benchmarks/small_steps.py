"""Benchmark: the steps of a sync that are neither embedding nor loading, on a state folder a sync left.

    .venv/bin/python benchmarks/small_steps.py --state STATE --cache CACHE --source CORPUS [--alias bench] [--rounds 3]

Point it at the folders of ``benchmarks/incremental_sync.py --shell`` (it prints the corpus folder;
``state`` and ``cache`` are beside it) after a run with at least two versions. In one process, each
``--rounds`` times, it prints:

- ``snapshot``: the folder snapshot of ``--source`` (every file listed, stat'ed and hashed);
- ``manifest``: loading the newest version's manifest, and a load, change and save of it, as a
  step records its results (``update_manifest``); the file is restored afterwards;
- ``read``: one read of every stored payload of the newest version's collection, with the
  fields the stored gates ask for, with no field (ids only), and with ``doc_id`` alone;
- ``stored gates``: the integrity, access and guardrails gates of the newest version from one
  read (:func:`indexgate.sync.checks._stored_gates`), wall and CPU seconds, and each family's.

The first round includes the process's first reads (the collection's view is opened then).
Wall seconds on a shared machine move with its load; the CPU seconds less. The load average is
printed at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--alias", default="bench")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from indexgate.gates import GuardrailsReader, IntegrityReader
    from indexgate.models import Plan
    from indexgate.resources import resources
    from indexgate.settings import load_settings
    from indexgate.sync import checks
    from indexgate.sync.planning import snapshot

    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    res = resources(load_settings(home=args.state, cache_dir=args.cache))
    versions = res.registry.versions(args.alias)
    if len(versions) < 2:
        raise SystemExit(f"alias {args.alias!r} in {args.state} has {len(versions)} versions; a 1%-changed sync leaves 2")
    newest, base = versions[-1], versions[-2]
    plan = Plan(args.alias, newest.version, newest.collection, base.version, "build",
                str(res.registry.version_dir(args.alias, newest.version)), base.version, newest.changes)
    manifest_file = Path(plan.workdir) / "manifest.json"
    kept = manifest_file.with_name("manifest.json.small-steps")
    shutil.copy2(manifest_file, kept)
    fields = sorted({f for r in (IntegrityReader, GuardrailsReader) for f in r.fields} | {"groups"})
    print(f"{newest.version}: {len(newest.documents)} documents, {res.store.count(newest.collection)} points")
    try:
        for round_ in range(1, args.rounds + 1):
            started = time.perf_counter()
            snap = snapshot(args.source, res.settings)
            print(f"round {round_}: snapshot {time.perf_counter() - started:.3f} s ({len(snap.objects)} files)")

            started = time.perf_counter()
            res.registry.load(args.alias, newest.version)
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            manifest = res.registry.load(args.alias, newest.version)
            manifest.timings = {**manifest.timings, "small_steps_s": 0.0}
            res.registry.save(manifest)
            print(f"         manifest: load {loaded:.4f} s; load, change and save {time.perf_counter() - started:.4f} s")

            reads = []
            for label, asked in (("gates' fields", fields), ("ids only", None), ("doc_id", ["doc_id"])):
                started = time.perf_counter()
                n = sum(1 for _ in (res.store.iter_ids(newest.collection) if asked is None
                                    else res.store.iter_payloads(newest.collection, asked)))
                reads.append(f"{label} {time.perf_counter() - started:.3f} s")
            print(f"         read of {n} points: " + "; ".join(reads))

            started, cpu = time.perf_counter(), time.process_time()
            gates, seconds = checks._stored_gates(res, plan)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            passed = all(g.passed for family in gates.values() for g in family)
            print(f"         stored gates: {wall:.3f} s, CPU {cpu:.3f} s, all passed: {passed}; "
                  + ", ".join(f"{k} {v:.3f}" for k, v in seconds.items()))
    finally:
        shutil.move(kept, manifest_file)  # as the sync left it
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
