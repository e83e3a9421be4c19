"""The parser process: reused across files, killed and replaced on a hang, a memory blow-up or a
crash, each of which quarantines that one file with its own reason."""

from __future__ import annotations

import os
import signal
import time

import pytest

from indexgate.errors import ParseError
from indexgate.parsing.base import Parsed
from indexgate.parsing.worker import ParserProcess, libraries, shared_parser
from indexgate.settings import ParsingConfig


def misbehave(doc_id: str, data: bytes, mime: str | None = None) -> Parsed:
    """A stand-in parser (run in the worker) that does what ``doc_id`` says."""
    if doc_id == "hang":
        time.sleep(3600)
    elif doc_id == "balloon":
        hoard = [bytearray(16 * 1024 * 1024) for _ in range(1024)]  # 16 GiB, far over the limit
        return Parsed(str(len(hoard)))
    elif doc_id == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif doc_id == "bug":
        raise KeyError("a parser bug")
    return Parsed(str(os.getpid()))


def _fails(parser, doc_id, kind, match, data=b""):
    with pytest.raises(ParseError, match=match) as info:
        parser.parse(doc_id, data)
    assert info.value.kind == kind


def test_one_process_for_many_files_replaced_only_when_a_file_breaks_it():
    with ParserProcess(ParsingConfig(timeout_s=2, memory_mb=256), target=misbehave) as parser:
        first = parser.parse("a", b"").text
        assert parser.parse("b", b"").text == first and parser.started == 1
        assert first == str(parser.pid) and int(first) != os.getpid()

        _fails(parser, "bug", "parser_error", "parser failed: KeyError")
        assert parser.parse("c", b"").text == first and parser.started == 1  # a bug does not cost the process

        _fails(parser, "hang", "timeout", r"parser timed out after 2 s \(time limit parsing.timeout_s\)")
        second = parser.parse("d", b"").text
        assert second != first and parser.started == 2

        _fails(parser, "balloon", "memory", "exceeded the memory limit of 256 MB")
        third = parser.parse("e", b"").text
        assert third not in (first, second) and parser.started == 3

        _fails(parser, "segfault", "crashed", "died while parsing .signal 11")
        assert parser.parse("f", b"").text not in (first, second, third) and parser.started == 4


def test_the_real_parsers_run_in_the_worker():
    with ParserProcess() as parser:
        assert parser.parse("a.md", b"# Title\n").text == "# Title\n"
        _fails(parser, "b.txt", "binary", "NUL bytes", data=b"a\x00b")
        assert parser.started == 1


def test_the_shared_worker_serves_every_parse_step_of_the_process():
    limits = ParsingConfig(timeout_s=30, memory_mb=512)
    with shared_parser(limits) as parser:
        assert parser.parse("a.md", b"# A\n").text == "# A\n"
        pid = parser.pid
    with shared_parser(limits) as again:  # the next sync's parse step: no new worker to start
        assert again is parser and again.parse("b.md", b"# B\n").text == "# B\n"
        assert again.pid == pid and again.started == 1


def test_warm_up_starts_the_shared_worker_before_any_parse():
    from indexgate.parsing.worker import warm_up

    limits = ParsingConfig(timeout_s=41)  # limits of its own: a worker no other test shares
    warm_up(limits)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with shared_parser(limits) as parser:  # waits while the warm-up holds the worker
            if parser.pid is not None:
                break
        time.sleep(0.1)
    with shared_parser(limits) as parser:
        pid = parser.pid
        assert pid is not None and parser.started == 1
        parsed = parser.parse("a.txt", b"plain text", "text/plain")
        assert parsed.text == "plain text" and parser.pid == pid and parser.started == 1  # the warm worker parsed it


def _mapped(pid: int) -> str:
    with open(f"/proc/{pid}/maps") as fh:
        return fh.read()


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc (Linux)")
def test_the_worker_imports_only_the_libraries_of_its_files():
    with ParserProcess() as parser:
        with parser.lock:
            parser.ensure_started(libraries([("a.md", None), ("b.txt", None)]))
        assert parser.started == 1 and "lxml" not in _mapped(parser.pid)  # a cheap start: no HTML/Office parser
        assert parser.parse("a.md", b"# A\n").text == "# A\n" and parser.started == 1
        # An HTML file needs lxml: a worker that has it takes over, once, and keeps the text parser.
        assert parser.parse("b.html", b"<html><body><p>Hello</p></body></html>").text.strip() == "Hello"
        assert parser.started == 2 and "lxml" in _mapped(parser.pid)
        assert parser.parse("c.md", b"# C\n").text == "# C\n" and parser.parse("d.htm", b"<p>D</p>").text.strip() == "D"
        assert parser.started == 2
