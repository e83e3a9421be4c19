"""Great Expectations in a process of its own, beside the sync.

GX costs a sync three things that do not shrink with the size of a change: importing it (seconds,
once per process), resolving each expectation (tens of milliseconds each) and rendering the Data
Docs. One long-lived child process does all three, so the sync's own process goes on meanwhile,
on the other core: the worker starts when a build is planned and imports GX while the sync
parses; each suite is validated as soon as its table is final (documents after parsing, chunks
after chunking, embeddings after embedding), while the sync goes on to the next step; the Data
Docs are rendered while the version is loaded, checked, promoted and reported. The sync waits
for the checks at its gate decision, and the report waits for the Data Docs it links to
(:func:`wait_data_docs`), so a sync never ends with its Data Docs unwritten.

Guarantees:

- the checks are those an in-process run gives: the same code (:mod:`indexgate.quality.job`)
  over the same tables, read from the same files once they are final;
- if the worker cannot start, dies, or fails on a job, that job runs in the calling process
  instead (a warning says why), so a worker failure never changes or skips a gate;
- every wait on the worker is bounded: a worker that has not answered within the caller's
  timeout (``lifecycle.quality_wait_s``) is killed and the job runs in the calling process, so a
  hung worker never hangs a sync (and the alias lock it holds);
- messages are handled one at a time, in the order sent; the worker is shared by every thread of
  the process and closed when the interpreter exits, after it has written the Data Docs it holds.

The worker is started with ``spawn``, never ``fork`` (:mod:`indexgate.child`).
"""

from __future__ import annotations

import gc
import itertools
import logging
import multiprocessing.util
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from indexgate.child import how_ended, ignore_interrupts, messages, spawn
from indexgate.embedding.cache import EmbeddingCache
from indexgate.quality.gx import Check
from indexgate.quality.job import SUITES, QualityJob, VersionValidation, run
from indexgate.settings import LifecycleConfig

log = logging.getLogger(__name__)


OPEN_JOBS = 8
# How long a wait on the worker lasts when the caller gives no timeout (lifecycle.quality_wait_s's
# default): a suite of a large version takes seconds, a hung worker forever.
WAIT_S: float = LifecycleConfig.model_fields["quality_wait_s"].default


class WorkerFailed(RuntimeError):
    """The worker could not run a job (it died, or the job raised there)."""


def start_up() -> None:
    """Import GX (the worker's start-up: seconds), then give every BLAS library now loaded one
    thread: numpy's OpenBLAS, and scipy's, which the GX import loads (hence after it: a limit
    set before would miss it). The worker's tables are small, and an idle OpenBLAS thread spins
    for a while before it sleeps, on the core the sync and the API server need."""
    import great_expectations  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    # GX's modules, about 275,000 objects, live as long as the worker: out of the cyclic
    # collector's reach, so a full collection no longer scans them (190 ms, then 6 ms, added to
    # a suite the sync may be waiting for). See indexgate.resources.freeze_start_up.
    gc.freeze()


