"""Embedding backends side by side, each in a new process, as `indexgate sync` runs from a shell.

Per backend (torch, onnx, onnx-int8):

- ``start+import s``: from launching the process to the library imported and settings loaded;
- ``load s``: building the embedder and embedding one text (the weights load then);
- ``texts/s``: the embedding step of a scratch build of ../shared/datasets/chunking-eval
  (200-token windows, the default chunker), from the build's own manifest;
- ``recall@5``: span recall at 5 on chunking-eval's golden set, computed as `indexgate eval`
  computes it (``sync.build_scratch`` then ``sync.score``), and its change against torch.

ONNX files are exported (and quantised) once, in an untimed first process per backend; that
one-off cost is printed as ``export s``. Timed processes start with the model records in place,
as every sync after the first does. Each timed process has an empty embedding cache.

    python benchmarks/embedding_backends.py                 # cpu
    python benchmarks/embedding_backends.py --device cuda   # on a GPU machine (also: auto)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "chunking-eval"
BACKENDS = ("torch", "onnx", "onnx-int8")


def worker(backend: str, device: str, cache_dir: str, launched: float, measure: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from indexgate import sync
    from indexgate.resources import embedder_for
    from indexgate.settings import load_settings

    home = Path(cache_dir).parent
    settings = load_settings(home=home, cache_dir=cache_dir, gates={"k": 5},
                             embedder={"backend": backend, "device": device})
    imported = time.time()
    embedder = embedder_for(settings)
    embedder.embed_queries(["warm up"])
    out = {"backend": backend, "import_s": imported - launched, "load_s": time.time() - imported,
           "fingerprint": embedder.fingerprint.id}
    if not measure:
        return out
    snap = sync.snapshot(str(DATA / "docs"), settings)
    res, plan = sync.build_scratch(settings, str(DATA / "docs"), snap)
    try:
        report = sync.scratch_report(res, plan, sync.score(res, plan, str(DATA / "golden.jsonl")))
    finally:
        sync.discard_scratch(res)
    embedded = report["embedding"]
    return {**out, "texts": embedded["embedded"], "embed_s": embedded["seconds"],
            "recall": report["metrics"]["span_recall"]}


def run(backend: str, device: str, cache_dir: Path, measure: bool) -> dict:
    launched = time.time()
    code = ("import json, sys; sys.path.insert(0, %r); from benchmarks.embedding_backends import worker; "
            "print(json.dumps(worker(%r, %r, %r, %r, %r)))" % (str(ROOT), backend, device, str(cache_dir), launched, measure))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"{backend}: the worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="indexgate-backends-") as tmp:
        models = Path(tmp) / "models"  # one folder of exports and model records for every process
        models.mkdir()
        rows = []
        for i, backend in enumerate(args.backends):
            first = Path(tmp) / f"home-first-{i}" / "cache"
            first.mkdir(parents=True)
            (first / "models").symlink_to(models, target_is_directory=True)
            started = time.time()
            run(backend, args.device, first, measure=False)  # exports once, writes the model records
            export_s = time.time() - started
            timed = Path(tmp) / f"home-{i}" / "cache"
            timed.mkdir(parents=True)
            (timed / "models").symlink_to(models, target_is_directory=True)
            rows.append({**run(backend, args.device, timed, measure=True), "export_s": export_s})
            print(f"  {backend}: done", file=sys.stderr)
    base = next((r["recall"] for r in rows if r["backend"] == "torch"), None)
    print(f"device {args.device}, {os.cpu_count()} CPUs, {rows[0]['texts']} chunk texts of chunking-eval")
    print("| backend | first process (export) s | start+import s | load s | texts/s | span recall@5 | change vs torch |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        change = f"{r['recall'] - base:+.4f}" if base is not None else "-"
        print(f"| {r['backend']} | {r['export_s']:.1f} | {r['import_s']:.2f} | {r['load_s']:.2f} |"
              f" {r['texts'] / max(r['embed_s'], 1e-9):.1f} | {r['recall']:.4f} | {change} |")


if __name__ == "__main__":
    main()
