"""Issue 19, item 2: a bad configuration, policy, golden set, grid or source fails before Prefect
starts (no temporary server, no flow run), with one `indexgate: error:` line and nothing else."""

from __future__ import annotations

import pytest
from cli_runs import indexgate, one_error_line


GOLDEN = '{"query_id": "q1", "query": "hello", "relevant": [{"doc_id": "a.md", "start": 0, "end": 5}]}\n'


@pytest.fixture
def files(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nHello world.\n")
    (tmp_path / "golden.jsonl").write_text(GOLDEN)
    (tmp_path / "bad-config.yaml").write_text("chunking: {chunk_size: lots}\n")
    (tmp_path / "bad-policy.yaml").write_text("gates: {modes: {relevance: sometimes}}\n")
    (tmp_path / "bad-golden.jsonl").write_text(GOLDEN + '{"query_id": "q2", "query": oops}\n')
    (tmp_path / "bad-grid.yaml").write_text("strategies: 3\n")
    return tmp_path


CASES = {
    "config": (["sync", "--alias", "a", "--config", "bad-config.yaml"], "bad-config.yaml"),
    "policy": (["sync", "--alias", "a", "--policy", "bad-policy.yaml"], "bad-policy.yaml"),
    "golden": (["sync", "--alias", "a", "--golden", "bad-golden.jsonl"], "bad-golden.jsonl:2"),
    "source": (["eval", "--golden", "golden.jsonl", "--source", "missing"], "source folder not found"),
    "grid": (["experiment", "--golden", "golden.jsonl", "--grid", "bad-grid.yaml"], "grid file"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_file_fails_before_prefect_starts(files, case):
    argv, named = CASES[case]
    if "--source" not in argv:
        argv = [*argv, "--source", "docs"]
    result = indexgate(files, *argv, "--state-dir", "state")
    assert named in one_error_line(result)
    assert not result.prefect_started
    assert not (files / "state").exists()  # nothing was created either
