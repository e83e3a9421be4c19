"""Texts the detectors found nothing in, remembered from one version to the next.

The guardrails gate scans every stored payload of a shadow. At 1,000 documents (3,327 points)
that took 3.4-6.5 s on the shared 2-core machine, most of it finding phone numbers. A 1%-changed version stores mostly the
texts its base stored, and its base's gate scanned them already.

A key (:func:`scan_key`) is a digest of exactly what :func:`~indexgate.guardrails.detect` is a
function of: the detector names, the phone region and the text. It also holds the detectors'
fingerprint: their code, and the versions of phonenumbers and python-stdnum. So a remembered key
means one thing: this exact call of ``detect`` found nothing. A text is skipped only when its key
is remembered. Another policy, region or detector release gives other keys, and the text is
scanned again.

A version's keys live in ``guardrails-clean.bin`` in its work folder, removed with it. The file
is a header line, then 16-byte keys, sorted. A file that is missing, damaged or of another format
holds no key, so the gate scans everything: only slower. In memory too a key takes 16 bytes
(:class:`CleanKeys`, :class:`NewKeys`): 16 MiB each at 1M points, where sets of bytes took 79 MiB.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

MEMO_FILE = "guardrails-clean.bin"
_KEY_BYTES = 16  # a second preimage of a 128-bit digest is out of reach
_FORMAT = b"indexgate-guardrails-clean 1 "


@functools.cache
def detectors_fingerprint() -> str:
    """The detectors' code and the libraries they call, as a short hash."""
    import phonenumbers
    import stdnum

    from indexgate.guardrails import detectors

    digest = hashlib.sha256(Path(detectors.__file__).read_bytes())
    digest.update(f"{phonenumbers.__version__} {stdnum.__version__}".encode())
    return digest.hexdigest()[:16]


def scan_key(text: str, names: tuple[str, ...], region: str) -> bytes:
    """The key of one call of ``detect(text, names, region)``."""
    return scan_keyer(names, region)(text)


@functools.lru_cache(maxsize=256)
def _prefix(names: tuple[str, ...], region: str, fingerprint: str):
    digest = hashlib.blake2b(digest_size=_KEY_BYTES)
    digest.update(f"{fingerprint}\0{region}\0{','.join(names)}\0".encode())
    return digest


def scan_keyer(names: tuple[str, ...], region: str):
    """``scan_key`` for these detectors and region, as a function of the text alone. The digest
    of what precedes the text is made once (a gate keys every stored payload)."""
    prefix = _prefix(names, region, detectors_fingerprint())

    def key(text: str) -> bytes:
        digest = prefix.copy()
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.digest()
    return key


class CleanKeys:
    """Keys found clean, sorted, 16 bytes each; ``key in keys`` is a binary search."""

    def __init__(self, keys: np.ndarray | None = None):
        self._keys = np.empty(0, dtype=f"S{_KEY_BYTES}") if keys is None else keys

    def __contains__(self, key: object) -> bool:
        # numpy returns an element without its trailing zero bytes, so the key is compared so too.
        # Two 16-byte keys are then equal only when they are the same key.
        if not isinstance(key, bytes):
            return False
        key = key.rstrip(b"\0")
        i = int(self._keys.searchsorted(key))
        return i < len(self._keys) and self._keys[i] == key

    def __len__(self) -> int:
        return len(self._keys)


class NewKeys:
    """Keys being found clean by a gate run, appended 16 bytes at a time (see :func:`save_clean`)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def add(self, key: bytes) -> None:
        self.data += key

    def __len__(self) -> int:
        return len(self.data) // _KEY_BYTES


def load_clean(folder: Path) -> CleanKeys:
    """The keys a version's gate found clean; none when it left none this release can use."""
    try:
        data = (Path(folder) / MEMO_FILE).read_bytes()
    except OSError:
        return CleanKeys()
    header, _, body = data.partition(b"\n")
    if header != _FORMAT + detectors_fingerprint().encode() or len(body) % _KEY_BYTES:
        return CleanKeys()
    keys = np.frombuffer(body, dtype=f"S{_KEY_BYTES}")
    if len(keys) > 1 and not bool(np.all(keys[:-1] < keys[1:])):
        return CleanKeys()  # not written by save_clean: not trusted
    return CleanKeys(keys)


def save_clean(folder: Path, keys: NewKeys) -> None:
    """Write a version's clean keys, sorted, whole or not at all (a temp file renamed over)."""
    path = Path(folder) / MEMO_FILE
    tmp = path.with_name(f".{MEMO_FILE}.{os.getpid()}.tmp")
    body = np.unique(np.frombuffer(bytes(keys.data), dtype=f"S{_KEY_BYTES}")).tobytes()
    tmp.write_bytes(_FORMAT + detectors_fingerprint().encode() + b"\n" + body)
    tmp.replace(path)
