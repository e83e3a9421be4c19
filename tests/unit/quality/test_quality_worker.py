"""The quality worker process: its checks are the in-process checks, it survives its own death,
its Data Docs are complete and are those of their own run only, and nothing it holds is lost at
exit."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexgate.quality import channel, gx, job, start_validation, validate_version, wait_data_docs, worker
from indexgate.quality.channel import Channel
from indexgate.quality.worker_main import OPEN_JOBS
from indexgate.settings import QualityConfig
from test_suites import _chunks_text_differs, _docs_unsupported

ROOT = Path(__file__).resolve().parents[3]


def _arguments(version, cache, **extra):
    return {"documents": version.documents_path, "chunks": version.chunks_path, "cache": cache, "dimension": 16,
            "normalized": True, "max_tokens": 8, "config": QualityConfig(), "folder": version.folder, **extra}


def _in_process(version, cache, **extra):
    spec = {k: v for k, v in _arguments(version, cache, **extra).items() if k != "cache"}
    return job.run(job.QualityJob(cache_dir=cache.dir, **spec), cache)[0]


def _validation_pages(index: Path) -> list[Path]:
    return sorted(index.parent.glob("validations/*/*/*/*.html"))


def test_worker_checks_are_the_in_process_checks(version):
    _chunks_text_differs(version)
    _docs_unsupported(version)
    cache = version.write()
    result = validate_version(**_arguments(version, cache))
    assert worker._WORKER.pid is not None and worker._WORKER.pid != os.getpid()
    assert result.checks == _in_process(version, cache)
    assert {c.gate for c in result.checks if not c.success} == {
        "quality.chunks.text_matches_document", "quality.documents.supported_type"}


def test_great_expectations_runs_unpatched(version):
    """GX is used through its public API only: after suites and Data Docs in this process, the
    GX code that ran them is GX's own (docs/benchmarks.md, private internals)."""
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.render.view.view import DefaultJinjaView

    cache = version.write()
    spec = {k: v for k, v in _arguments(version, cache).items() if k != "cache"}
    job.run(job.QualityJob(cache_dir=cache.dir, **spec), cache)[1].write()
    ran = [Expectation.__dict__["configuration"].fget, DefaultJinjaView.__init__,
           *(getattr(Expectation, name) for name in ("_get_runtime_kwargs", "_get_success_kwargs"))]
    assert all("great_expectations" in fn.__code__.co_filename and not hasattr(fn, "__wrapped__") for fn in ran)


def test_suites_started_as_their_tables_are_final_are_collected(version):
    cache = version.write()
    started = worker._WORKER.started
    for suite in job.SUITES:
        start_validation(**_arguments(version, cache), suites=(suite,))
    result = validate_version(**_arguments(version, cache))
    assert result.checks == _in_process(version, cache)
    assert worker._WORKER.started == started  # the same worker, no restart
    assert [c.suite for c in result.checks] == sorted((c.suite for c in result.checks), key=job.SUITES.index)


def test_a_killed_worker_is_replaced_and_its_job_runs_here(version, caplog, monkeypatch):
    cache = version.write()
    worker.warm_up()
    pid = worker._WORKER.pid
    started = worker._WORKER.started
    # the job's own suites never answer: the worker is killed while they wait
    monkeypatch.setattr(Channel, "suites", lambda self, sent, names: os.kill(self.process.pid, signal.SIGKILL))
    with caplog.at_level(logging.WARNING, logger="indexgate.quality.worker"):
        result = validate_version(**_arguments(version, cache))
    assert result.checks == _in_process(version, cache)
    assert "run in this process instead" in caplog.text and "ended (signal 9)" in caplog.text
    assert Path(result.data_docs).is_file()
    monkeypatch.undo()
    again = validate_version(**_arguments(version, cache))  # a new worker takes the next job
    assert again.checks == result.checks
    assert worker._WORKER.started == started + 1 and worker._WORKER.pid != pid


