"""The sync's embedding fan-out on a local Dask cluster of two worker processes gives the same
version as the default task runner: same version id, same point ids, payloads and vectors."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import yaml

from indexgate_flows.sync import sync
from indexgate.resources import resources
from indexgate.settings import load_settings

pytestmark = pytest.mark.slow  # starts two worker processes that each load the model


def _points(state: str, collection: str) -> dict[str, tuple[dict, np.ndarray]]:
    store = resources(load_settings(home=state)).store
    points = store.scroll(collection, limit=100_000, with_vectors=True)
    return {p.id: (dict(p.payload), np.asarray(p.vector, dtype=np.float32)) for p in points}


def _config(tmp_path, name: str, **extra) -> str:
    # One text per batch task: the four documents make four batches, enough for both workers.
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"batch_size": 1, **extra}))
    return str(path)


def test_dask_workers_build_the_same_version_as_the_default_runner(corpus, tmp_path):
    default_state, dask_state = str(tmp_path / "default"), str(tmp_path / "dask")
    default = sync(source=str(corpus), alias="fanout", state_dir=default_state, config=_config(tmp_path, "default"))
    on_dask = sync(source=str(corpus), alias="fanout", state_dir=dask_state,
                   config=_config(tmp_path, "dask", dask={"n_workers": 2}))
    assert default["action"] == on_dask["action"] == "promoted"
    assert on_dask["version"] == default["version"]

    collection = f"fanout__{default['version']}"
    expected, got = _points(default_state, collection), _points(dask_state, collection)
    assert len(expected) == 4 and got.keys() == expected.keys()
    for point_id, (payload, vector) in expected.items():
        assert got[point_id][0] == payload
        assert np.array_equal(got[point_id][1], vector), f"vector of {payload['doc_id']} differs"

    # Where the batches ran, as each batch task reported it: the default runner embeds in this
    # process; on Dask, both worker processes embedded (and loaded the model once each), never this one.
    here = f"{socket.gethostname()}:{os.getpid()}"
    by_default = resources(load_settings(home=default_state)).registry.load("fanout", default["version"]).embedding
    assert set(by_default["workers"]) == {here} and by_default["batches"] == 4 and by_default["embedded"] == 4
    by_dask = resources(load_settings(home=dask_state)).registry.load("fanout", on_dask["version"]).embedding
    assert by_dask["batches"] == 4 and by_dask["embedded"] == 4
    assert len(by_dask["workers"]) == 2 and here not in by_dask["workers"]
    assert all(w["batches"] >= 1 and w["models_loaded"] == 1 for w in by_dask["workers"].values())

    # A deletion leaves nothing to embed: no batch task (and so no cluster).
    (corpus / "ops/backups.md").unlink()
    smaller = sync(source=str(corpus), alias="fanout", state_dir=dask_state,
                   config=_config(tmp_path, "dask", dask={"n_workers": 2}))
    assert smaller["action"] == "promoted" and smaller["changes"]["deleted"] == 1
    embedding = resources(load_settings(home=dask_state)).registry.load("fanout", smaller["version"]).embedding
    assert (embedding["batches"], embedding["embedded"], embedding["reused"], embedding["workers"]) == (0, 0, 3, {})
