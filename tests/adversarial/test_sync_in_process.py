"""`indexgate sync` without a Prefect API runs the library's steps in its own process: no temporary
Prefect server, the same decision, gates, manifest and report as the flow, the same exit codes and
notifications. ``INDEXGATE_PREFECT=always`` keeps it a flow; a configured API makes it one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runs import environment, indexgate

DOCS = {
    "runbook.md": "# Backups\n\nDatabase backups run every night at 02:00 UTC and are kept for 35 days.\n",
    "leave.txt": "Parental leave\n\nBirth parents receive 20 weeks of fully paid leave.\n",
}


def _sync(tmp_path: Path, source: Path, state: str, *extra: str, **env: str):
    tmp_path.mkdir(exist_ok=True)
    result = indexgate(tmp_path, "sync", "--source", source, "--alias", "kb", "--state-dir", tmp_path / state,
                       "--json", *extra, **env)
    assert result.code in (0, 3), result.err[-3000:]
    return result, json.loads(result.out)


def test_in_process_and_flow_syncs_agree(tmp_path, write_corpus):
    source = write_corpus(DOCS)
    here, local = _sync(tmp_path / "a", source, "state")
    assert not here.prefect_started  # no temporary API server
    assert local["action"] == "promoted" and Path(local["report"]).is_file()
    assert {"imports", "resources", "snapshot", "plan", "parse", "chunk", "embed", "load", "validate",
            "gc", "report", "total"} <= set(local["seconds"])
    flowed, flow = _sync(tmp_path / "b", source, "state", INDEXGATE_PREFECT="always")
    assert flowed.prefect_started and "seconds" not in flow
    same = ("action", "version", "live", "changes")
    assert {k: local[k] for k in same} == {k: flow[k] for k in same}
    assert [(g["name"], g["passed"], g["value"]) for g in local["gates"]] == \
           [(g["name"], g["passed"], g["value"]) for g in flow["gates"]]
    assert local["manifest"]["counts"] == flow["manifest"]["counts"]

    again, unchanged = _sync(tmp_path / "a", source, "state")
    assert unchanged["action"] == "unchanged" and unchanged["version"] == local["version"]
    assert not again.prefect_started and set(unchanged["seconds"]) >= {"plan", "unchanged", "gc"}


def test_a_rejected_in_process_sync_exits_3_and_notifies(tmp_path, write_corpus, webhook):
    source = write_corpus(DOCS)
    strict = tmp_path / "strict.yaml"
    strict.write_text(f"gates: {{quality: {{min_document_chars: 100000}}}}\nnotify: {{webhook_url: '{webhook.url}'}}\n")
    result, outcome = _sync(tmp_path, source, "state", "--config", strict)
    assert result.code == 3 and outcome["action"] == "rejected" and outcome["live"] is None
    assert not result.prefect_started
    posted = webhook.wait(1)[0]
    assert (posted["outcome"], posted["alias"], posted["version"]) == ("rejected", "kb", outcome["version"])
    assert posted["run"].startswith("indexgate sync on ")


def _configured(tmp_path: Path, **env: str) -> bool:
    """prefect_api_configured() in a fresh process (this one has imported Prefect) in tmp_path."""
    code = "from indexgate.cli.runner import prefect_api_configured as c; print(c())"
    done = subprocess.run([sys.executable, "-c", code], env=environment(tmp_path, **env), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip() == "True"


@pytest.mark.parametrize("profiles, env, expected", [
    (None, {}, False),
    (None, {"PREFECT_API_URL": "http://127.0.0.1:4200/api"}, True),
    ('active = "work"\n[profiles.work]\nPREFECT_API_URL = "http://prefect:4200/api"\n', {}, True),
    ('active = "work"\n[profiles.work]\nPREFECT_LOGGING_LEVEL = "INFO"\n', {}, False),
    ('active = "work"\n[profiles.work]\n[profiles.cloud]\nPREFECT_API_URL = "https://api.prefect.cloud/x"\n',
     {"PREFECT_PROFILE": "cloud"}, True),
])
def test_a_configured_prefect_api_is_found_without_importing_prefect(tmp_path, profiles, env, expected):
    if profiles is not None:
        (tmp_path / "prefect-home").mkdir()
        (tmp_path / "prefect-home" / "profiles.toml").write_text(profiles)
    assert _configured(tmp_path, **env) is expected


def test_a_prefect_toml_in_the_working_folder_is_read_by_prefect(tmp_path):
    (tmp_path / "prefect.toml").write_text('[api]\nurl = "http://prefect:4200/api"\n')
    assert _configured(tmp_path) is True
    (tmp_path / "prefect.toml").write_text('[logging]\nlevel = "INFO"\n')
    assert _configured(tmp_path) is False


def test_the_prefect_setting_decides_before_any_api_is_looked_for(monkeypatch):
    from indexgate.cli import runner
    from indexgate.settings import DaskConfig, Settings

    monkeypatch.setattr(runner, "prefect_api_configured", lambda: pytest.fail("no API lookup expected"))
    assert runner.runs_as_flow(Settings(prefect="always")) is True
    assert runner.runs_as_flow(Settings(prefect="never", dask=DaskConfig(address="tcp://x:8786"))) is False
    # Only the flow fans the embedding out to a Dask cluster.
    assert runner.runs_as_flow(Settings(dask=DaskConfig(address="tcp://x:8786"))) is True