def test_each_run_data_docs_list_only_its_own_validations(version, tmp_path):
    other = type(version)(tmp_path / "other")
    other.folder.mkdir()
    one = validate_version(**_arguments(version, version.write()))
    two = validate_version(**_arguments(other, other.write()))  # in the GX context the first one used
    for result, v in ((one, version), (two, other)):
        index = Path(result.data_docs)
        assert index.is_relative_to(v.folder)
        pages = _validation_pages(index)
        assert [p.relative_to(index.parent / "validations").parts[0] for p in pages] == [
            "chunks", "documents", "embeddings"]
        linked = set(re.findall(r"validations/[^\"'?#]+\.html", index.read_text()))
        assert linked == {str(p.relative_to(index.parent)) for p in pages}  # none of the other run's


def test_a_changed_threshold_is_not_served_from_the_reused_suite(version):
    cache = version.write()
    loose = validate_version(**_arguments(version, cache))
    strict = validate_version(**_arguments(version, cache, config=QualityConfig(max_document_chars=80)))
    assert {c.gate for c in loose.checks if not c.success} == set()
    assert {c.gate for c in strict.checks if not c.success} == {"quality.documents.size_bounds"}
    [bounds] = [c for c in strict.checks if c.name == "size_bounds"]
    assert bounds.threshold == "[1, 80] characters"


def test_data_docs_written_in_the_background_exist_when_the_process_has_exited(version):
    cache = version.write()
    script = f"""
import sys
sys.path[:0] = [{str(ROOT)!r}]
from pathlib import Path
from indexgate.embedding.cache import EmbeddingCache
from indexgate.quality import validate_version
from indexgate.settings import QualityConfig
folder = Path({str(version.folder)!r})
cache = EmbeddingCache(folder / "cache", "fp", 16)
result = validate_version(folder / "documents.parquet", folder / "chunks.parquet", cache, dimension=16,
                          normalized=True, max_tokens=8, config=QualityConfig(), folder=folder, wait_docs=False)
print(result.data_docs)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    index = Path(done.stdout.strip().splitlines()[-1])
    assert index.is_file() and len(_validation_pages(index)) == 3, done.stderr[-3000:]  # the exit waited


def test_a_build_that_stopped_halfway_does_not_hold_the_worker(version, tmp_path, caplog):
    """Builds that start suites and never finish (a failed sync) are set aside by the worker once
    newer builds are open; collecting one later still gives its checks, computed here."""
    versions = [version] + [type(version)(tmp_path / f"v{i}") for i in range(OPEN_JOBS)]
    caches = []
    for v in versions:
        v.folder.mkdir(exist_ok=True)
        caches.append(v.write())
        start_validation(**_arguments(v, caches[-1]), suites=("documents",))
    with caplog.at_level(logging.WARNING, logger="indexgate.quality.worker"):
        oldest = validate_version(**_arguments(version, caches[0]))
        newest = validate_version(**_arguments(versions[-1], caches[-1]))  # still open in the worker
    assert oldest.checks == _in_process(version, caches[0])
    assert newest.checks == _in_process(versions[-1], caches[-1])
    assert "set this job aside" in caplog.text and caplog.text.count("in this process instead") == 1


def test_wait_data_docs_returns_at_once_when_none_are_pending(tmp_path):
    started = time.perf_counter()
    wait_data_docs(tmp_path)
    assert time.perf_counter() - started < 0.5


@pytest.fixture(autouse=True)
def _no_pending_work():
    yield
    worker._DOCS.clear()
    worker._STARTED.clear()


def test_worker_start_up_leaves_every_blas_library_one_thread():
    # In a process of its own: the limit is process-wide. numpy's OpenBLAS is loaded by the
    # worker's imports, scipy's only by the GX import; a limit set before that import misses it.
    code = ("import json; from indexgate.quality.worker_main import start_up; start_up();"
            " from threadpoolctl import threadpool_info;"
            " print(json.dumps([(i['filepath'], i['num_threads']) for i in threadpool_info()"
            " if i['user_api'] == 'blas']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    libraries = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(libraries) >= 2, libraries  # numpy's and scipy's
    assert all(threads == 1 for _, threads in libraries), libraries


def test_the_worker_runs_at_the_niceness_it_is_given():
    """lifecycle.quality_nice: the worker's imports and suites take the CPU the sync leaves."""
    workers = channel.QualityWorker()
    try:
        pid = workers.channel(7).process.pid
        want, deadline = os.getpriority(os.PRIO_PROCESS, 0) + 7, time.monotonic() + 60
        while os.getpriority(os.PRIO_PROCESS, pid) != want and time.monotonic() < deadline:
            time.sleep(0.05)  # the worker renices itself as it starts
        assert os.getpriority(os.PRIO_PROCESS, pid) == want
        assert workers.channel(3).process.pid == pid  # a running worker is kept as it is
    finally:
        workers.close(timeout=60)


