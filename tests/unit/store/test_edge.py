"""The Qdrant Edge store: sealed versions read through private views by any number of
processes, never written through a view, and faults that name the path."""

import hashlib
import json
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from indexgate.errors import StoreError
from indexgate.store import SearchMode, connect, disconnect, edge
from indexgate.store.views import PAYLOAD_FILES, QUANTIZED_FILES, warm, warm_quantized


def _build(store, name, n, dim=8, version="v1", seal=True):
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    store.create(name, dim)
    for start in range(0, n, 500):
        ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(start, min(n, start + 500))]
        store.upsert(name, ids, vectors[start:start + len(ids)],
                     [{"doc_id": f"d{i}", "chunk_id": f"c{i}", "start": 0, "end": 1, "text": f"t{i}",
                       "version": version} for i in range(start, start + len(ids))])
    if seal:
        store.seal(name)
    return vectors


def _views(root):
    return [p for p in (root / "views").iterdir() if not p.name.startswith(".")]


def _hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


READER = textwrap.dedent("""
    import sys
    import numpy as np
    from indexgate.store import SearchMode, connect, disconnect
    store = connect(path=sys.argv[1], mode=SearchMode(exact_below=int(sys.argv[3])))
    def ask():
        hits = store.search(sys.argv[2], np.ones(8, np.float32), 3)
        return f"{len(hits)} {store.count(sys.argv[2])} {len(list(store.iter_ids(sys.argv[2])))}"
    print(ask(), flush=True)
    for line in sys.stdin:
        if line.strip() == "close":
            disconnect(store)
            print("closed", flush=True)
        else:
            print(ask(), flush=True)
""")


