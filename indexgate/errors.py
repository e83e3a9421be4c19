"""Errors IndexGate raises on purpose. Each carries a message meant for the person running it."""


class IndexGateError(Exception):
    """Base of every deliberate IndexGate error; the CLI prints its message without a traceback."""


class ConfigError(IndexGateError):
    """Settings, a config file or a command-line value is invalid."""


class SourceError(IndexGateError):
    """The source cannot be read as a whole (missing, unreachable, listing failed)."""


class GoldenSetError(IndexGateError):
    """The golden set file is missing or malformed."""


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


class VersionHeld(IndexGateError):
    """A sync would build again the version an operator rolled back from; held until released."""


class EmptySource(IndexGateError):
    """A first sync found no documents; refused unless an empty index is explicitly allowed."""


class RegistryError(IndexGateError):
    """A version or manifest asked for is not in the registry."""


class AliasBusy(StoreError):
    """Another sync (or gc) of the same alias is running; nothing was done."""
