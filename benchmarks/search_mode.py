"""Exact search or HNSW on Qdrant Edge: where to switch and with which parameters.

Real vectors: the packaged model (all-MiniLM-L6-v2, 384-d) over the texts on disk (the
chunking-eval corpora in ../shared/datasets and data/corpus), cut by the project's chunker into
small overlapping windows so there are many points. Queries: the golden questions of
chunking-eval, plus held-out chunks (a chunk's vector, not in the collection). No BEIR msmarco
subset is on this machine, so this is the real data there is.

It prints, per collection size, the exact search's query p50/p95 (one query at a time, through
the store), the int8-quantized scan's recall per oversampling, and for each HNSW setting (m, ef_construct, hnsw_ef) at the largest size: the graph
build time (seal), the query p95 and the top-10 recall against exact search.

    python benchmarks/search_mode.py                    # vectors cached in /tmp/indexgate-search-mode
    python benchmarks/search_mode.py --chunk-size 48
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexgate.settings import load_settings  # noqa: E402
from indexgate.store import SearchMode, connect, disconnect  # noqa: E402

TEXTS = [ROOT.parent / "shared" / "datasets" / "chunking-eval" / "docs", ROOT / "data" / "corpus"]
GOLDEN = ROOT.parent / "shared" / "datasets" / "chunking-eval" / "golden.jsonl"


def vectors(work: Path, chunk_size: int, overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """(chunk vectors, query vectors), embedded once and kept in ``work``."""
    cached = work / f"vectors-{chunk_size}-{overlap}.npz"
    if cached.is_file():
        data = np.load(cached)
        return data["docs"], data["queries"]
    from indexgate.chunking import make_chunker
    from indexgate.resources import embedder_for

    settings = load_settings(home=str(work / "state"), chunking={"chunk_size": chunk_size, "chunk_overlap": overlap})
    embedder = embedder_for(settings)
    chunker = make_chunker(settings.chunking, embedder.tokenizer)
    texts = []
    for folder in TEXTS:
        for path in sorted(p for p in folder.rglob("*") if p.suffix in (".md", ".txt")):
            texts += [c.text for c in chunker.chunk(path.name, path.read_text(encoding="utf-8"))]
    started = time.perf_counter()
    docs = np.vstack([embedder.embed_documents(texts[i:i + 256]) for i in range(0, len(texts), 256)])
    questions = [json.loads(line)["query"] for line in GOLDEN.read_text().splitlines() if line.strip()]
    queries = embedder.embed_queries(questions)
    print(f"embedded {len(texts)} chunks and {len(questions)} questions in {time.perf_counter() - started:.0f} s",
          flush=True)
    np.savez(cached, docs=docs.astype(np.float32), queries=queries.astype(np.float32))
    return docs, queries


def build(root: Path, docs: np.ndarray, mode: SearchMode) -> tuple[object, float]:
    store = connect(path=root, mode=mode)
    store.create("c", docs.shape[1])
    for start in range(0, len(docs), 1024):
        part = docs[start:start + 1024]
        store.upsert("c", [str(uuid.UUID(int=start + i + 1)) for i in range(len(part))], part,
                     [{"doc_id": "d", "chunk_id": str(start + i), "start": 0, "end": 1, "text": "", "version": "v"}
                      for i in range(len(part))])
    started = time.perf_counter()
    store.seal("c")
    return store, time.perf_counter() - started


def timed(store, queries: np.ndarray, k: int = 10) -> tuple[list[set[str]], float, float]:
    store.search("c", queries[0], k)  # opens the view
    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        hits = store.search("c", q, k)
        times.append(time.perf_counter() - t)
        found.append({h.chunk_id for h in hits})
    return found, 1000 * float(np.percentile(times, 50)), 1000 * float(np.percentile(times, 95))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "indexgate-search-mode"))
    parser.add_argument("--chunk-size", type=int, default=32)
    parser.add_argument("--overlap", type=int, default=24)
    parser.add_argument("--held-out", type=int, default=300, help="chunks used as queries, left out of the collection")
    parser.add_argument("--no-hnsw", action="store_true", help="skip the HNSW builds (minutes each)")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    docs, golden = vectors(work, args.chunk_size, args.overlap)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(docs))
    held, docs = docs[order[:args.held_out]], docs[order[args.held_out:]]
    queries = np.vstack([golden, held])
    print(f"{len(docs)} points (384-d), {len(queries)} queries ({len(golden)} golden questions,"
          f" {len(held)} held-out chunks)", flush=True)

    print("\nexact search, one query at a time:")
    print(f"{'points':>8} {'p50 ms':>7} {'p95 ms':>7}")
    sizes = [n for n in (1_000, 2_000, 5_000, 10_000, 20_000) if n < len(docs)] + [len(docs)]
    for n in sizes:
        folder = Path(tempfile.mkdtemp(dir=work))
        store, _ = build(folder, docs[:n], SearchMode(exact_below=10**9))
        _, p50, p95 = timed(store, queries)
        print(f"{n:>8} {p50:>7.2f} {p95:>7.2f}", flush=True)
        disconnect(store)

    folder = Path(tempfile.mkdtemp(dir=work))
    store, _ = build(folder, docs, SearchMode(exact_below=10**9))
    truth, _, exact_p95 = timed(store, queries)
    disconnect(store)
    print(f"\nint8-quantized scan, no graph, at {len(docs)} points; the best oversampling x k rescored exactly:")
    print(f"{'oversampling':>12} {'seal s':>7} {'p50 ms':>7} {'p95 ms':>7} {'recall':>7} {'min':>5}")
    folder = Path(tempfile.mkdtemp(dir=work))
    store, built = build(folder, docs, SearchMode(exact_below=1))
    for oversampling in (1.0, 1.5, 2.0, 3.0):
        store.mode = SearchMode(exact_below=1, oversampling=oversampling)
        found, p50, p95 = timed(store, queries)
        recall = [len(t & f) / len(t) for t, f in zip(truth, found)]
        print(f"{oversampling:>12} {built:>7.1f} {p50:>7.2f} {p95:>7.2f} {np.mean(recall):>7.4f} {min(recall):>5.2f}",
              flush=True)
    disconnect(store)
    if args.no_hnsw:
        return 0

    print(f"\nHNSW at {len(docs)} points (exact p95 {exact_p95:.2f} ms); recall = top-10 overlap with exact:")
    print(f"{'m':>3} {'ef_con':>6} {'hnsw_ef':>7} {'build s':>7} {'p50 ms':>7} {'p95 ms':>7} {'recall':>7} {'min':>5}")
    for m, ef_construct in ((8, 64), (16, 64), (16, 128), (32, 128)):
        folder = Path(tempfile.mkdtemp(dir=work))
        store, built = build(folder, docs, SearchMode(exact_below=1, m=m, ef_construct=ef_construct, graph_from=1))
        for hnsw_ef in (32, 64, 128, 256):
            store.mode = SearchMode(exact_below=1, m=m, ef_construct=ef_construct, hnsw_ef=hnsw_ef, graph_from=1)
            found, p50, p95 = timed(store, queries)
            recall = [len(t & f) / len(t) for t, f in zip(truth, found)]
            print(f"{m:>3} {ef_construct:>6} {hnsw_ef:>7} {built:>7.1f} {p50:>7.2f} {p95:>7.2f}"
                  f" {np.mean(recall):>7.4f} {min(recall):>5.2f}", flush=True)
        disconnect(store)
    return 0


if __name__ == "__main__":
    sys.exit(main())
