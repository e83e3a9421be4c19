"""How far a long step is (embedding, evaluation): a bar on a terminal, log lines otherwise.

A step that ends within ``delay_s`` shows nothing: most steps of an incremental sync are short,
and a flashing bar or a log line each would be noise.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TextIO

log = logging.getLogger("indexgate.progress")

# Seconds between two log lines of one step when stderr is not a terminal (a CI log, a worker).
LOG_EVERY_S = 30.0
# Seconds a step runs before it shows anything.
DELAY_S = 2.0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Counts the items a step has done out of ``total`` (None: unknown).

    Guarantees:

    - on a terminal (``stream.isatty()``): a bar on ``stream`` (tqdm), drawn once the step has
      run ``delay_s`` and removed at the end;
    - otherwise: a line on the ``indexgate.progress`` logger at most every ``every_s`` seconds,
      none before ``delay_s``. It gives done/total, the rate and the time left. A last line comes
      at the end when any was written;
    - ``advance`` may be called from several threads.

    Use it as a context manager."""

    def __init__(self, what: str, total: int | None = None, unit: str = "items", *, stream: TextIO | None = None,
                 every_s: float | None = None, delay_s: float | None = None):
        self.what, self.total, self.unit = what, total, unit
        self.done = 0
        self.every_s = LOG_EVERY_S if every_s is None else every_s
        self.delay_s = DELAY_S if delay_s is None else delay_s
        self.started = time.monotonic()
        self._logged_at: float | None = None
        self._lock = threading.Lock()
        stream = sys.stderr if stream is None else stream
        self._bar = None
        if _is_terminal(stream):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=what, unit=f" {unit}", file=stream, delay=self.delay_s,
                             leave=False)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(n)
                return
            now = time.monotonic()
            if now - self.started < self.delay_s:
                return
            if self._logged_at is None or now - self._logged_at >= self.every_s:
                self._logged_at = now
                log.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        """``evaluating: 2,560/10,000 queries (26%), 85/s, about 1m 28s left``."""
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.what}: {self.done:,}"
        if self.total:
            text += f"/{self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%)"
        else:
            text += f" {self.unit}"
        text += f", {rate:,.1f}/s" if rate < 10 else f", {rate:,.0f}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", about {_duration((self.total - self.done) / rate)} left"
        elif self.total and self.done >= self.total:
            text += f", done in {_duration(elapsed)}"
        return text

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            elif self._logged_at is not None:  # the step was long enough to report: report its end
                self._logged_at = None
                log.info("%s", self.line())


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
