"""The run summary: the four change counts, carried rows, embedded versus reused chunks."""

from indexgate.reporting import summary


def test_markdown_and_text_show_changes_and_reuse():
    outcome = {"alias": "docs", "version": "v2", "action": "promoted", "reason": "all 5 gates passed", "live": "v2",
               "gates": [], "changes": {"base": "v1", "added": 1, "changed": 2, "unchanged": 97, "deleted": 3}}
    manifest = {"counts": {"documents": 100, "chunks": 300}, "embedding": {"embedded": 7, "reused": 293},
                "changes": {"documents_parsed": 3, "documents_carried": 97, "chunks_carried": 290}}
    markdown = summary.sync_markdown(outcome, manifest)
    for row in ("## Changes against `v1`", "| added | 1 |", "| changed | 2 |", "| unchanged | 97 |", "| deleted | 3 |",
                "| documents parsed | 3 |", "| chunks carried from the live version | 290 |",
                "| chunks embedded | 7 |", "| chunks reused from cache | 293 |"):
        assert row in markdown
    assert summary.changes_text(outcome["changes"]) == (
        "documents added 1, changed 2, unchanged 97, deleted 3 (against v1)")
    assert summary.changes_text({**outcome["changes"], "base": None}).endswith("(against no live version)")
