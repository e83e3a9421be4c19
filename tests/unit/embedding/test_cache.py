"""The Parquet embedding cache."""

import numpy as np
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
    assert len(list(cache.dir.glob("part-*.parquet"))) == 1
    np.testing.assert_array_equal(cache.get_many(["a"])["a"], [1, 1])


def test_shape_mismatch_is_refused(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp", 2)
    with pytest.raises(ValueError, match="2 hashes but 1 vectors"):
        cache.put_many(["a", "b"], np.ones((1, 2)))
    with pytest.raises(ValueError, match="3 dimensions"):
        cache.put_many(["a"], np.ones((1, 3)))
