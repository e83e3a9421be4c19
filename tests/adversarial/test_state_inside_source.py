"""Issue 19, item 6: a state folder inside the source folder is refused, with that reason, before
anything runs (else every sync indexes its own reports and is rejected, forever)."""

from __future__ import annotations

import pytest
from cli_runs import indexgate, one_error_line

from indexgate.errors import ConfigError
from indexgate.preflight import check_inputs
from indexgate.settings import load_settings
from indexgate.sync import snapshot


def test_the_cli_refuses_a_state_folder_inside_the_source(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nHello.\n")
    result = indexgate(tmp_path, "sync", "--source", "docs", "--alias", "a", "--state-dir", "docs/.indexgate")
    line = one_error_line(result)
    assert f"state folder {tmp_path / 'docs' / '.indexgate'} is inside the source folder {tmp_path / 'docs'}" in line
    assert not (tmp_path / "docs" / ".indexgate").exists() and not result.prefect_started


@pytest.mark.parametrize("state", ["docs", "docs/deep/state"])
def test_the_flow_check_refuses_it_too(tmp_path, state):
    (tmp_path / "docs").mkdir()
    with pytest.raises(ConfigError, match="is inside the source folder"):
        check_inputs("a", str(tmp_path / "docs"), home=tmp_path / state)
    # The sync flow's snapshot step (a deployment's run has no CLI before it) refuses it too.
    settings = load_settings(home=str(tmp_path / state), embedder={"kind": "fake", "model": "fake"})
    with pytest.raises(ConfigError, match="is inside the source folder"):
        snapshot(str(tmp_path / "docs"), settings)


def test_a_sibling_folder_with_a_longer_name_is_fine(tmp_path):
    (tmp_path / "docs").mkdir()
    check_inputs("a", str(tmp_path / "docs"), home=tmp_path / "docs-state")
