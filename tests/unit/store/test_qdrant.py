"""The store over embedded Qdrant: collections, idempotent upserts, alias swaps."""

import numpy as np
import pytest

from indexgate.errors import StoreError
from indexgate.store import connect


@pytest.fixture
def store(tmp_path):
    return connect(path=tmp_path / "q")


def _points(n, version="v1", offset=0):
    ids = [f"00000000-0000-0000-0000-{i + offset:012d}" for i in range(n)]
    rng = np.random.default_rng(n + offset)
    payloads = [{"doc_id": f"d{i}", "chunk_id": f"c{i}", "start": 0, "end": 1, "text": "t", "version": version}
                for i in range(n)]
    return ids, rng.standard_normal((n, 4)).astype(np.float32), payloads


def test_one_client_per_location_per_process(tmp_path):
    assert connect(path=tmp_path / "q") is connect(path=tmp_path / "q")


def test_upserts_are_idempotent_and_read_back(store):
    store.create("c", 4)
    store.create("c", 4)  # same size again: no-op
    ids, vectors, payloads = _points(5)
    store.upsert("c", ids, vectors, payloads)
    store.upsert("c", ids, vectors, payloads)
    assert store.count("c") == 5
    assert sorted(store.iter_ids("c", batch=2)) == sorted(ids)
    with pytest.raises(StoreError, match="vector size 4, expected 8"):
        store.create("c", 8)


def test_alias_swap_points_readers_at_the_new_collection(store):
    for name, version in (("a__v1", "v1"), ("a__v2", "v2")):
        store.create(name, 4)
        ids, vectors, payloads = _points(3, version)
        store.upsert(name, ids, vectors, payloads)
    assert store.alias_target("a") is None
    store.point_alias("a", "a__v1")
    assert store.alias_target("a") == "a__v1"
    assert {h.version for h in store.search_many("a", _points(2)[1], 3)[0]} == {"v1"}
    store.point_alias("a", "a__v2")
    assert store.alias_target("a") == "a__v2"
    assert {h.version for h in store.search("a", _points(1)[1][0], 3)} == {"v2"}
    assert store.collections() == ["a__v1", "a__v2"]  # the swap deleted no collection


def test_bulk_writes_leave_durable_points_and_the_usual_journal(tmp_path):
    import sqlite3

    from indexgate.store import disconnect

    store = connect(path=tmp_path / "bulk")
    store.create("c", 4)
    ids, vectors, payloads = _points(50)
    folder = tmp_path / "bulk" / "collection" / "c"
    with store.bulk_writes("c"):
        store.upsert("c", ids, vectors, payloads)
        assert (folder / "storage.sqlite-wal").is_file()  # commits go to the write-ahead log
    with store.bulk_writes("absent"):  # unknown collection: nothing to tune, nothing fails
        pass
    disconnect(store)
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["storage.sqlite"]  # the WAL was checkpointed into the file and removed
    with sqlite3.connect(folder / "storage.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert db.execute("SELECT count(*) FROM points").fetchone() == (50,)
    again = connect(path=tmp_path / "bulk")
    assert again.count("c") == 50 and sorted(again.iter_ids("c")) == sorted(ids)


def test_bulk_writes_commit_once_per_upsert_call(tmp_path):
    """Inside bulk_writes the points of one upsert share a transaction (not one commit a point),
    and each call's points are committed when it returns, so a killed load keeps finished batches."""
    import sqlite3

    store = connect(path=tmp_path / "one")
    store.create("c", 4)
    conn = store.client._client.collections["c"].storage.storage
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    ids, vectors, payloads = _points(10)
    file = tmp_path / "one" / "collection" / "c" / "storage.sqlite"
    with store.bulk_writes("c"):
        store.upsert("c", ids[:6], vectors[:6], payloads[:6])
        reader = sqlite3.connect(file)
        assert reader.execute("SELECT count(*) FROM points").fetchone() == (6,)  # committed, seen by another connection
        reader.close()
        store.upsert("c", ids[6:], vectors[6:], payloads[6:])
    conn.set_trace_callback(None)
    assert sum(s.upper().startswith("COMMIT") for s in statements) == 2
    assert store.client._client.collections["c"].storage.storage is conn  # the connection itself is back
    store.upsert("c", ids[:1], vectors[:1], payloads[:1])  # outside the block: qdrant_client's own commit
    reader = sqlite3.connect(file)
    assert reader.execute("SELECT count(*) FROM points").fetchone() == (10,)
    reader.close()
