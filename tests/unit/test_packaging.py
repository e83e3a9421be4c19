"""What installing the project puts on the import path."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_library_package_is_listed_for_installation():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {str(init.parent.relative_to(ROOT)).replace("/", ".") for init in (ROOT / "indexgate").rglob("__init__.py")}
    assert listed == on_disk | {"indexgate_tasks", "indexgate_flows"}


def test_tasks_and_flows_install_under_names_that_cannot_collide(tmp_path):
    # A new interpreter outside the repository: only what the installation provides is importable.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    probe = ("import importlib.util as u, indexgate_tasks, indexgate_flows\n"
             "print(u.find_spec('tasks') is None, u.find_spec('flows') is None,"
             " hasattr(indexgate_tasks, 'plan_version'),"
             " u.find_spec('indexgate_flows.sync') is not None)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "True"]
