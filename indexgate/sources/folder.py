"""A folder on a local or mounted file system."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote_from_bytes

from indexgate.errors import ObjectUnreadable, SourceError
from indexgate.models import Quarantined, Snapshot, SourceObject
from indexgate.settings import SourceConfig
from indexgate.sources.base import make_snapshot
from indexgate.sources.ids import UnsafeId, check_doc_id, printable
from indexgate.sources.selection import Selection

_KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device"}


def _open_regular(path: Path):
    """Open a regular file for reading without following a final symlink and without blocking
    on a named pipe that may have been swapped in; anything else raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _sha256(fh, buffer: bytearray) -> str:
    """The sha256 of the rest of ``fh``, read into ``buffer`` (as ``hashlib.file_digest`` reads)."""
    digest, view = hashlib.sha256(), memoryview(buffer)
    while size := fh.readinto(buffer):
        digest.update(view[:size])
    return digest.hexdigest()


def _file_uri(path: str | Path) -> str:
    """``Path(path).as_uri()`` of an absolute path: what pathlib does, without a Path object."""
    return "file://" + quote_from_bytes(os.fsencode(str(path)))


class FolderSource:
    """Files under a root folder, addressed by their ``/``-separated path relative to the root.

    Guarantees:
    - Hidden files and folders (names starting with ``.``) are skipped; files left out by the
      include/exclude globs are skipped. Nothing else is left out silently.
    - These are refused and never read. Each is listed in :attr:`Snapshot.refused` with the reason.

      - a symlink that resolves outside the root, or is broken;
      - a name that is not a safe id;
      - a pipe, socket or device;
      - a file over ``max_file_bytes``;
      - a file we may not read.

    - A symlink to a file inside the root is read under the link's own path. A symlinked folder
      is not descended into. Its files are listed under their real path if that is inside.
    - A folder that cannot be listed, or another I/O error, raises SourceError: the snapshot
      would be incomplete, and an incomplete snapshot would read as deletions.
    """

    def __init__(self, root: str | Path, config: SourceConfig | None = None):
        # Absolute (not resolved: symlink rules apply to the root as given), so that a relative
        # source such as `data/corpus` gives file URIs and a stable source name.
        self.root = Path(root).expanduser().absolute()
        self.uri = str(self.root.resolve()) if self.root.exists() else str(self.root)
        self.config = config or SourceConfig()
        self.selection = Selection(self.config)

    def _candidates(self):
        """(relative path, path) of every non-hidden file, and of every symlinked folder."""
        if not self.root.is_dir():
            raise SourceError(f"source folder not found or not a folder: {self.root}", permanent=True)

        def on_error(exc: OSError) -> None:
            # A folder we cannot list would look like deleted documents: stop instead.
            raise SourceError(f"cannot list {exc.filename}: {exc.strerror}",
                              permanent=isinstance(exc, PermissionError)) from exc

        root = str(self.root)
        for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            # os.walk lists a symlinked folder with the folders but does not descend into it.
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            # Strings, not Path objects: a snapshot lists every file (os.walk joins with "/" here).
            folder = Path(dirpath).relative_to(root).as_posix()
            prefix = "" if folder == "." else folder + "/"
            for name in sorted(links + [f for f in filenames if not f.startswith(".")]):
                yield prefix + name, os.path.join(dirpath, name)

    def _check(self, doc_id: str, path: str, real_root: Path) -> tuple[str | Path, os.stat_result] | Quarantined | None:
        """The file to read and its stat, a refusal, or None for a symlinked folder inside."""
        shown = printable(doc_id)
        try:
            check_doc_id(doc_id)
        except UnsafeId as exc:
            return Quarantined(shown, f"unsafe path: {exc}", "unsafe_path")
        target = path
        try:
            # One lstat: for a file that is not a link it is also the file's stat.
            st = os.lstat(path)
        except PermissionError:
            return Quarantined(shown, "permission denied", "unreadable")
        except OSError as exc:
            raise SourceError(f"cannot stat {path}: {exc.strerror}") from exc
        if stat.S_ISLNK(st.st_mode):
            try:
                target = Path(path).resolve(strict=True)
            except (OSError, RuntimeError):
                return Quarantined(shown, f"broken symlink (to {os.readlink(path)})", "unsafe_path")
            if not target.is_relative_to(real_root):
                return Quarantined(shown, f"symlink resolves outside the source root (to {target})", "unsafe_path")
            if target.is_dir():
                return None
            try:
                st = target.stat()
            except PermissionError:
                return Quarantined(shown, "permission denied", "unreadable")
            except OSError as exc:
                raise SourceError(f"cannot stat {path}: {exc.strerror}") from exc
        if not stat.S_ISREG(st.st_mode):
            return Quarantined(shown, f"not a regular file ({_KINDS.get(stat.S_IFMT(st.st_mode), 'special')})",
                               "unsupported")
        if reason := self.selection.too_large(st.st_size):
            return Quarantined(shown, reason, "too_large")
        return target, st

    def snapshot(self) -> Snapshot:
        real_root = self.root.resolve()
        objects, refused = [], []
        buffer = bytearray(2**18)  # hashlib.file_digest's size, made once, not once a file
        for doc_id, path in self._candidates():
            if not self.selection.wanted(doc_id):
                continue
            checked = self._check(doc_id, path, real_root)
            if checked is None:
                continue
            if isinstance(checked, Quarantined):
                refused.append(checked)
                continue
            target, st = checked
            try:
                with _open_regular(target) as fh:
                    digest = _sha256(fh, buffer)
            except PermissionError:
                refused.append(Quarantined(doc_id, "permission denied", "unreadable"))
                continue
            except OSError as exc:
                raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
            objects.append(SourceObject(
                doc_id=doc_id, uri=_file_uri(target), content_hash=digest, size=st.st_size,
                modified=datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat(),
                mime=mimetypes.guess_type(os.path.basename(path))[0] or "application/octet-stream",
            ))
        return make_snapshot(self.uri, objects, refused)

    def read(self, doc_id: str) -> bytes:
        """The bytes of ``doc_id``, at most ``max_file_bytes + 1`` of them (the caller checks
        them against the snapshot's sha256, so a file swapped or grown since is caught)."""
        try:
            check_doc_id(doc_id)
        except UnsafeId as exc:
            raise ObjectUnreadable(f"unsafe path: {exc}", "unsafe_path") from None
        path = (self.root / doc_id).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ObjectUnreadable(f"refusing to read {doc_id!r}: it resolves outside {self.root}", "unsafe_path")
        try:
            with _open_regular(path) as fh:
                return fh.read(self.config.max_file_bytes + 1)
        except PermissionError:
            raise ObjectUnreadable("permission denied", "unreadable") from None
