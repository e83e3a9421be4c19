"""Issue 19, item 7: the quality worker is never waited on without a bound. A hung worker (here
really stopped, with SIGSTOP) is killed after ``lifecycle.quality_wait_s`` and the checks run in
the sync's own process, so the sync (and the alias lock it holds) goes on."""

import os
import signal
import threading
import time

from indexgate import sync
from indexgate.quality import worker
from indexgate.resources import resources
from indexgate.settings import load_settings


def test_a_hung_quality_worker_is_killed_and_the_checks_run_here(tmp_path, write_corpus):
    settings = load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                             lifecycle={"quality_wait_s": 3})
    res = resources(settings)
    root = write_corpus({"a.txt": "Backups run nightly at two.\n", "b.txt": "Leave is 28 days a year.\n"})
    worker.warm_up()  # the worker a sync's plan starts
    hung = worker._WORKER.pid
    os.kill(hung, signal.SIGSTOP)  # from now on it answers nothing
    try:
        plan = sync.build_shadow(res, "docs", root)  # the build steps hand their suites to the hung worker
        result: dict = {}
        started = time.monotonic()
        waiter = threading.Thread(target=lambda: result.update(gates=sync.check_quality(res, plan)), daemon=True)
        waiter.start()
        waiter.join(180)
        assert not waiter.is_alive(), "check_quality still waiting on a hung worker after 180 s"
        assert time.monotonic() - started >= 3  # it did wait for the worker first
        names = {g.name for g in result["gates"]}
        assert {"quality.documents.size_bounds", "quality.chunks.token_count", "quality.embeddings.finite"} <= names
        assert all(g.passed for g in result["gates"])
        assert not _alive(hung)  # killed, not left stopped
    finally:
        if _alive(hung):
            os.kill(hung, signal.SIGCONT)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
