"""An embedded store of qdrant-client's local mode (IndexGate before Qdrant Edge) is refused with
what to do, and `indexgate migrate-store` copies it into Edge shards."""

import json

import numpy as np
from qdrant_client import QdrantClient, models

from indexgate.cli import main
from indexgate.store import connect, disconnect


def _old_store(folder):
    client = QdrantClient(path=str(folder))
    for version in ("v1", "v2"):
        client.create_collection(f"docs__{version}", vectors_config=models.VectorParams(
            size=4, distance=models.Distance.COSINE))
        client.upsert(f"docs__{version}", points=[models.PointStruct(
            id=f"00000000-0000-0000-0000-00000000000{i}", vector=[1.0, i, 0, 0],
            payload={"doc_id": f"d{i}", "chunk_id": f"c{i}", "start": 0, "end": 1, "text": "t", "version": version})
            for i in range(3)])
    client.update_collection_aliases(change_aliases_operations=[models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name="docs__v2", alias_name="docs"))])
    client.close()


def test_migrate_store_copies_collections_and_aliases(tmp_path, capsys):
    state = tmp_path / "state"
    _old_store(state / "qdrant")
    assert main(["status", "--alias", "docs", "--state-dir", str(state)]) == 1
    assert "holds qdrant-client's local-mode layout" in capsys.readouterr().err
    assert main(["migrate-store", "--state-dir", str(state), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["collections"] == {"docs__v1": 3, "docs__v2": 3} and done["aliases"] == {"docs": "docs__v2"}
    store = connect(path=state / "qdrant")
    try:
        assert store.collections() == ["docs__v1", "docs__v2"] and store.alias_target("docs") == "docs__v2"
        assert [h.version for h in store.search("docs", np.array([1.0, 0, 0, 0]), 3)] == ["v2"] * 3
        assert store.owner("docs__v1") == (state / "installation-id").read_text()
    finally:
        disconnect(store)
    assert (state / "qdrant.local-mode" / "meta.json").is_file()  # kept until the user deletes it
