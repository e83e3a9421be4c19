"""Small facts about a model (its fingerprint, dimension, limits), cached on disk by file stats.

Hashing the weights and loading the model cost seconds. What they tell does not change while the
files do not. So the first real load writes a record, keyed by each file's size, mtime and inode
and by the config, and later processes read it instead: a no-op sync loads no model.
A file replaced or touched changes its stat, and so the key: the record is computed again.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from indexgate.hashing import stable_hash


def file_stats(paths: Iterable[Path]) -> list[list]:
    """(path, size, mtime in ns, inode) of each file: what changes when a file is rewritten."""
    out = []
    for p in paths:
        st = p.stat()
        out.append([str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino])
    return out


def cached_record(folder: Path | None, key: dict, compute: Callable[[], dict]) -> dict:
    """``compute()``, or what it gave last time for ``key``, from ``folder/records``.

    ``folder`` None: no cache, always computed. A record that cannot be read is computed again.
    One that cannot be written (a read-only folder) is computed on every start."""
    if folder is None:
        return compute()
    path = Path(folder) / "records" / f"{stable_hash(key, 32)}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        tmp.write_text(json.dumps(value, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a reader sees a whole record or none
    except OSError:
        pass  # a read-only home: correct, only slower (computed on every start)
    return value
