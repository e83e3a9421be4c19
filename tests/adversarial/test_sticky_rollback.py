"""Issue 19, item 1: a rollback sticks. The version rolled back from is not promoted again by a
sync of the same unchanged source; that sync is held with the command that releases it."""

import json

import pytest

from indexgate import cli
from indexgate.errors import VersionHeld
from indexgate.lifecycle.promotion import live_version, rollback
from indexgate.resources import resources
from indexgate.sync import run_sync


def _two_versions(res, write_corpus):
    root = write_corpus({"a.txt": "Backups run nightly at two.\n", "b.txt": "Leave is 28 days a year.\n"})
    first, _ = run_sync(res, "docs", root)
    (root / "b.txt").write_text("Leave is 30 days a year.\n")
    second, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted"
    return root, first.version, second.version


def test_a_sync_after_rollback_is_held_not_promoted_again(fake_settings, write_corpus):
    res = resources(fake_settings)
    root, v1, v2 = _two_versions(res, write_corpus)
    rollback(res.store, res.registry, "docs", by="cli (ops)")
    assert live_version(res.store, "docs") == v1
    with pytest.raises(VersionHeld) as held:
        run_sync(res, "docs", root)  # the same unchanged source: it would rebuild v2
    message = str(held.value)
    assert v2 in message and "rolled back from" in message and "cli (ops)" in message
    assert f"indexgate release --alias docs {v2}" in message
    assert live_version(res.store, "docs") == v1  # the rollback stuck

    # A source whose content changed builds a new version as usual.
    (root / "a.txt").write_text("Backups run nightly at three.\n")
    plan, outcome = run_sync(res, "docs", root)
    assert plan.version not in (v1, v2) and outcome.action == "promoted"


def test_release_records_who_and_when_and_lets_the_sync_promote(fake_settings, write_corpus, capsys):
    res = resources(fake_settings)
    root, v1, v2 = _two_versions(res, write_corpus)
    rollback(res.store, res.registry, "docs", by="cli (ops)")
    home = str(fake_settings.home)

    assert cli.main(["status", "--alias", "docs", "--state-dir", home, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [h["version"] for h in status["holds"]] == [v2]
    assert status["holds"][0]["release"] == f"indexgate release --alias docs {v2}"
    assert cli.main(["status", "--alias", "docs", "--state-dir", home]) == 0
    assert f"held: version {v2}" in capsys.readouterr().out

    assert cli.main(["release", "--alias", "docs", v1, "--state-dir", home]) == 1  # not held
    assert f"indexgate: error: version {v1} of 'docs' is not held (held versions: {v2})" in capsys.readouterr().err
    assert cli.main(["release", "--alias", "docs", v2, "--state-dir", home]) == 0
    event = res.registry.history("docs")[-1]
    assert (event.action, event.released) == ("release", v2) and event.by.startswith("cli (") and event.at

    res = resources(fake_settings)  # the CLI closed the store client it shared
    _, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted" and live_version(res.store, "docs") == v2


def test_a_held_sync_exits_1_through_the_cli(fake_settings, write_corpus, capsys, monkeypatch):
    res = resources(fake_settings)
    root, v1, v2 = _two_versions(res, write_corpus)
    home = str(fake_settings.home)
    monkeypatch.setenv("INDEXGATE_EMBEDDER__KIND", "fake")
    monkeypatch.setenv("INDEXGATE_EMBEDDER__MODEL", "fake")
    assert cli.main(["rollback", "--alias", "docs", "--state-dir", home]) == 0
    assert f"version {v2} is withdrawn: a sync that would build it again is held until" in capsys.readouterr().out
    code = cli.main(["sync", "--source", str(root), "--alias", "docs", "--state-dir", home])
    err = capsys.readouterr().err
    assert code == 1
    assert f"indexgate: error: sync held: it would build version {v2}" in err
    assert f"indexgate release --alias docs {v2}" in err
