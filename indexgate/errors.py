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


class AliasConflict(StoreError):
    """The alias moved under us (another run promoted); nothing was changed."""


class ParseError(IndexGateError):
    """One file cannot be turned into text; the file is quarantined with this reason."""


class AliasBusy(StoreError):
    """Another sync (or gc) of the same alias is running; nothing was done."""
