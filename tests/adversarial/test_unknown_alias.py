"""Issue 19, item 3: `gc` and `rollback` of an unknown alias say so, and create no folder."""

from __future__ import annotations

import pytest
from cli_runs import indexgate, one_error_line


@pytest.mark.parametrize("command", ["gc", "rollback"])
def test_unknown_alias_is_refused_without_creating_anything(tmp_path, command):
    line = one_error_line(indexgate(tmp_path, command, "--alias", "nope", "--state-dir", "state"))
    assert "unknown alias 'nope' in state" in line
    assert not (tmp_path / "state").exists()
