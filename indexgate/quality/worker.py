"""Great Expectations in a process of its own, beside the sync.

GX costs a sync three things that do not shrink with the size of a change:

- importing it (seconds, once per process);
- resolving each expectation (tens of milliseconds each);
- rendering the Data Docs.

One long-lived child process does all three. Meanwhile the sync's own process goes on, on the
other core:

- the worker starts with the sync's snapshot, and imports GX while the sync lists, hashes and
  parses. A sync with nothing to build stops it unused, mid-import;
- each suite is validated as soon as its table is final, while the sync goes on to the next
  step. Documents are final after parsing, chunks after chunking, embeddings after embedding;
- the Data Docs are rendered while the version is loaded, checked, promoted and reported.

The sync waits for the checks at its gate decision. The report waits for the Data Docs it links
to (:func:`wait_data_docs`). So a sync never ends with its Data Docs unwritten.

Guarantees:

- the checks are those an in-process run gives: the same code (:mod:`indexgate.quality.job`)
  over the same tables, read from the same files once they are final;
- if the worker cannot start, dies, or fails on a job, that job runs in the calling process
  instead. A warning says why. So a worker failure never changes or skips a gate;
- every wait on the worker is bounded. A worker that has not answered within the caller's
  timeout (``lifecycle.quality_wait_s``) is killed, and the job runs in the calling process. So
  a hung worker never hangs a sync, nor the alias lock it holds;
- messages are handled one at a time, in the order sent;
- the worker is shared by every thread of the process. It is closed when the interpreter exits,
  after it has written the Data Docs it holds.

The worker is started with ``spawn``, never ``fork`` (:mod:`indexgate.child`).

The parts:

- this module: what the sync calls;
- :mod:`indexgate.quality.channel`: the worker's process and pipe, from the parent's side;
- :mod:`indexgate.quality.worker_main`: what runs in it.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from indexgate.embedding.cache import EmbeddingCache
from indexgate.quality.channel import NICE, Channel, QualityWorker, SentJob
from indexgate.quality.gx import Check, DataDocsError
from indexgate.quality.job import SUITES, QualityJob, run
from indexgate.quality.worker_main import WorkerFailed
from indexgate.settings import LifecycleConfig

log = logging.getLogger(__name__)

# How long a wait on the worker lasts when the caller gives no timeout (lifecycle.quality_wait_s's
# default): a suite of a large version takes seconds, a hung worker forever.
WAIT_S: float = LifecycleConfig.model_fields["quality_wait_s"].default

_WORKER = QualityWorker()
_LOCK = threading.Lock()
# Jobs whose suites were started ahead of their collection (see :func:`start`), by work folder.
_STARTED: dict[Path, tuple[Channel, SentJob]] = {}
# Data Docs that the worker is still writing, by work folder: (future, job, this process's cache,
# the worker's channel).
_DOCS: dict[Path, tuple[Future, QualityJob, EmbeddingCache, Channel]] = {}


def warm_up(nice: int = NICE) -> None:
    """Start the worker now, at niceness ``nice`` (``lifecycle.quality_nice``), so that its
    imports overlap whatever the caller does next. A worker already running is kept as it is."""
    _WORKER.channel(nice)


def _key(folder: Path) -> Path:
    return Path(folder).resolve()


def start(job: QualityJob, suites: tuple[str, ...]) -> None:
    """Validate the job's ``suites`` in the worker from now on, for :func:`validate` to collect.
    Call it once a suite's table is final; a suite already started for the same job is not
    started again."""
    with _LOCK:
        started = _STARTED.get(_key(job.folder))
        if started is None or started[1].job != job:
            started = _STARTED[_key(job.folder)] = _WORKER.submit(job)
    channel, sent = started
    channel.suites(sent, suites)


def validate(job: QualityJob, cache: EmbeddingCache, timeout: float = WAIT_S) -> tuple[list[Check], float]:
    """Every check of the job, in suite order, and the seconds the worker spent on them: of the
    suites :func:`start` started, the rest started now. The Data Docs may still be being written
    when this returns (:func:`wait_data_docs`). ``cache`` is this process's instance of the job's
    embedding cache, for running the job here when the worker cannot. A worker that has not
    answered every suite within ``timeout`` seconds is killed, and the job runs here."""
    with _LOCK:
        started = _STARTED.pop(_key(job.folder), None)
    channel, sent = started if started is not None and started[1].job == job else _WORKER.submit(job)
    channel.suites(sent, SUITES)
    deadline = time.monotonic() + timeout
    try:
        answers = [sent.checks[name].result(max(deadline - time.monotonic(), 0)) for name in SUITES]
    except TimeoutError:
        _WORKER.kill(channel, f"no quality checks of {job.folder} within {timeout:g} s"
                              " (lifecycle.quality_wait_s)")
        log.warning("quality checks of %s run in this process instead: the worker did not answer within %g s",
                    job.folder, timeout)
        return _run_here(job, cache)
    except WorkerFailed as exc:
        log.warning("quality checks of %s run in this process instead: %s", job.folder, exc)
        return _run_here(job, cache)
    with _LOCK:
        _DOCS[_key(job.folder)] = (sent.docs, job, cache, channel)
    return [check for checks, _ in answers for check in checks], sum(seconds for _, seconds in answers)


def _run_here(job: QualityJob, cache: EmbeddingCache) -> tuple[list[Check], float]:
    started = time.perf_counter()
    checks, docs = run(job, cache)
    seconds = time.perf_counter() - started
    try:
        docs.write()
    except DataDocsError as exc:  # the checks stand; the Data Docs are incomplete, said here once
        log.warning("%s (%s)", exc, job.folder)
    return checks, seconds


def wait_data_docs(folder: Path, timeout: float = WAIT_S) -> None:
    """Return once the Data Docs of the run with this work folder are written (at once when the
    worker is writing none). If the worker failed to write them, or has not within ``timeout``
    seconds (it is then killed), they are written here."""
    with _LOCK:
        entry = _DOCS.pop(_key(folder), None)
    if entry is None:
        return
    future, job, cache, channel = entry
    try:
        future.result(timeout)
    except TimeoutError:
        _WORKER.kill(channel, f"Data Docs of {folder} not written within {timeout:g} s")
        _run_here(job, cache)
    except WorkerFailed as exc:
        log.warning("Data Docs of %s are written in this process instead: %s", folder, exc)
        _run_here(job, cache)


def settle(folder: Path, timeout: float = 120) -> None:
    """Return once the worker will write nothing more into ``folder``.

    ``folder`` is a version's work folder about to be removed
    (:func:`indexgate.lifecycle.retention.gc`).

    - Data Docs it is writing for a run that collected its checks are waited for.
    - A job whose checks were never collected (its build stopped after starting suites) is
      dropped, after whatever the worker was doing for it.

    Without this, the Data Docs of such a job could be written after the folder was removed. That
    would bring back a folder with no manifest, which no gc would ever remove again. Returns at
    once when the worker holds nothing for the folder."""
    with _LOCK:
        started = _STARTED.pop(_key(folder), None)
        docs = _DOCS.pop(_key(folder), None)
    if docs is not None:
        try:
            docs[0].result(timeout)
        except (WorkerFailed, TimeoutError):
            pass  # the folder goes: its Data Docs are not written here instead
    if started is not None:
        started[0].forget(started[1], timeout)


def close_worker() -> None:
    _WORKER.close()


# Run at interpreter exit by multiprocessing itself, before it terminates daemonic children.
# (Finalizers with an exit priority run first.) So the worker finishes the Data Docs it holds,
# whatever the order of the atexit handlers.
multiprocessing.util.Finalize(None, close_worker, exitpriority=10)
