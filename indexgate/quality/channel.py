"""The parent's side of the quality worker: its process, its pipe, and the jobs sent to it.

:class:`QualityWorker` starts the worker on first use and again after it died. :class:`Channel` is
one worker process: it sends jobs and turns the worker's answers into futures. What runs in the
worker is :mod:`indexgate.quality.worker_main`; the module-level API is :mod:`indexgate.quality.worker`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from indexgate.child import how_ended, spawn
from indexgate.quality.job import SUITES, QualityJob
from indexgate.quality.worker_main import WorkerFailed, serve
from indexgate.settings import LifecycleConfig

# One logger for the worker, whichever module of it speaks.
log = logging.getLogger("indexgate.quality.worker")
# The worker's niceness when the caller gives none (lifecycle.quality_nice's default).
NICE: int = LifecycleConfig.model_fields["quality_nice"].default


@dataclass
class SentJob:
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


class Channel:
    """One worker process, its pipe, and the jobs sent to it that it has not finished."""

    def __init__(self, nice: int) -> None:
        self.process, self.conn = spawn(serve, (nice,), "indexgate-quality")
        self.jobs: dict[int, SentJob] = {}
        self.forgetting: dict[int, Future] = {}  # job id -> answered when the worker dropped the job
        self.lock = threading.Lock()  # guards jobs and forgetting (the reader takes only this one)
        self.send_lock = threading.Lock()  # one sender at a time on the pipe
        self.ended = threading.Event()  # set by the reader once the process is reaped
        self.used = False  # a job was sent: closing then lets the worker finish its Data Docs
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

    def _send(self, job: SentJob, message: tuple) -> bool:
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

    def begin(self, job: SentJob) -> None:
        with self.lock:
            self.jobs[job.id] = job
            self.used = True
        with self.send_lock:
            self._send(job, ("begin", job.id, job.job))

    def suites(self, job: SentJob, names: tuple[str, ...]) -> None:
        """Send the job's suites among ``names`` not sent yet, in pipeline order."""
        with self.send_lock:
            for name in SUITES:
                if name in names and name not in job.sent:
                    job.sent.add(name)
                    self._send(job, ("suite", job.id, name))

    def forget(self, job: SentJob, timeout: float) -> None:
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
        """Stop the worker once it has finished what it holds; one that was never sent a job
        (started ahead of a sync that had nothing to build) is killed at once, mid-import."""
        if not self.used:
            self.process.kill()
            self.ended.wait(10)
            return
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
        self._channel: Channel | None = None
        self._ids = itertools.count(1)
        self.started = 0  # worker processes started so far

    def channel(self, nice: int = NICE) -> Channel:
        """The worker's channel, starting the worker (at niceness ``nice``) if none is running."""
        with self._lock:
            if self._channel is None or self._channel.ended.is_set():
                self._channel = Channel(nice)
                self.started += 1
            return self._channel

    def submit(self, job: QualityJob) -> tuple[Channel, SentJob]:
        """Open a job in the worker; its suites are validated as :meth:`Channel.suites` sends them."""
        channel, sent = self.channel(), SentJob(next(self._ids), job)
        channel.begin(sent)
        return channel, sent

    @property
    def pid(self) -> int | None:
        return self._channel.process.pid if self._channel is not None else None

    def kill(self, channel: Channel, why: str) -> None:
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