def serve(conn) -> None:
    """The worker's loop. ``("begin", id, QualityJob)`` opens a job; ``("suite", id, name)``
    validates one of its suites and answers ``("checks", id, name, checks, seconds)`` (or
    ``("failed", id, message)``); after the last suite it writes the Data Docs and answers
    ``("docs", id, error or None, seconds)``. ``("forget", id, None)`` drops the job, after
    whatever the worker was doing for it (its Data Docs included), and answers ``("forgot", id)``.
    ``None`` or a closed pipe ends it."""
    ignore_interrupts()
    start_up()
    caches: dict[Path, EmbeddingCache] = {}
    # Open jobs, oldest first; None: the job failed, its later suites are ignored. A job whose
    # build stopped before its last suite is forgotten once OPEN_JOBS newer ones are open.
    jobs: dict[int, VersionValidation | None] = {}
    conn.send(("ready",))
    for kind, job_id, arg in messages(conn):
        try:
            if kind == "forget":  # its folder is being removed: nothing more is written there
                jobs.pop(job_id, None)
                conn.send(("forgot", job_id))
                continue
            if kind == "begin":
                jobs[job_id] = VersionValidation(arg)
                while len(jobs) > OPEN_JOBS:
                    del jobs[next(iter(jobs))]
                continue
            if job_id not in jobs:
                raise WorkerFailed(f"the worker set this job aside: more than {OPEN_JOBS} builds were open")
            validation = jobs[job_id]
            if validation is None:
                continue
            job = validation.job
            cache = caches.get(job.cache_dir)
            if cache is None:
                cache = caches[job.cache_dir] = EmbeddingCache(job.cache_dir.parent, job.cache_dir.name, job.dimension)
            cache.refresh()  # vectors the parent wrote since the last suite
            started = time.perf_counter()
            checks = validation.validate(arg, cache)
        except Exception as exc:  # the parent runs this job itself and meets the error there
            jobs[job_id] = None
            conn.send(("failed", job_id, f"{type(exc).__name__}: {exc}"[:2000]))
            continue
        conn.send(("checks", job_id, arg, checks, time.perf_counter() - started))
        if validation.complete:
            del jobs[job_id]
            started = time.perf_counter()
            try:
                validation.data_docs().write()
                error = None
            except Exception as exc:  # the parent writes them itself
                error = f"{type(exc).__name__}: {exc}"[:2000]
            conn.send(("docs", job_id, error, time.perf_counter() - started))


@dataclass
class _Job:
    """A job sent to the worker: its suites' checks and its Data Docs, as futures."""

    id: int
    job: QualityJob
    checks: dict[str, Future] = field(default_factory=lambda: {name: Future() for name in SUITES})
    docs: Future = field(default_factory=Future)
    sent: set[str] = field(default_factory=set)

    def fail(self, error: Exception) -> None:
        for future in (*self.checks.values(), self.docs):
            if not future.done():
                future.set_exception(error)


class _Channel:
    """One worker process, its pipe, and the jobs sent to it that it has not finished."""

    def __init__(self) -> None:
        self.process, self.conn = spawn(serve, (), "indexgate-quality")
        self.jobs: dict[int, _Job] = {}
        self.forgetting: dict[int, Future] = {}  # job id -> answered when the worker dropped the job
        self.lock = threading.Lock()  # guards jobs and forgetting (the reader takes only this one)
        self.send_lock = threading.Lock()  # one sender at a time on the pipe
        self.ended = threading.Event()  # set by the reader once the process is reaped
        threading.Thread(target=self._read, name="indexgate-quality-reader", daemon=True).start()

    def _read(self) -> None:
        """Resolve the jobs' futures from the worker's answers until its pipe closes; then fail
        whatever it did not finish."""
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "ready":
                continue
            with self.lock:
                if message[0] == "forgot":
                    forgotten = self.forgetting.pop(message[1], None)
                job = self.jobs.get(message[1])
                if message[0] in ("failed", "docs", "forgot"):
                    self.jobs.pop(message[1], None)
            if message[0] == "forgot":
                if forgotten is not None:
                    forgotten.set_result(None)
                continue
            if job is None:
                continue
            if message[0] == "checks":
                job.checks[message[2]].set_result((message[3], message[4]))
            elif message[0] == "failed":
                job.fail(WorkerFailed(message[2]))
            elif message[2] is None:
                job.docs.set_result(message[3])
            else:
                job.docs.set_exception(WorkerFailed(message[2]))
        self.process.join(5)  # only this thread reaps the process (two joining threads race)
        self.ended.set()
        ended = how_ended(self.process)
        with self.lock:
            lost, self.jobs = list(self.jobs.values()), {}
            forgetting, self.forgetting = list(self.forgetting.values()), {}
        for job in lost:
            job.fail(WorkerFailed(f"the quality worker process ended ({ended})"))
        for future in forgetting:  # a worker that is gone writes nothing more
            future.set_result(None)

    def _send(self, job: _Job, message: tuple) -> bool:
        """Send under ``send_lock`` (held by the caller), never under ``lock``: the reader needs
        ``lock`` to take the answers that let the worker read on. False: the worker is gone."""
        try:
            self.conn.send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError) as exc:
            with self.lock:
                self.jobs.pop(job.id, None)
            job.fail(WorkerFailed(f"the quality worker process is gone ({exc})"))
            return False
        return True

    def begin(self, job: _Job) -> None:
        with self.lock:
            self.jobs[job.id] = job
        with self.send_lock:
            self._send(job, ("begin", job.id, job.job))

    def suites(self, job: _Job, names: tuple[str, ...]) -> None:
        """Send the job's suites among ``names`` not sent yet, in pipeline order."""
        with self.send_lock:
            for name in SUITES:
                if name in names and name not in job.sent:
                    job.sent.add(name)
                    self._send(job, ("suite", job.id, name))

    def forget(self, job: _Job, timeout: float) -> None:
        """Have the worker drop ``job``, and return once it has (or is gone)."""
        done = Future()
        with self.lock:
            if self.ended.is_set():
                return
            self.forgetting[job.id] = done
        with self.send_lock:
            sent = self._send(job, ("forget", job.id, None))
        if not sent:  # the worker is gone: it writes nothing more
            with self.lock:
                self.forgetting.pop(job.id, None)
            return
        try:
            done.result(timeout)
        except TimeoutError:
            log.warning("quality worker did not let go of %s within %g s", job.job.folder, timeout)

    def close(self, timeout: float) -> None:
        with self.send_lock:
            try:
                self.conn.send(None)
            except OSError:
                pass
        if not self.ended.wait(timeout):
            log.warning("quality worker still busy after %g s; stopped", timeout)
            self.process.kill()
            self.ended.wait(10)


