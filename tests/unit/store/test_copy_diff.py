"""A new version that starts as a copy of the live version's shard (copy-and-diff) holds exactly
the points a fresh build of the same source holds, and the live shard is never written."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import build_shadow, run_sync
from indexgate_test_doubles import pause_env

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def _doc(i: int, shift: int = 0) -> str:
    return " ".join(WORDS[(i + j + shift) % len(WORDS)] for j in range(60)) + "\n"


def _settings(home):
    # The generated documents repeat their words, which the duplicate-text suite rejects; this test
    # is about the store's copy, not about that suite.
    return load_settings(home=str(home), embedder={"kind": "fake", "model": "fake"}, chunking={"chunk_size": 8},
                         gates={"modes": {"quality.chunks.duplicate_share": "off"}})


def _points(store, collection):
    return {p.id: (p.payload, np.round(p.vector, 6).tolist())
            for p in store.scroll(collection, limit=100_000, with_vectors=True)}


def _hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_copy_and_diff_equals_a_fresh_build_and_leaves_the_live_shard_alone(tmp_path, write_corpus):
    old = {f"d{i}.txt": _doc(i) for i in range(10)}
    res = resources(_settings(tmp_path / "state"))
    plan1, outcome = run_sync(res, "docs", write_corpus(old, tmp_path / "old"))
    assert outcome.action == "promoted", outcome.reason
    live = tmp_path / "state" / "qdrant" / "shards" / plan1.collection
    before = _hashes(live)

    # d1 keeps its length (same chunk ids and spans) but not its words; d2 is removed; d10 is new.
    new = {**{k: v for k, v in old.items() if k != "d2.txt"}, "d1.txt": _doc(1, shift=5), "d10.txt": _doc(10)}
    plan2 = build_shadow(res, "docs", write_corpus(new, tmp_path / "new"))
    counts = res.registry.load("docs", plan2.version).counts
    assert counts["points_copied"] > 0 and counts["points_copied"] < counts["points_written"]
    assert _hashes(live) == before  # the live version's files were copied, never written

    fresh_res = resources(_settings(tmp_path / "fresh"))
    fresh = build_shadow(fresh_res, "docs", write_corpus(new, tmp_path / "new"))
    assert fresh_res.registry.load("docs", fresh.version).counts["points_copied"] == 0
    assert fresh.version == plan2.version
    got, want = _points(res.store, plan2.collection), _points(fresh_res.store, fresh.collection)
    assert got.keys() == want.keys()
    assert got == want  # same payloads (version included) and vectors
    assert res.store.count(plan2.collection) == len(want)


COPY = textwrap.dedent("""
    import sys
    from indexgate.store import connect
    store = connect(path=sys.argv[1])
    keep = {f"00000000-0000-0000-0000-{i:012d}" for i in range(0, 300, 2)}
    store.create_from("a__v2", "a__v1", 8, "me", keep, {"version": "v2"})
""")


def _base(root):
    from indexgate.store import connect

    store = connect(path=root)
    store.create("a__v1", 8)
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(300)]
    store.upsert("a__v1", ids, np.random.default_rng(1).standard_normal((300, 8)).astype(np.float32),
                 [{"doc_id": f"d{i}", "chunk_id": f"c{i}", "start": 0, "end": 1, "text": "t", "version": "v1"}
                  for i in range(300)])
    store.seal("a__v1")
    return store


def test_a_copy_shares_no_file_with_its_base_and_a_kill_before_it_is_in_place_leaves_nothing(tmp_path):
    store = _base(tmp_path / "q")
    base = tmp_path / "q" / "shards" / "a__v1"
    before = _hashes(base)
    pause = tmp_path / "pause"
    pause.mkdir()
    env = {**os.environ, **pause_env("copied", pause)}
    proc = subprocess.Popen([sys.executable, "-c", COPY, str(tmp_path / "q")], env=env)
    try:
        deadline = time.monotonic() + 120
        while not (pause / "copied.reached").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
        proc.wait()
    assert not store.exists("a__v2") and not (tmp_path / "q" / "shards" / "a__v2").exists()
    [leftover] = (tmp_path / "q" / "shards").glob(".copy-*")
    assert store.sweep() == [str(leftover)] and not leftover.exists()

    keep = {f"00000000-0000-0000-0000-{i:012d}" for i in range(0, 300, 2)}
    assert store.create_from("a__v2", "a__v1", 8, "me", keep, {"version": "v2"})
    copy = tmp_path / "q" / "shards" / "a__v2"
    inodes = {p.stat().st_ino for p in base.rglob("*") if p.is_file()}
    assert not inodes & {p.stat().st_ino for p in copy.rglob("*") if p.is_file()}  # no hard link
    assert set(store.iter_ids("a__v2")) == keep and store.owner("a__v2") == "me"
    assert {p.payload["version"] for p in store.scroll("a__v2")} == {"v2"}
    store.upsert("a__v2", ["00000000-0000-0000-0000-000000000001"], np.ones((1, 8), np.float32),
                 [{"doc_id": "d", "chunk_id": "new", "start": 0, "end": 1, "text": "t", "version": "v2"}])
    store.delete_points("a__v2", ["00000000-0000-0000-0000-000000000002"])
    store.seal("a__v2")
    assert store.count("a__v2") == 150 and store.count("a__v1") == 300
    assert _hashes(base) == before  # writing, then sealing the copy changed no byte of the base


def test_a_copy_keeps_its_version_once_and_leaves_the_copied_points_as_they_were(tmp_path):
    """The copy's version is a label of the shard, not a rewrite of every copied point. (Setting
    it on each point made Edge move them all out of their sealed segment.) Every read still gives
    each point the copy's version; an upsert that names another version is refused."""
    import qdrant_edge as qe

    from indexgate.errors import StoreError

    store = _base(tmp_path / "q")
    keep = {f"00000000-0000-0000-0000-{i:012d}" for i in range(0, 300, 2)}
    assert store.create_from("a__v2", "a__v1", 8, "me", keep, {"version": "v2"})
    copy = tmp_path / "q" / "shards" / "a__v2"
    raw = qe.EdgeShard.load(str(copy))
    try:
        records, _ = raw.scroll(qe.ScrollRequest(limit=1000, with_payload=True))
    finally:
        raw.close()
    assert {r.payload["version"] for r in records} == {"v1"}  # as written in the base, untouched
    assert {p.payload["version"] for p in store.scroll("a__v2")} == {"v2"}
    assert {p["version"] for _, p in store.iter_payloads("a__v2", ["version", "doc_id"])} == {"v2"}
    assert {p for _, p in store.iter_payloads("a__v2", ["doc_id"]) if "version" in p} == set()
    new = "00000000-0000-0000-0000-000000000001"
    store.upsert("a__v2", [new], np.ones((1, 8), np.float32),
                 [{"doc_id": "d", "chunk_id": "new", "start": 0, "end": 1, "text": "t", "version": "v2"}])
    try:
        store.upsert("a__v2", [new], np.ones((1, 8), np.float32),
                     [{"doc_id": "d", "chunk_id": "new", "start": 0, "end": 1, "text": "t", "version": "v1"}])
        raise AssertionError("an upsert naming another version was accepted")
    except StoreError as exc:
        assert "version='v2'" in str(exc) and "'v1'" in str(exc)
    store.seal("a__v2")
    [hits] = store.search_many("a__v2", np.ones((1, 8), np.float32), 3)
    assert hits and {h.version for h in hits} == {"v2"}
    assert {p.payload["version"] for p in store.scroll("a__v1")} == {"v1"}


