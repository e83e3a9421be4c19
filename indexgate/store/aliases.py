"""Aliases of the embedded store as pointer files: ``aliases/<alias>.json`` holds
``{"collection": ...}``.

An alias moves in one ``rename`` of a fully written, fsynced file. Then the folder is fsynced.
So after a crash the alias names the old collection or the new one, never neither.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from indexgate.errors import StoreError
from indexgate.store.shards import fsync_dir, pid_alive, write_atomically


class PointerAliases:
    """The alias half of :class:`~indexgate.store.edge.EdgeStore` (``alias_dir``, ``write_lock``
    and ``exists`` come from it)."""

    alias_dir: Path
    write_lock: threading.RLock

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def _pointer(self, alias: str) -> Path:
        if not alias or "/" in alias or alias.startswith("."):
            raise StoreError(f"invalid alias name {alias!r}")
        return self.alias_dir / f"{alias}.json"

    def aliases(self) -> dict[str, str]:
        return {p.stem: target for p in sorted(self.alias_dir.glob("*.json"))
                if not p.name.startswith(".") and (target := self.alias_target(p.stem)) is not None}

    def alias_target(self, alias: str) -> str | None:
        path = self._pointer(alias)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            target = json.loads(data)["collection"]
            if not isinstance(target, str) or not target:
                raise ValueError("no collection name")
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"alias pointer {path} is damaged ({len(data)} bytes, {exc}); point the alias"
                             f" again (`indexgate rollback --to <version>`) or delete the file") from None
        return target

    def delete_alias(self, alias: str) -> None:
        path = self._pointer(alias)
        with self.write_lock:
            if path.exists():
                path.unlink()
                fsync_dir(self.alias_dir)

    def point_alias(self, alias: str, collection: str) -> None:
        """Replace the alias's pointer file in one atomic rename (see the module docstring)."""
        if not self.exists(collection):
            raise StoreError(f"collection {collection} does not exist; cannot point {alias!r} at it")
        with self.write_lock:
            write_atomically(self._pointer(alias), json.dumps({"collection": collection}).encode(), pause="pointer")

    def _drop_aliases_of(self, name: str) -> None:
        for pointer in self.alias_dir.glob("*.json"):
            try:
                target = self.alias_target(pointer.stem)
            except StoreError:  # a damaged pointer names nothing we can match
                continue
            if target == name:
                self.delete_alias(pointer.stem)

    def _sweep_pointer_temps(self) -> list[str]:
        """Pointer temp files of dead writers."""
        removed = []
        for tmp in self.alias_dir.glob(".*.tmp-*"):
            pid = int(tmp.name.rsplit(".tmp-", 1)[1].split("-")[0])
            if not pid_alive(pid):
                tmp.unlink(missing_ok=True)
                removed.append(str(tmp))
        return removed
