"""Every entrypoint named in deployments/prefect.yaml imports and is a Prefect flow."""

import importlib.util
from pathlib import Path

import yaml
from prefect import Flow

ROOT = Path(__file__).resolve().parents[2]


def test_every_deployment_entrypoint_is_a_flow():
    spec = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    entrypoints = [d["entrypoint"] for d in spec["deployments"]]
    assert entrypoints
    for entry in entrypoints:
        path, name = entry.split(":")
        module_spec = importlib.util.spec_from_file_location(f"ep_{name}", ROOT / path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        assert isinstance(getattr(module, name), Flow), entry


def test_deployed_parameters_carry_their_constraints():
    """What the UI shows and a server with enforce_parameter_schema checks."""
    from indexgate_flows.reindex import reindex
    from indexgate_flows.rollback import rollback
    from indexgate_flows.sync import sync

    spec = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    assert {d["name"] for d in spec["deployments"]} >= {"scheduled-sync", "manual-reindex", "rollback", "quality-report",
                                                        "chunking-experiment"}
    assert all(d["work_pool"]["name"] == "indexgate" and d["enforce_parameter_schema"] for d in spec["deployments"])
    schema = reindex.parameters.model_dump_for_openapi()["properties"]
    assert schema["alias"]["pattern"] and schema["alias"]["maxLength"] == 64
    assert schema["chunk_size"]["anyOf"][0]["minimum"] == 1 and schema["chunk_overlap"]["anyOf"][0]["minimum"] == 0
    assert schema["strategy"]["anyOf"][0]["enum"] == ["token_window", "recursive", "sentence", "markdown", "semantic"]
    assert schema["source"]["minLength"] == 1 and "description" in schema["embedder_model"]["anyOf"][0]
    assert sync.parameters.model_dump_for_openapi()["properties"]["alias"]["pattern"] == schema["alias"]["pattern"]
    assert rollback.parameters.model_dump_for_openapi()["properties"]["to"]["anyOf"][0]["pattern"] == "^[0-9a-f]{12}$"
