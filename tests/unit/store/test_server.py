"""The same store code against a Qdrant server (runs only when QDRANT_URL is set)."""

import os
import uuid

import numpy as np
import pytest

from indexgate.store import connect

pytestmark = pytest.mark.server


def test_collections_points_and_alias_swap_on_a_server(qdrant_url):
    store = connect(url=qdrant_url, api_key=os.environ.get("QDRANT_API_KEY"))
    alias = f"igtest-{uuid.uuid4().hex[:8]}"
    names = [f"{alias}__v1", f"{alias}__v2"]
    try:
        for version, name in zip(("v1", "v2"), names):
            store.create(name, 4)
            store.upsert(name, [str(uuid.uuid4())], np.ones((1, 4)),
                         [{"doc_id": "d", "chunk_id": "c", "start": 0, "end": 1, "text": "t", "version": version}])
        store.point_alias(alias, names[0])
        store.point_alias(alias, names[1])
        assert store.alias_target(alias) == names[1]
        assert store.search(alias, np.ones(4), 1)[0].version == "v2"
    finally:  # deleting a collection deletes the aliases pointing at it
        for name in names:
            store.drop(name)