def _segments(shard):
    """Each segment folder of an Edge shard: its name and whether its vectors are quantized."""
    return {p.name: (p / "vector_storage" / "quantized.data").is_file() for p in (shard / "segments").iterdir()}


def test_sealing_a_copy_keeps_its_sealed_segments_and_searches_its_new_points_exactly(tmp_path):
    """A copied version with a few new points is sealed without quantizing the copied points
    again: the copied sealed segment stays as it is, the new points stay in a plain segment
    (searched exactly), and every search answers what an exact search answers. Once the plain
    part reaches ``exact_below`` points it is quantized too, in a segment of its own."""
    from indexgate.store import SearchMode, connect

    dim, n = 16, 3000
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n + 1500, dim)).astype(np.float32)
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(n + 1500)]

    def payloads(rows, version):
        return [{"doc_id": f"d{i}", "chunk_id": f"c{i}", "start": 0, "end": 1, "text": "t", "version": version}
                for i in rows]

    def exact(name, queries):
        stored = {p.payload["chunk_id"] for p in store.scroll(name)}
        kept = [i for i in range(n + 1500) if f"c{i}" in stored]
        scores = vectors[kept] / np.linalg.norm(vectors[kept], axis=1, keepdims=True) @ queries.T
        return [[f"c{kept[j]}" for j in np.argsort(-scores[:, q])[:5]] for q in range(len(queries))]

    store = connect(path=tmp_path / "q", mode=SearchMode(exact_below=1000))
    store.create("a__v1", dim)
    store.upsert("a__v1", ids[:n], vectors[:n], payloads(range(n), "v1"))
    store.seal("a__v1")
    base = _segments(tmp_path / "q" / "shards" / "a__v1")
    [sealed] = [name for name, quantized in base.items() if quantized]

    # 1%: 30 points replaced by 30 new ones. The copied segment is kept; the new points stay plain.
    keep = set(ids[30:n])
    assert store.create_from("a__v2", "a__v1", dim, None, keep, {"version": "v2"})
    store.upsert("a__v2", ids[n:n + 30], vectors[n:n + 30], payloads(range(n, n + 30), "v2"))
    store.seal("a__v2")
    copy = _segments(tmp_path / "q" / "shards" / "a__v2")
    assert copy[sealed] and [q for q in copy.values() if q] == [True]  # the base's quantized segment, as it was
    queries = np.vstack([vectors[n:n + 10], rng.standard_normal((10, dim)).astype(np.float32)])
    hits = store.search_many("a__v2", queries, 5)
    assert [h[0].chunk_id for h in hits[:10]] == [f"c{i}" for i in range(n, n + 10)]  # the new points find themselves
    assert [[h.chunk_id for h in row] for row in hits] == exact("a__v2", queries)
    assert store.count("a__v2") == n

    # The plain part reaches exact_below: it is quantized, the copied segment still kept.
    keep = set(ids[30:n + 30])
    assert store.create_from("a__v3", "a__v2", dim, None, keep, {"version": "v3"})
    store.upsert("a__v3", ids[n + 30:], vectors[n + 30:], payloads(range(n + 30, n + 1500), "v3"))
    store.seal("a__v3")
    third = _segments(tmp_path / "q" / "shards" / "a__v3")
    assert third[sealed] and sum(third.values()) == 2  # the new 1,470 points are quantized apart
    hits = store.search_many("a__v3", queries, 5)
    assert [[h.chunk_id for h in row] for row in hits] == exact("a__v3", queries)
    assert store.count("a__v3") == len(keep) + 1470
