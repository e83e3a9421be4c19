"""One store suite run against every backend available: Qdrant Edge (the embedded default),
qdrant-client's local mode (the stand-in that runs the client code path of a server here) and
a Qdrant server (only when QDRANT_URL is set and answers), as qdrant-client's congruence tests do."""

import os
import urllib.request
import uuid

import numpy as np
import pytest

from indexgate.errors import StoreError
from indexgate.store import connect, disconnect


def _server_up(url: str) -> str | None:
    try:
        urllib.request.urlopen(url.rstrip("/") + "/readyz", timeout=2)
    except OSError as exc:
        return f"QDRANT_URL {url} does not answer ({exc})"
    return None


@pytest.fixture(params=["edge", "local", "server"])
def store(request, tmp_path):
    if request.param == "server":
        url = request.getfixturevalue("qdrant_url")  # skips when QDRANT_URL is not set
        if (why := _server_up(url)) is not None:
            pytest.skip(why)
        store = connect(url=url, api_key=os.environ.get("QDRANT_API_KEY"))
    else:
        store = connect(path=tmp_path / "q", backend=request.param)
    prefix = f"t{uuid.uuid4().hex[:8]}"  # a server is shared: names of this test only
    store.test_names = lambda *names: [f"{prefix}{n}" for n in names]
    yield store
    for name in store.collections():
        if name.startswith(prefix):
            store.drop(name)
    if request.param != "server":
        disconnect(store)


def _points(n, version="v1", offset=0, dim=4):
    ids = [str(uuid.UUID(int=i + offset + 1)) for i in range(n)]
    rng = np.random.default_rng(n + offset)
    payloads = [{"doc_id": f"d{i}", "chunk_id": f"c{i}", "start": 0, "end": 1, "text": f"t{i}", "version": version}
                for i in range(n)]
    return ids, rng.standard_normal((n, dim)).astype(np.float32), payloads


def test_one_store_per_location_per_process(tmp_path):
    assert connect(path=tmp_path / "q") is connect(path=tmp_path / "q")


def test_upserts_are_idempotent_and_read_back(store):
    (c,) = store.test_names("c")
    store.create(c, 4)
    store.create(c, 4)  # same size again: no-op
    ids, vectors, payloads = _points(5)
    store.upsert(c, ids, vectors, payloads)
    store.upsert(c, ids, vectors, payloads)
    assert store.count(c) == 5
    assert sorted(store.iter_ids(c, batch=2)) == sorted(ids)
    assert dict(store.iter_payloads(c, ["doc_id"], batch=2)) == {i: {"doc_id": p["doc_id"]} for i, p in zip(ids, payloads)}
    with pytest.raises(StoreError, match="vector size 4, expected 8"):
        store.create(c, 8)
    store.seal(c)
    assert store.count(c) == 5 and store.vector_size(c) == 4


def test_alias_swap_points_readers_at_the_new_collection(store):
    a = store.test_names("a")[0]
    v1, v2 = f"{a}__v1", f"{a}__v2"
    for name, version in ((v1, "v1"), (v2, "v2")):
        store.create(name, 4)
        store.upsert(name, *_points(3, version))
        store.seal(name)
    assert store.alias_target(a) is None
    store.point_alias(a, v1)
    assert store.alias_target(a) == v1
    assert {h.version for h in store.search_many(a, _points(2)[1], 3)[0]} == {"v1"}
    store.point_alias(a, v2)
    assert store.alias_target(a) == v2 and store.aliases()[a] == v2
    assert {h.version for h in store.search(a, _points(1)[1][0], 3)} == {"v2"}
    assert [n for n in store.collections() if n.startswith(a)] == [v1, v2]  # the swap deleted no collection
    store.drop(v2)  # dropping a collection removes the aliases pointing at it
    assert store.alias_target(a) is None
    with pytest.raises(Exception):
        store.point_alias(a, f"{a}__absent")


def test_search_returns_the_nearest_with_payload(store):
    (c,) = store.test_names("c")
    store.create(c, 4)
    ids, vectors, payloads = _points(20)
    store.upsert(c, ids, vectors, payloads)
    store.seal(c)
    hits = store.search_many(c, vectors[[3, 7]], 2)
    assert [h[0].chunk_id for h in hits] == ["c3", "c7"]
    assert hits[0][0].score == pytest.approx(1.0, abs=1e-5) and hits[0][0].text == "t3"


def test_payload_edits_deletes_and_scroll(store):
    (c,) = store.test_names("c")
    store.create(c, 4)
    ids, vectors, payloads = _points(3)
    store.upsert(c, ids, vectors, payloads)
    store.set_payload(c, ids[:1], {"start": "0"})
    store.delete_payload(c, ids[1:2], ["text"])
    store.delete_points(c, ids[2:])
    points = {p.id: p for p in store.scroll(c, with_vectors=True)}
    assert sorted(points) == sorted(ids[:2])
    assert points[ids[0]].payload["start"] == "0" and "text" not in points[ids[1]].payload
    assert np.allclose(np.linalg.norm(points[ids[0]].vector), 1.0, atol=1e-5)  # cosine: stored normalised


def test_owner_is_recorded_in_the_collection(store):
    mine, theirs = store.test_names("mine", "theirs")
    store.create(mine, 4, owner="install-1")
    store.create(theirs, 4)
    assert store.owner(mine) == "install-1" and store.owner(theirs) is None


def test_searches_are_filtered_by_groups(store):
    (c,) = store.test_names("c")
    store.create(c, 4)
    ids, vectors, payloads = _points(6)
    for i, p in enumerate(payloads):  # d0..d2: hr; d3, d4: eng and exec; d5: no group
        p["groups"] = ["hr"] if i < 3 else ["eng", "exec"] if i < 5 else []
    store.upsert(c, ids, vectors, payloads)
    store.seal(c)
    query = vectors[:1]
    assert {h.doc_id for h in store.search_many(c, query, 10, ["hr"])[0]} == {"d0", "d1", "d2"}
    assert {h.doc_id for h in store.search_many(c, query, 10, ["exec", "nobody"])[0]} == {"d3", "d4"}
    assert store.search_many(c, query, 10, [])[0] == []  # no group: nothing
    assert len(store.search_many(c, query, 10)[0]) == 6  # unfiltered: an administrator's search
