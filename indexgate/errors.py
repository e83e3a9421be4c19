"""Errors IndexGate raises on purpose. Each carries a message meant for the person running it."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class IndexGateError(Exception):
    """Base of every deliberate IndexGate error; the CLI prints its message without a traceback.

    ``permanent``: the same call cannot succeed if tried again (see :func:`retryable`)."""

    permanent = False


class ConfigError(IndexGateError):
    """Settings, a config file or a command-line value is invalid."""

    permanent = True


class SourceError(IndexGateError):
    """The source cannot be read as a whole (missing, unreachable, listing failed).
    ``permanent=True`` when trying again cannot help (credentials missing or refused, access
    denied, no such bucket); a timeout or a broken connection is not permanent."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class GoldenSetError(IndexGateError):
    """The golden set file is missing or malformed."""

    permanent = True


class StoreError(IndexGateError):
    """The vector store refused an operation or is in a state IndexGate will not act on."""


class EmbeddingError(IndexGateError):
    """Embedding finished without the vectors it should have left in the embedding cache."""


class NotServing(StoreError):
    """The alias serves no version (it does not exist, or its version cannot be read)."""


class EmbedderMismatch(IndexGateError):
    """Query vectors would come from another model than the one the served version was embedded
    with: refused, never a silent mismatch."""


class QueryError(IndexGateError):
    """A search request is out of bounds (empty or too long query, k out of range)."""


class AliasConflict(StoreError):
    """The alias moved under us (another run promoted); nothing was changed."""


class ParseError(IndexGateError):
    """One file cannot be turned into text; the file is quarantined with this reason.

    ``kind`` is the quarantine code (see :class:`indexgate.models.Quarantined`)."""

    def __init__(self, message: str, kind: str = "unreadable"):
        super().__init__(message)
        self.kind = kind


class ObjectUnreadable(ParseError):
    """One object of a source cannot be read (e.g. S3 AccessDenied); it is quarantined, the run
    goes on. Failures of the source as a whole raise :class:`SourceError` instead."""


class MassDeleteHeld(IndexGateError):
    """A sync would delete more of the live documents than allowed; held until confirmed."""

    permanent = True


class BudgetHeld(IndexGateError):
    """A sync would embed more than the guardrails budget allows; held before embedding until
    confirmed with ``--confirm-budget``."""

    permanent = True


class VersionHeld(IndexGateError):
    """A sync would build again the version an operator rolled back from; held until released."""


class EmptySource(IndexGateError):
    """A first sync found no documents; refused unless an empty index is explicitly allowed."""


class RegistryError(IndexGateError):
    """A version or manifest asked for is not in the registry."""


class AliasBusy(StoreError):
    """Another sync (or gc) of the same alias is running; nothing was done."""


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first non-empty line, for one-line error messages."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def unknown_name(name: str, valid: list[str] | tuple[str, ...], what: str) -> str:
    """``unknown <what> 'x' (did you mean 'y'?); valid: a, b``: the closest valid name, when one is close."""
    import difflib

    close = difflib.get_close_matches(name, list(valid), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {name!r}{hint}; valid: {', '.join(valid)}"


def os_error_text(exc: OSError) -> str:
    """``No space left on device: /state/aliases/docs/...``: the system's reason, then the path."""
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = exc.strerror or first_line(exc)
    return f"{reason}: {paths}" if paths else reason


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Run the block, which writes ``path``; an OSError that names no file (a full disk met by
    ``write``) is raised again naming ``path``, so the error can say where."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise type(exc)(exc.errno, exc.strerror, str(path)) from exc


def retryable(exc: BaseException) -> bool:
    """Whether trying the same call again could succeed: not for a permanent IndexGate error,
    nor when the system refused permission (EACCES, EPERM). Anything else may be transient."""
    if isinstance(exc, IndexGateError):
        return not exc.permanent
    return not isinstance(exc, PermissionError)
