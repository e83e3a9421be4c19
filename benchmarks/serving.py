"""What a search costs through the search API, part by part.

Builds one version of a small corpus (the repository's sample documents, or ``--source``) with the
packaged model (``--fake``: the model-free fake embedder) in a temporary state folder, then times N
searches of each kind and prints p50 and p95 in milliseconds:

- ``pointer``: ``Index.resolve()``, the per-search read of where the alias points (cached manifest);
- ``embed``: embedding one query with the version's pinned embedder;
- ``store``: one store search of the version's collection with a ready vector;
- ``Index.search``: all of it, as an application calls it;
- ``HTTP POST /search``: through a real uvicorn server on a loopback port (httpx, keep-alive).

    python benchmarks/serving.py                 # packaged model, 200 searches of each kind
    python benchmarks/serving.py --fake -n 500
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "doubles"))  # --fake: the tests' embedder

QUERIES = ["how long must a password be", "when do backups run", "weeks of paid leave", "routing every 15 minutes",
           "who do I page for a restore", "what is the canteen schedule"]


def timed(n: int, fn) -> list[float]:
    out = []
    for i in range(n):
        started = time.perf_counter()
        fn(QUERIES[i % len(QUERIES)])
        out.append((time.perf_counter() - started) * 1000)
    return out


def row(name: str, ms: list[float]) -> None:
    q = statistics.quantiles(ms, n=20)
    print(f"  {name:<20} p50 {statistics.median(ms):8.3f} ms   p95 {q[18]:8.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[1] / "data" / "corpus"))
    parser.add_argument("--fake", action="store_true", help="the fake embedder instead of the packaged model")
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()

    import httpx
    import uvicorn

    from indexgate import resources, sync
    from indexgate.cli import offline_environment
    from indexgate.serving import Index
    from indexgate.serving.http import create_app
    from indexgate.settings import load_settings

    offline_environment()
    if args.fake:
        import indexgate_test_doubles

        indexgate_test_doubles.install()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(home=tmp, embedder={"kind": "fake", "model": "fake"} if args.fake else None)
        res = resources.resources(settings)
        sync.run_sync(res, "bench", args.source, by="benchmark")  # a whole sync: the version to serve
        index = Index.open("bench", settings)
        served = index.warm()
        embedder = res.embedder
        vector = embedder.embed_queries([QUERIES[0]])
        print(f"{settings.embedder.model}, {res.store.count(served.collection)} chunks, {args.n} searches each, k 5")
        row("pointer", timed(args.n, lambda q: index.resolve()))
        row("embed", timed(args.n, lambda q: embedder.embed_queries([q])))
        row("store", timed(args.n, lambda q: res.store.search_many(served.collection, vector, 5)))
        row("Index.search", timed(args.n, lambda q: index.search(q, 5)))

        # As `indexgate serve-api` runs it (uvicorn binds the host and port itself).
        server = uvicorn.Server(uvicorn.Config(create_app(index), host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            row("HTTP POST /search", timed(args.n, lambda q: http.post("/search", json={"query": q, "k": 5})
                                           .raise_for_status()))
        server.should_exit = True
        thread.join(10)
        resources.reset()
    return 0


if __name__ == "__main__":
    sys.exit(main())