def _reader(root, name, exact_below):
    return subprocess.Popen([sys.executable, "-c", READER, str(root), name, str(exact_below)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _ask(proc, line="again"):
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


@pytest.mark.parametrize("n, exact_below, graph_from", [(300, 10_000, 10**9), (1200, 1000, 10**9), (1200, 1000, 1000)],
                         ids=["exact", "quantized", "hnsw"])
def test_readers_in_other_processes_use_views_that_never_write_the_shard(tmp_path, n, exact_below, graph_from):
    store = connect(path=tmp_path / "q", mode=SearchMode(exact_below=exact_below, m=8, ef_construct=32,
                                                         graph_from=graph_from))
    _build(store, "a__v1", n)
    store.point_alias("a", "a__v1")
    shard = tmp_path / "q" / "shards" / "a__v1"
    before = _hashes(shard)
    config = json.loads((shard / "edge_config.json").read_text())
    threshold = config["optimizers"]["indexing_threshold"]  # KB of vectors in a segment
    assert (threshold == 8 * 4 * exact_below // 1024) == (n >= exact_below)  # indexed only above
    assert bool(config.get("quantization_config")) == (n >= exact_below)  # int8 vectors only above
    assert (config["hnsw_config"]["m"] > 0) == (n >= graph_from)  # and a graph only from graph_from
    readers = [_reader(tmp_path / "q", name, exact_below) for name in ("a", "a__v1")]
    try:
        assert [r.stdout.readline().strip() for r in readers] == [f"3 {n} {n}"] * 2
        assert store.count("a") == n  # and this process, the writer, reads it too (its own view)
        assert len(_views(tmp_path / "q")) == 3
        assert _hashes(shard) == before  # no view wrote to the shard's files
        store.drop("a__v1")  # (and the alias) a reader's open view stays readable
        assert not shard.exists()
        assert _ask(readers[1]) == f"3 {n} {n}"
        assert _ask(readers[0], "close") == "closed"
        readers[1].send_signal(signal.SIGKILL)
        readers[1].wait()
    finally:
        for r in readers:
            r.kill()
            r.wait()
    # the killed reader's view is left behind (this process's went with the drop); gc's sweep removes it
    assert len(_views(tmp_path / "q")) == 1
    assert len(store.sweep()) == 1 and not _views(tmp_path / "q")


def test_a_view_changes_no_byte_of_the_sealed_shard(tmp_path):
    mode = SearchMode(exact_below=1000, m=8, ef_construct=32, graph_from=2000)
    store = connect(path=tmp_path / "q", mode=mode)
    for name, n in (("a__small", 300), ("a__quantized", 1200), ("a__graph", 2400)):
        _build(store, name, n)
        shard = tmp_path / "q" / "shards" / name
        before = _hashes(shard)
        reader = _reader(tmp_path / "q", name, 1000)
        assert reader.stdout.readline().strip() == f"3 {n} {n}"
        assert _ask(reader, "close") == "closed"
        reader.kill()
        reader.wait()
        assert store.search(name, np.ones(8), 3) and store.count(name) == n
        disconnect(store)
        store = connect(path=tmp_path / "q", mode=mode)
        assert _hashes(shard) == before, name
        assert not _views(tmp_path / "q")  # disconnect deleted this process's view


@pytest.mark.parametrize("graph_from", [10**9, 100], ids=["quantized", "hnsw"])
def test_search_above_the_threshold_finds_what_exact_search_finds(tmp_path, graph_from):
    exact = connect(path=tmp_path / "exact", mode=SearchMode(exact_below=10**9))
    graph = connect(path=tmp_path / "graph", mode=SearchMode(exact_below=100, graph_from=graph_from))
    vectors = _build(exact, "c", 2000)
    _build(graph, "c", 2000)
    queries = vectors[:50] + 0.1
    want = [{h.chunk_id for h in hits} for hits in exact.search_many("c", queries, 10)]
    got = [{h.chunk_id for h in hits} for hits in graph.search_many("c", queries, 10)]
    assert np.mean([len(w & g) / 10 for w, g in zip(want, got)]) >= 0.99


def test_writes_to_a_sealed_version_are_refused_while_another_process_reads_it(tmp_path):
    store = connect(path=tmp_path / "q")
    _build(store, "a__v1", 10)
    reader = _reader(tmp_path / "q", "a__v1", 1000)
    try:
        assert reader.stdout.readline().strip() == "3 10 10"
        with pytest.raises(StoreError, match=rf"a__v1 is sealed and read by pids \[{reader.pid}\]"):
            store.set_payload("a__v1", ["00000000-0000-0000-0000-000000000001"], {"start": 5})
    finally:
        reader.kill()
        reader.wait()
    store.set_payload("a__v1", ["00000000-0000-0000-0000-000000000001"], {"start": 5})  # no reader left
    store.seal("a__v1")
    assert {p.payload["start"] for p in store.scroll("a__v1")} == {0, 5}


def test_faults_name_the_path(tmp_path):
    root = tmp_path / "q"
    store = connect(path=root)
    _build(store, "a__v1", 5)
    store.point_alias("a", "a__v1")
    _build(store, "a__v2", 5, version="v2", seal=False)
    disconnect(store)
    pointer = root / "aliases" / "a.json"
    store = connect(path=root)
    # a shadow without its WAL: its reads fail naming it, the live version is still served
    import shutil
    shutil.rmtree(root / "shards" / "a__v2" / "wal")
    with pytest.raises(StoreError, match=rf"shard {root / 'shards' / 'a__v2'} has no wal/ folder"):
        store.count("a__v2")
    assert store.search("a", np.ones(8), 1)[0].version == "v1"
    # a pointer naming a missing shard
    pointer.write_text(json.dumps({"collection": "a__gone"}))
    with pytest.raises(StoreError, match=rf"alias 'a' \({pointer}\) points at a__gone, whose shard .* is missing"):
        store.search("a", np.ones(8), 1)
    # a truncated pointer
    pointer.write_text('{"collec')
    with pytest.raises(StoreError, match=rf"alias pointer {pointer} is damaged"):
        store.alias_target("a")
    store.point_alias("a", "a__v1")  # pointing it again repairs it
    assert store.search("a", np.ones(8), 1)[0].version == "v1"


def test_the_old_local_mode_layout_is_refused_with_what_to_do(tmp_path):
    old = tmp_path / "qdrant"
    (old / "collection" / "docs__abc").mkdir(parents=True)
    (old / "meta.json").write_text("{}")
    with pytest.raises(StoreError, match=rf"{old} holds qdrant-client's local-mode layout .*indexgate migrate-store"):
        connect(path=old)


@pytest.mark.parametrize("graph_from", [10**9, 100], ids=["quantized", "hnsw"])
def test_a_view_reads_the_int8_vectors_where_edge_keeps_them(tmp_path, graph_from):
    """The view's warm-up read depends on where Edge keeps the int8 vectors. If a new Edge moves
    them, this fails, rather than every new process's first query silently slowing again."""
    store = connect(path=tmp_path / "q", mode=SearchMode(exact_below=100, graph_from=graph_from))
    _build(store, "c", 1200)
    shard = tmp_path / "q" / "shards" / "c"
    files = list(shard.glob(QUANTIZED_FILES))
    assert files, sorted(str(p.relative_to(shard)) for p in shard.rglob("*"))
    # 1200 int8 vectors of 8 dimensions at least; the read returns every byte of those files
    assert warm_quantized(shard) == sum(f.stat().st_size for f in files) >= 1200 * 8
    before = _hashes(shard)
    store.search("c", np.ones(8, np.float32), 3)  # through a view, warmed
    assert _hashes(shard) == before


@pytest.mark.parametrize("seal", [True, False], ids=["sealed", "being-written"])
def test_a_full_read_of_payloads_warms_the_files_where_edge_keeps_them(tmp_path, seal, monkeypatch):
    """iter_payloads reads the payload files sequentially first (views.warm). If a new Edge
    moves them, this fails, rather than every gate's first read silently slowing again."""
    warmed = []
    monkeypatch.setattr(edge, "warm", lambda folder, pattern: warmed.append((folder, pattern)) or warm(folder, pattern))
    store = connect(path=tmp_path / "q", mode=SearchMode(exact_below=100))
    _build(store, "c", 1200, seal=seal)
    shard = tmp_path / "q" / "shards" / "c"
    files = list(shard.glob(PAYLOAD_FILES))
    assert files, sorted(str(p.relative_to(shard)) for p in shard.rglob("*"))
    assert warm(shard, PAYLOAD_FILES) == sum(f.stat().st_size for f in files) > 0
    before = _hashes(shard) if seal else None
    payloads = dict(store.iter_payloads("c", ["doc_id", "text"]))
    assert len(payloads) == 1200 and payloads["00000000-0000-0000-0000-000000000007"] == {"doc_id": "d7", "text": "t7"}
    assert warmed == [(shard, PAYLOAD_FILES)]  # once, before the first page
    if seal:
        assert _hashes(shard) == before  # the warm-up only reads


def test_an_exact_shard_has_no_int8_vectors_to_warm(tmp_path):
    store = connect(path=tmp_path / "q", mode=SearchMode(exact_below=10_000))
    _build(store, "c", 300)
    assert warm_quantized(tmp_path / "q" / "shards" / "c") == 0


def test_a_writer_flushes_every_few_thousand_points_so_loading_memory_stays_low(tmp_path, monkeypatch):
    """Edge holds unflushed writes in memory; the store flushes every FLUSH_EVERY points."""
    from indexgate.store import shards

    monkeypatch.setattr(shards, "FLUSH_EVERY", 100)
    store = connect(path=tmp_path / "q", mode=SearchMode(exact_below=10_000))
    _build(store, "c", 50, seal=False)
    writer = store._writers["c"]
    flushes = []
    real = writer.shard

    class Counting:
        def __getattr__(self, attr):
            if attr == "flush":
                flushes.append(1)
            return getattr(real, attr)

    writer.shard = Counting()
    rng = np.random.default_rng(1)
    for start in range(50, 250, 50):  # 250 points in all, in batches of 50
        ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(start, start + 50)]
        store.upsert("c", ids, rng.standard_normal((50, 8)).astype(np.float32), [{"doc_id": "d"}] * 50)
    assert len(flushes) == 2 and writer.unflushed == 50  # flushed at 100 and 200 points
    writer.shard = real
    store.seal("c")
    assert store.count("c") == 250
