"""Checks at the start of a run, before anything is locked, built or moved.

Parameter types (:mod:`indexgate.params`) catch what a schema can; these catch what only the
machine running the flow can know: the source folder is there and readable, the golden set
parses, the alias to roll back exists. Each failure is one clear error naming the value and,
for relative paths, the folder they were resolved against.
"""

from __future__ import annotations

import os
from pathlib import Path

from indexgate.errors import ConfigError, SourceError
from indexgate.evaluation import load_golden
from indexgate.registry import Registry
from indexgate.sources import BeirSource, FolderSource, open_source
from indexgate.versioning import validate_alias


def _where(path: Path) -> str:
    return "" if path.is_absolute() else f" (relative to {Path.cwd()})"


def check_source(source: str) -> None:
    """A folder must exist and be listable, a BEIR folder must hold a readable corpus.jsonl;
    an S3 URI must name a bucket (its listing is the snapshot's first step)."""
    opened = open_source(source)  # refuses unknown schemes and an S3 URI without a bucket
    if isinstance(opened, FolderSource):
        root = Path(source.removeprefix("file://")).expanduser()
        if not root.is_dir():
            raise SourceError(f"source folder not found or not a folder: {source}{_where(root)}")
        try:
            with os.scandir(root):
                pass
        except OSError as exc:
            raise SourceError(f"cannot list source folder {source}: {exc.strerror or exc}") from None
    elif isinstance(opened, BeirSource):
        try:
            with open(opened.corpus, "rb"):
                pass
        except OSError as exc:
            raise SourceError(f"BEIR source {source!r}: cannot read {opened.corpus}: {exc.strerror or exc}"
                              f"{_where(opened.corpus)}") from None


def check_inputs(alias: str | None, source: str | None = None, golden: str | None = None) -> None:
    """The alias name, the source and the golden set (read and validated whole: it is small),
    each when given."""
    if alias is not None:
        validate_alias(alias)
    if source is not None:
        check_source(source)
    if golden:
        load_golden(golden)


def check_known_alias(home: Path, alias: str, version: str | None = None) -> None:
    """The alias (and the version, when given) is known in this state folder's registry."""
    registry = Registry(home)
    known = registry.aliases()
    if validate_alias(alias) not in known:
        raise ConfigError(f"unknown alias {alias!r} in {home}: known aliases are {', '.join(known) or 'none'}")
    if version is not None and registry.load(alias, version) is None:
        versions = [m.version for m in registry.versions(alias)]
        raise ConfigError(f"alias {alias!r} has no version {version!r} in {home}: its versions are"
                          f" {', '.join(versions) or 'none'}")
