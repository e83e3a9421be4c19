"""Checks at the start of a run, before anything is locked, built or moved.

Parameter types (:mod:`indexgate.params`) catch what a schema can. These checks catch what only
the machine running the flow can know:

- the source folder is there and readable;
- the golden set parses;
- the alias to roll back exists.

Each failure is one clear error naming the value. For relative paths, it also names the folder
they were resolved against.
"""

from __future__ import annotations

import os
from pathlib import Path

from indexgate.errors import ConfigError, SourceError
from indexgate.evaluation import load_golden
from indexgate.lifecycle.registry import Registry
from indexgate.sources import BeirSource, FolderSource, open_source
from indexgate.lifecycle.versioning import validate_alias


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


def check_state_dir(home: Path) -> None:
    """The state folder is a folder, or can become one: its nearest existing ancestor is a
    folder. Nothing is created here."""
    home = Path(home).expanduser()
    for folder in (home, *home.parents):
        if folder.exists():
            if not folder.is_dir():
                named = "" if folder == home else f" ({folder} is a file)"
                raise ConfigError(f"state folder {home} is not a folder{named}{_where(home)}; give --state-dir a folder")
            return


def check_state_outside_source(home: Path, source: str) -> None:
    """A state folder inside a folder source is refused: every sync would index its own
    reports and manifests, see a changed source each time, and never settle."""
    if not isinstance(open_source(source), FolderSource):
        return
    root = Path(source.removeprefix("file://")).expanduser().resolve()
    state = Path(home).expanduser().resolve()
    if state == root or root in state.parents:
        raise ConfigError(f"state folder {state} is inside the source folder {root}: each sync would index"
                          " its own reports; give --state-dir (or INDEXGATE_HOME) a folder outside the source")


def check_model(embedder) -> None:
    """The embedding model can be found: the packaged one, a model folder or a cached hub name.
    Only file checks: the model is not loaded."""
    if embedder.kind == "sentence-transformers":
        from indexgate.embedding.sentence_transformers import resolve_model

        resolve_model(embedder.model)


def check_inputs(alias: str | None, source: str | None = None, golden: str | None = None,
                 home: Path | None = None) -> None:
    """The alias name, the source and the golden set (read and validated whole: it is small),
    each when given; with ``home``, the state folder too (a folder, outside the source)."""
    if alias is not None:
        validate_alias(alias)
    if home is not None:
        check_state_dir(home)
    if source is not None:
        check_source(source)
        if home is not None:
            check_state_outside_source(home, source)
    if golden:
        load_golden(golden)


def check_run(settings, alias: str | None, source: str | None = None, golden: str | None = None) -> None:
    """Everything a run can check before it starts (what :func:`check_inputs` checks, the state
    folder, the embedding model), in about a second: the CLI calls it before any flow."""
    check_inputs(alias, source, golden, home=settings.home)
    check_model(settings.embedder)


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
