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