def test_a_worker_that_was_never_sent_a_job_is_stopped_at_once():
    """A snapshot starts the worker ahead of a build. A sync with nothing to build leaves it
    unused: closing it kills it mid-import, never waits for Great Expectations to load."""
    workers = channel.QualityWorker()
    process = workers.channel().process
    workers.close(timeout=600)
    assert not process.is_alive() and process.exitcode == -signal.SIGKILL


def test_worker_start_up_imports_great_expectations_without_garbage_collections():
    # The import makes ~275,000 long-lived objects; collections during it cost 0.4-0.8 s of CPU
    # (worker_main.start_up). The collector is back on afterwards, and the import's objects are frozen.
    code = ("import gc, json; runs = []; gc.callbacks.append(lambda phase, info: runs.append(phase));"
            " from indexgate.quality.worker_main import start_up; runs.clear(); start_up();"
            " print(json.dumps([len(runs), gc.isenabled(), gc.get_freeze_count()]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    collections, enabled, frozen = json.loads(out.stdout.strip().splitlines()[-1])
    assert collections == 0
    assert enabled
    assert frozen > 100_000


def test_a_folder_settled_before_removal_is_never_written_again(version, tmp_path):
    """gc removes an old version's folder: suites started there and never collected (a build
    that stopped) must not bring it back with their Data Docs (nor with a folder no manifest
    names, which no gc would remove)."""
    cache = version.write()
    work, other = tmp_path / "old-version", tmp_path / "other-version"
    start_validation(**_arguments(version, cache, folder=work), suites=job.SUITES)  # never collected
    worker.settle(work)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    # A later job in the same worker: once its Data Docs are written, every earlier message is handled.
    validate_version(**_arguments(version, cache, folder=other))
    wait_data_docs(other)
    assert gx.data_docs_index(other).is_file()
    assert not work.exists()


def test_settling_waits_for_the_data_docs_of_a_collected_run(version, tmp_path):
    cache = version.write()
    work = tmp_path / "collected"
    validate_version(**_arguments(version, cache, folder=work), wait_docs=False)
    worker.settle(work)  # the Data Docs being written are done when it returns
    assert gx.data_docs_index(work).is_file()
    worker.settle(work)  # nothing held any more: returns at once


@pytest.mark.parametrize("blocked", ["validations", "."])
def test_data_docs_that_cannot_be_written_are_one_line_never_a_traceback(version, capfd, blocked):
    """GX catches a page it cannot write and logs it, traceback and all; with no handler that
    went to stderr. A file where the validations' folder goes: GX logs it. A file where the site
    goes: GX raises (copying its static files)."""
    cache = version.write()
    spec = {k: v for k, v in _arguments(version, cache).items() if k != "cache"}
    docs = job.run(job.QualityJob(cache_dir=cache.dir, **spec), cache)[1]
    site = gx.data_docs_index(version.folder).parent
    (site if blocked == "validations" else site.parent).mkdir(parents=True, exist_ok=True)
    (site / blocked).resolve().write_text("a file where a folder goes\n")
    with pytest.raises(gx.DataDocsError) as raised:
        docs.write()
    assert str(raised.value).startswith("Data Docs not written: ") and "\n" not in str(raised.value)
    assert "Traceback" not in capfd.readouterr().err
    assert logging.getLogger("great_expectations").propagate  # as it was
