"""The Parquet embedding cache."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from indexgate.embedding.cache import EmbeddingCache


def test_roundtrip_and_persistence(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp1", 3)
    vectors = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)
    cache.put_many(["h1", "h2"], vectors)
    again = EmbeddingCache(tmp_path, "fp1", 3)  # a new process sees what was written
    got = again.get_many(["h2", "h1", "zz"])
    assert set(got) == {"h1", "h2"}
    np.testing.assert_array_equal(got["h2"], [0, 1, 0])
    assert again.missing(["h1", "zz", "zz", "yy"]) == ["zz", "yy"]


def test_fingerprints_are_separate_spaces(tmp_path):
    EmbeddingCache(tmp_path, "fp1", 2).put_many(["h"], np.ones((1, 2)))
    assert "h" not in EmbeddingCache(tmp_path, "fp2", 2)


def test_known_hashes_are_not_written_twice(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp", 2)
    cache.put_many(["a"], np.ones((1, 2)))
    cache.put_many(["a"], np.zeros((1, 2)))
    assert len(list(cache.dir.glob("part-*"))) == 1
    np.testing.assert_array_equal(cache.get_many(["a"])["a"], [1, 1])


def test_shape_mismatch_is_refused(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp", 2)
    with pytest.raises(ValueError, match="2 hashes but 1 vectors"):
        cache.put_many(["a", "b"], np.ones((1, 2)))
    with pytest.raises(ValueError, match="3 dimensions"):
        cache.put_many(["a"], np.ones((1, 3)))


def _parts(cache):
    return sorted(p.name for p in cache.dir.glob("part-*"))


def _other_hashes(cache, parts, merged):
    return {h for p in parts if p != merged for h in cache._table(cache.dir / p).column("text_hash").to_pylist()}


def test_compaction_merges_the_smallest_parts_into_one_and_keeps_every_vector(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp", 2)
    big = {f"big{i}": [i, 1] for i in range(10)}
    cache.put_many(list(big), np.array(list(big.values()), dtype=np.float32))
    [big_part] = _parts(cache)
    small = {f"s{i}": [i, 2] for i in range(9)}
    for h, v in small.items():
        cache.put_many([h], np.array([v], dtype=np.float32))
    other = EmbeddingCache(tmp_path, "fp", 2)  # another process: writes "s0" again (a duplicate)
    del other._index["s0"]
    other.put_many(["s0"], np.array([[0, 2]], dtype=np.float32))
    assert len(_parts(cache)) == 11

    assert cache.compact(max_parts=4) == 8  # 11 parts -> 4: the 8 smallest become one
    parts = _parts(cache)
    assert len(parts) == 4 and big_part in parts  # the large part was not rewritten
    merged = [p for p in parts if p != big_part and len(cache._table(cache.dir / p)) > 1]
    assert len(merged) == 1
    hashes = cache._table(cache.dir / merged[0]).column("text_hash").to_pylist()
    assert len(set(hashes)) == len(hashes)  # each hash once
    # 8 of the 10 one-vector parts (equal sizes: which ones is arbitrary): 8 hashes, or 7 when
    # both copies of "s0" were among them
    both_copies = "s0" in hashes and "s0" not in _other_hashes(cache, parts, merged[0])
    assert len(hashes) == (7 if both_copies else 8)
    fresh = EmbeddingCache(tmp_path, "fp", 2)
    got = fresh.get_many([*big, *small])
    assert {h: v.tolist() for h, v in got.items()} == {**big, **small}
    assert not list(cache.dir.glob(".*.tmp"))


def test_compaction_leaves_a_folder_with_few_parts_alone(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp", 2)
    for i in range(3):
        cache.put_many([f"h{i}"], np.ones((1, 2)))
    before = _parts(cache)
    assert cache.compact(max_parts=3) == 0 and _parts(cache) == before
    with pytest.raises(ValueError, match="at least 1"):
        cache.compact(max_parts=0)


def test_a_reader_that_meets_a_part_merged_under_it_reads_the_folder_again(tmp_path, monkeypatch):
    reader = EmbeddingCache(tmp_path, "fp", 2)
    early = EmbeddingCache(tmp_path, "fp", 2)  # another process, opened before anything was written
    for i in range(6):
        reader.put_many([f"h{i}"], np.full((1, 2), i, dtype=np.float32))
    stale = reader._parts()  # what the reader listed just before another process compacted
    assert EmbeddingCache(tmp_path, "fp", 2).compact(max_parts=2) == 5
    assert not all(p.exists() for p in stale)

    real = EmbeddingCache._parts
    listings = iter([stale])
    monkeypatch.setattr(EmbeddingCache, "_parts", lambda self: next(listings, None) or real(self))
    got = reader.get_many([f"h{i}" for i in range(6)])
    assert {h: v.tolist() for h, v in got.items()} == {f"h{i}": [i, i] for i in range(6)}

    listings = iter([stale])
    assert early.refresh() == 6  # the hashes of the deleted parts, from the merged part


def test_a_lookup_reads_only_the_parts_that_hold_the_hashes_asked_for(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp", 2)
    cache.put_many(["a", "b"], np.array([[1, 2], [3, 4]], dtype=np.float32))
    [first] = _parts(cache)
    cache.put_many(["c"], np.array([[5, 6]], dtype=np.float32))
    (cache.dir / first).write_bytes(b"not a part")  # a scan of every part would fail on it
    got = cache.get_many(["c", "zz"])
    assert {h: v.tolist() for h, v in got.items()} == {"c": [5, 6]}


def test_parts_of_the_parquet_layout_are_read_and_compacted_into_arrow(tmp_path):
    folder = tmp_path / "fp"
    folder.mkdir()
    for i in range(3):  # what the cache wrote before it used Arrow files
        pq.write_table(pa.table({
            "text_hash": pa.array([f"old{i}"], pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array([float(i), 1.0], pa.float32()), 2),
        }), folder / f"part-{i:032x}.parquet")
    cache = EmbeddingCache(tmp_path, "fp", 2)
    cache.put_many(["new"], np.array([[9, 9]], dtype=np.float32))
    assert cache.missing(["old0", "old2", "new", "x"]) == ["x"]
    assert cache.get_many(["old1", "new"])["old1"].tolist() == [1, 1]
    assert cache.compact(max_parts=1) == 4
    [merged] = _parts(cache)
    assert merged.endswith(".arrow")
    expected = {"old0": [0, 1], "old1": [1, 1], "old2": [2, 1], "new": [9, 9]}
    for reader in (cache, EmbeddingCache(tmp_path, "fp", 2)):  # the compacting instance and a new one
        assert {h: v.tolist() for h, v in reader.get_many(expected).items()} == expected


def test_vectors_mapped_before_a_compaction_deleted_their_part_stay_readable(tmp_path):
    reader = EmbeddingCache(tmp_path, "fp", 2)
    for i in range(3):
        reader.put_many([f"h{i}"], np.full((1, 2), i, dtype=np.float32))
    assert reader.get_many(["h0", "h1", "h2"])["h2"].tolist() == [2, 2]  # every part mapped now
    assert EmbeddingCache(tmp_path, "fp", 2).compact(max_parts=1) == 3  # another process
    got = reader.get_many(["h0", "h1", "h2"])
    assert {h: v.tolist() for h, v in got.items()} == {"h0": [0, 0], "h1": [1, 1], "h2": [2, 2]}
