"""The data-quality report through Prefect: the sync writes it and attaches a table artifact and a
link artifact; the quality_report flow and `indexgate report` rebuild it from the manifest."""

from __future__ import annotations

import json
from pathlib import Path

from indexgate_flows.quality_report import quality_report
from indexgate_flows.sync import sync
from indexgate.cli import EXIT_OK, main


def test_sync_report_artifacts_and_rebuild(corpus, golden, state, capsys, artifacts):
    out = sync(source=str(corpus), alias="qr", golden=str(golden), state_dir=state)
    assert out["action"] == "promoted"
    names = {g["name"] for g in out["gates"]}
    assert {"quality.chunks.text_matches_document", "quality.embeddings.not_collapsed", "integrity.payload_schema",
            "regression.baseline", "audit.golden_labels", "latency.p95_ms"} <= names
    folder = Path(state) / "aliases" / "qr" / "versions" / out["version"]
    report = folder / "report.html"
    html = report.read_text()
    assert 'id="gate-table"' in html and 'id="metric-chart"' in html and 'id="chunk-histogram"' in html
    assert (folder / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").is_file()

    [table] = artifacts("indexgate-gates-qr")
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert {r["name"] for r in rows} == names and all(r["result"] in ("pass", "warn", "FAIL") for r in rows)
    [link] = artifacts("indexgate-report-qr")
    assert report.as_uri() in link.data

    report.unlink()
    assert quality_report(alias="qr", state_dir=state) == str(report) and report.is_file()
    assert len(artifacts("indexgate-report-qr")) == 2

    report.unlink()
    assert main(["report", "--alias", "qr", "--state-dir", state]) == EXIT_OK
    assert capsys.readouterr().out.strip() == str(report) and report.is_file()