class QualityWorker:
    """The process's quality worker: started on first use, replaced when it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channel: _Channel | None = None
        self._ids = itertools.count(1)
        self.started = 0  # worker processes started so far

    def channel(self) -> _Channel:
        with self._lock:
            if self._channel is None or self._channel.ended.is_set():
                self._channel = _Channel()
                self.started += 1
            return self._channel

    def submit(self, job: QualityJob) -> tuple[_Channel, _Job]:
        """Open a job in the worker; its suites are validated as :meth:`_Channel.suites` sends them."""
        channel, sent = self.channel(), _Job(next(self._ids), job)
        channel.begin(sent)
        return channel, sent

    @property
    def pid(self) -> int | None:
        return self._channel.process.pid if self._channel is not None else None

    def kill(self, channel: _Channel, why: str) -> None:
        """Kill ``channel``'s worker (hung): its jobs fail, and the next job starts a new one."""
        log.warning("quality worker (pid %s) killed: %s", channel.process.pid, why)
        channel.process.kill()
        channel.ended.wait(10)  # the reader reaps it and fails its jobs

    def close(self, timeout: float = 120) -> None:
        """Let the worker finish what it holds (Data Docs included), then stop it."""
        with self._lock:
            channel, self._channel = self._channel, None
        if channel is not None:
            channel.close(timeout)


_WORKER = QualityWorker()
_LOCK = threading.Lock()
# Jobs whose suites were started ahead of their collection (see :func:`start`), by work folder.
_STARTED: dict[Path, tuple[_Channel, _Job]] = {}
# Data Docs that the worker is still writing, by work folder: (future, job, this process's cache,
# the worker's channel).
_DOCS: dict[Path, tuple[Future, QualityJob, EmbeddingCache, _Channel]] = {}


def warm_up() -> None:
    """Start the worker now, so that its imports overlap whatever the caller does next."""
    _WORKER.channel()


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
    docs.write()
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
    """Return once the worker will write nothing more into ``folder``, a version's work folder
    about to be removed (:func:`indexgate.lifecycle.retention.gc`): Data Docs it is writing for a run that
    collected its checks are waited for; a job whose checks were never collected (its build
    stopped after starting suites) is dropped, after whatever the worker was doing for it. Without
    this, the Data Docs of such a job could be written after the folder was removed, bringing back
    a folder with no manifest that no gc would ever remove again. At once when the worker holds
    nothing for the folder."""
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


# Run at interpreter exit by multiprocessing itself, before it terminates daemonic children
# (finalizers with an exit priority run first), so the worker finishes the Data Docs it holds
# whatever the order of the atexit handlers.
multiprocessing.util.Finalize(None, close_worker, exitpriority=10)
