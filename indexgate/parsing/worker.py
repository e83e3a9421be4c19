"""Parse files in a child process under a hard per-file time limit and memory limit.

PDF and Office parsers have known hangs and memory blow-ups on crafted files. Every file is
parsed in one long-lived worker process. It is started once and reused for every file, so the
parser libraries are imported once. The worker caps its own address space (``RLIMIT_AS``) before
its first file. The parent waits at most ``timeout_s`` for each answer.

- A file that runs out of time gets the worker killed and replaced.
- A file that runs out of memory makes the worker answer so and exit, since its heap is suspect.
  The worker is replaced.
- A worker that dies (segfault in a C extension) is replaced.

Each of these quarantines that one file with a specific reason and kind (``timeout``,
``memory``, ``crashed``). The next file gets a fresh worker.

The worker is started with ``spawn``, never ``fork`` (:mod:`indexgate.child`).

Its start is kept cheap, since a small sync waits for it. The worker imports the parsers'
libraries that its files need, no more (:func:`libraries`): a worker for Markdown files only
starts in about 0.2 s, one with every library in about 1.2 s. Nor does it import the settings.
A file whose parser needs a library the worker lacks gets a worker that has it.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from indexgate.child import how_ended, ignore_interrupts, messages, spawn
from indexgate.errors import ParseError
from indexgate.parsing import _parser, parse
from indexgate.parsing.base import Parsed
from indexgate.parsing.docx import parse_docx
from indexgate.parsing.html import parse_html
from indexgate.parsing.pdf import parse_pdf
from indexgate.parsing.text import parse_text

if TYPE_CHECKING:  # not imported at run time: the worker would pay pydantic's import at its start
    from indexgate.settings import ParsingConfig

log = logging.getLogger(__name__)

MIB = 1024 * 1024


# The libraries each parser imports on its first file.
_LIBRARIES: dict[Callable[[bytes], Parsed], frozenset[str]] = {
    parse_text: frozenset({"charset_normalizer"}),
    parse_html: frozenset({"bs4", "lxml.etree", "charset_normalizer"}),
    parse_pdf: frozenset({"pypdf"}),
    parse_docx: frozenset({"docx", "lxml.etree"}),
}
# Every parser's libraries: what a worker with another parse function (a test's) imports.
ALL_LIBRARIES = frozenset().union(*_LIBRARIES.values())


def libraries(objects: Iterable[tuple[str, str | None]]) -> frozenset[str]:
    """The libraries that parsing files ``(doc_id, mime)`` needs (an unsupported file: none)."""
    needed: set[str] = set()
    for doc_id, mime in objects:
        needed |= _LIBRARIES.get(_parser(doc_id, mime), frozenset())
    return frozenset(needed)


def _warm_up(names: Iterable[str]) -> None:
    """Import these parser libraries before the memory limit is set, so the limit bounds the
    work a file causes, not the size of the libraries."""
    for name in sorted(names):
        importlib.import_module(name)


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def _limit_memory(memory_mb: int) -> None:
    """Cap this process's address space at its current size plus ``memory_mb``."""
    try:
        import resource
    except ImportError:  # not on this platform (Windows): the time limit still holds
        log.warning("no memory limit for the parser process on this platform")
        return
    current = _address_space()
    if current is None:
        log.warning("cannot read the parser process's size: no memory limit")
        return
    limit = current + memory_mb * MIB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def serve(conn, memory_mb: int, target: Callable[[str, bytes, str | None], Parsed],
          names: frozenset[str] = ALL_LIBRARIES) -> None:
    """The worker's loop: import the libraries ``names``, then receive ``(doc_id, data, mime)``,
    answer ``("ok", Parsed)``, ``("error", message, kind)`` or ``("memory",)``; ``None`` or a
    closed pipe ends it."""
    ignore_interrupts()
    _warm_up(names)
    _limit_memory(memory_mb)
    conn.send(("ready",))  # start-up (imports) never counts against a file's time limit
    for message in messages(conn):
        doc_id, data, mime = message
        try:
            reply = ("ok", target(doc_id, data, mime))
        except ParseError as exc:
            reply = ("error", str(exc), exc.kind)
        except MemoryError:
            reply = ("memory",)
        except RecursionError:
            reply = ("error", "parser gave up: structure nested too deeply", "corrupt")
        except Exception as exc:  # a parser bug must cost one file, not the run
            reply = ("error", f"parser failed: {type(exc).__name__}: {exc}"[:500], "parser_error")
        del message, data
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory",))
        if reply[0] == "memory":
            return  # the heap may be fragmented or half-freed: let the parent start a fresh worker


STARTUP_TIMEOUT_S = 120


