"""Flow tests: real flows on Prefect's own test harness (one per session: it takes ~25 s to
start), the real packaged model, embedded Qdrant in a temporary folder."""

from __future__ import annotations

import asyncio
import json

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import Artifact
from prefect.testing.utilities import prefect_test_harness

CORPUS = {
    "security/passwords.md": (
        "# Password standard\n\nPasswords must be at least 14 characters long and are rotated only after a "
        "suspected compromise. Multi-factor authentication with a hardware key is mandatory for administrators.\n"
    ),
    "hr/parental-leave.txt": (
        "Parental leave\r\nBirth parents receive 20 weeks of fully paid leave. Partners receive 10 weeks, "
        "which can be taken within the first year after the birth or adoption.\r\n"
    ),
    "ops/backups.md": (
        "# Backup runbook\n\nDatabase backups run every night at 02:00 UTC and are retained for 35 days. "
        "To restore, page the on-call storage engineer and follow the point-in-time recovery steps.\n"
    ),
    "product/routing-faq.md": (
        "# Routing FAQ\n\nThe route optimiser recalculates delivery routes every 15 minutes using live traffic "
        "data. Drivers see the new route on their handheld after confirming the current stop.\n"
    ),
}
GOLDEN = [
    ("q1", "How long must a password be?", "security/passwords.md", "at least 14 characters long"),
    ("q2", "How many weeks of paid leave do birth parents get?", "hr/parental-leave.txt", "20 weeks of fully paid leave"),
    ("q3", "When do database backups run and how long are they kept?", "ops/backups.md",
     "every night at 02:00 UTC and are retained for 35 days"),
    ("q4", "How often are delivery routes recalculated?", "product/routing-faq.md", "every 15 minutes"),
]


@pytest.fixture(scope="session", autouse=True)
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def corpus(write_corpus):
    return write_corpus(CORPUS)


@pytest.fixture
def golden(tmp_path):
    path = tmp_path / "golden.jsonl"
    with open(path, "w") as fh:
        for qid, query, doc, evidence in GOLDEN:
            start = CORPUS[doc].index(evidence)
            fh.write(json.dumps({"query_id": qid, "query": query,
                                 "relevant": [{"doc_id": doc, "start": start, "end": start + len(evidence)}]}) + "\n")
    return path


@pytest.fixture
def state(tmp_path):
    return str(tmp_path / "state")


def _read_artifacts(key: str) -> list:
    # The request names the artifact filter alone. The client's read_artifacts sends a flow-run and
    # a task-run filter (this server version rejects its nulls for them), and with a task-run filter
    # the server keeps only artifacts whose task run it has recorded: it records them from events,
    # a moment later, so an artifact written just before a run ended could be missing.
    async def read():
        async with get_client() as client:
            response = await client._client.post("/artifacts/filter", json={
                "artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 50})
            response.raise_for_status()
            return [Artifact.model_validate(a) for a in response.json()]
    return asyncio.run(read())


@pytest.fixture
def artifacts():
    """``artifacts(key)``: the harness's artifacts with that key, newest first."""
    return _read_artifacts
