"""The quality worker's own side: what runs in its process (:mod:`indexgate.quality.worker`).

It imports Great Expectations once, then validates suites and writes Data Docs as messages ask.
The parent's side of the pipe is :mod:`indexgate.quality.channel`.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

from indexgate.child import ignore_interrupts, messages
from indexgate.embedding.cache import EmbeddingCache
from indexgate.quality.job import VersionValidation

# Jobs the worker keeps open at once; an older one is set aside (its build stopped before its last suite).
OPEN_JOBS = 8


class WorkerFailed(RuntimeError):
    """The worker could not run a job (it died, or the job raised there)."""


def start_up() -> None:
    """Import GX (the worker's start-up: seconds), then give every BLAS library now loaded one
    thread.

    Those are numpy's OpenBLAS, and scipy's, which the GX import loads. Hence the limit comes
    after the import: a limit set before would miss it. The worker's tables are small. And an idle
    OpenBLAS thread spins for a while before it sleeps, on the core the sync and the API server
    need.

    The cyclic garbage collector is off during the import. The import makes about 275,000
    objects that live as long as the worker. With the collector on, it ran about 700 times
    during the import, its full collections rescanning all the objects made so far. That was
    0.4-0.8 s of the import's 2.8-3.3 s of CPU, on the development machine
    (docs/benchmarks.md#the-cpu-of-a-100-document-full-sync). The cost: the 3,000 or
    so objects of reference cycles that the import leaves as garbage (a few hundred KB) are
    never freed. They are frozen with the rest."""
    gc.disable()
    try:
        import great_expectations  # noqa: F401
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
        # GX's modules live as long as the worker. Out of the cyclic collector's reach, a full
        # collection no longer scans them. That took 190 ms, then 6 ms, added to a suite the sync
        # may be waiting for. See indexgate.resources.freeze_start_up. Frozen before the collector
        # is back on: else its first collection would scan every object the import made.
        gc.freeze()
    finally:
        gc.enable()


def serve(conn, nice: int = 0) -> None:
    """The worker's loop. Its messages:

    - ``("begin", id, QualityJob)`` opens a job.
    - ``("suite", id, name)`` validates one of its suites. It answers
      ``("checks", id, name, checks, seconds)``, or ``("failed", id, message)``. After the last
      suite it writes the Data Docs and answers ``("docs", id, error or None, seconds)``.
    - ``("forget", id, None)`` drops the job, after whatever the worker was doing for it (its
      Data Docs included). It answers ``("forgot", id)``.
    - ``None`` or a closed pipe ends it.

    ``nice`` is added to the worker's niceness first (``lifecycle.quality_nice``): its imports and
    suites then take the CPU the sync leaves."""
    ignore_interrupts()
    os.nice(nice)
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