class ParserProcess:
    """A reusable worker process that parses one file at a time under hard limits.

    ``parse`` returns the :class:`Parsed` document or raises ParseError (the parser's own, or
    ``timeout``/``memory``/``crashed``). ``target`` is the parse function run in the worker (a
    module-level function, so that it can be sent to a spawned process).

    The worker imports the libraries of the files it was started for (:meth:`ensure_started`).
    A file that needs another library replaces it by a worker that imports both (once). With
    another ``target`` than :func:`~indexgate.parsing.parse`, every parser's libraries.
    """

    def __init__(self, limits: ParsingConfig | None = None,
                 target: Callable[[str, bytes, str | None], Parsed] = parse):
        if limits is None:
            from indexgate.config.pipeline import ParsingConfig
            limits = ParsingConfig()
        self.limits = limits
        self.target = target
        self.libraries: frozenset[str] = frozenset()  # what the worker imported (or will, once started)
        self._process = None
        self._conn = None
        self.lock = threading.Lock()  # one file at a time: callers hold it (see shared_parser)
        self.started = 0  # worker processes started so far (one unless files broke some)

    def _start(self) -> None:
        process, parent = spawn(serve, (self.limits.memory_mb, self.target, self.libraries), "indexgate-parser")
        self._process, self._conn = process, parent
        self.started += 1
        # Wait for the worker's imports before the first file's clock starts: on a busy machine
        # a spawned interpreter can take seconds to be ready.
        try:
            ready = parent.poll(STARTUP_TIMEOUT_S) and parent.recv() == ("ready",)
        except (EOFError, OSError):  # died while starting
            ready = False
        if not ready:
            ended = self._discard(kill=True)
            raise ParseError(f"parser process did not start within {STARTUP_TIMEOUT_S} s ({ended})", "crashed")

    def ensure_started(self, libraries: frozenset[str] = ALL_LIBRARIES) -> None:
        """Start the worker unless it is running with ``libraries`` imported; a running worker
        that lacks some is replaced by one with those and its own. Callers hold :attr:`lock`."""
        if self.target is not parse:
            libraries = ALL_LIBRARIES
        running = self._process is not None and self._process.is_alive()
        if running and libraries <= self.libraries:
            return
        self._discard(kill=True)  # an idle worker, or a dead one: nothing of a file is lost
        self.libraries |= libraries
        self._start()

    def _discard(self, kill: bool) -> str:
        """Stop the current worker; return how it ended."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is None:
            return ""
        if kill and process.is_alive():
            process.kill()
        process.join(5)
        if process.is_alive():  # did not stop when asked
            process.kill()
            process.join()
        conn.close()
        return how_ended(process)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def parse(self, doc_id: str, data: bytes, mime: str | None = None) -> Parsed:
        self.ensure_started(libraries([(doc_id, mime)]))
        try:
            self._conn.send((doc_id, data, mime))
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            ended = self._discard(kill=True)
            raise ParseError(f"parser process died before reading the file ({ended})", "crashed") from None
        timeout = self.limits.timeout_s
        if not self._conn.poll(timeout):
            self._discard(kill=True)
            log.warning("parsing %s timed out after %g s; parser process replaced", doc_id, timeout)
            raise ParseError(f"parser timed out after {timeout:g} s (time limit parsing.timeout_s)", "timeout")
        try:
            reply = self._conn.recv()
        except (EOFError, OSError):
            ended = self._discard(kill=True)
            raise ParseError(f"parser process died while parsing ({ended})", "crashed") from None
        if reply[0] == "ok":
            return reply[1]
        if reply[0] == "memory":
            self._discard(kill=False)
            raise ParseError(f"parser exceeded the memory limit of {self.limits.memory_mb} MB"
                             " (parsing.memory_mb)", "memory")
        raise ParseError(reply[1], reply[2])

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send(None)
            except OSError:
                pass
        self._discard(kill=False)

    def __enter__(self) -> ParserProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_SHARED: dict[ParsingConfig, ParserProcess] = {}
_SHARED_LOCK = threading.Lock()


@contextmanager
def shared_parser(limits: ParsingConfig | None = None) -> Iterator[ParserProcess]:
    """The process's parser worker for these limits, held exclusively inside the block.

    Started on first use and kept for the life of the process, like the embedding model. So an
    incremental sync that parses one file does not pay the worker's start-up (about a second).
    Threads parsing at the same time take turns. Closed when the interpreter exits.
    """
    if limits is None:
        from indexgate.config.pipeline import ParsingConfig
        limits = ParsingConfig()
    with _SHARED_LOCK:
        parser = _SHARED.get(limits)
        if parser is None:
            parser = _SHARED[limits] = ParserProcess(limits)
    with parser.lock:
        yield parser


def warm_up(limits: ParsingConfig | None = None, names: frozenset[str] = ALL_LIBRARIES) -> None:
    """Start the process's parser worker for these limits, with the parser libraries ``names``
    (:func:`libraries` of the files to come), in a background thread. Its start-up (a new
    interpreter and those imports: 0.2-1.2 s) then overlaps whatever the caller does next. A
    parse waits for it (it holds the worker's lock). A start that fails here is retried by the
    first parse, which reports the failure."""
    def start() -> None:
        with shared_parser(limits) as parser:
            try:
                parser.ensure_started(names)
            except ParseError:
                pass

    threading.Thread(target=start, name="indexgate-parser-start", daemon=True).start()


@atexit.register
def close_shared() -> None:
    with _SHARED_LOCK:
        for parser in _SHARED.values():
            with parser.lock:
                parser.close()
        _SHARED.clear()
