"""A three-document corpus with a span-level golden set, and the flags that start Debian's
Chromium headless on this network-less machine: shared by the report, reindex and UI tests."""

from __future__ import annotations

import json
from pathlib import Path

DOCS = {
    "security/passwords.md": "# Passwords\n\nPasswords must be at least 14 characters long and rotated after a compromise.\n",
    "ops/backups.md": "# Backups\n\nBackups run every night at 02:00 UTC and are retained for 35 days.\n",
    "hr/leave.txt": "Birth parents receive 20 weeks of paid leave; partners receive 10 weeks.\n",
}
GOLDEN = [("q1", "how long must passwords be", "security/passwords.md", "at least 14 characters long"),
          ("q2", "when do backups run", "ops/backups.md", "every night at 02:00 UTC"),
          ("q3", "weeks of paid leave for birth parents", "hr/leave.txt", "20 weeks of paid leave")]

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying Google's hosts, which this
# machine refuses; a fresh profile per run keeps runs independent.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def write_golden(path: Path) -> Path:
    """GOLDEN as a golden JSONL file: each answer is the exact span of its quote in DOCS."""
    path.write_text("".join(json.dumps({"query_id": q, "query": text, "relevant": [
        {"doc_id": d, "start": DOCS[d].index(e), "end": DOCS[d].index(e) + len(e)}]}) + "\n"
        for q, text, d, e in GOLDEN))
    return path
