"""The CLI's log handler: one however many commands a process runs, writing to stderr as it is."""

from __future__ import annotations

import io
import logging
import sys

from indexgate.cli import commands
from indexgate.cli.commands import log_to_stderr


def test_one_handler_that_writes_to_the_current_stderr(monkeypatch):
    logger = logging.getLogger("indexgate")
    ours = [h for h in logger.handlers if isinstance(h, commands._CurrentStderr)]  # an earlier command's
    for handler in ours:
        logger.removeHandler(handler)
    before = list(logger.handlers)
    try:
        log_to_stderr()
        log_to_stderr()
        added = [h for h in logger.handlers if h not in before]
        assert len(added) == 1
        replaced = io.StringIO()
        monkeypatch.setattr(sys, "stderr", replaced)  # after the handler was made
        monkeypatch.setattr(logger, "level", logging.INFO)
        logging.getLogger("indexgate.test").info("a line for the log")
        assert "a line for the log" in replaced.getvalue()
    finally:
        for handler in logger.handlers[:]:
            if handler not in before:
                logger.removeHandler(handler)
        for handler in ours:
            logger.addHandler(handler)
