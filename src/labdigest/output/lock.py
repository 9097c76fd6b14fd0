"""One build at a time per output folder: a second one is told, not queued. The lock is
filelock's (flock on POSIX, LockFileEx on Windows): the system lets go of it when the
build's process ends, however it ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import filelock

from labdigest.errors import BuildLockedError


@contextlib.contextmanager
def build_lock(out: Path) -> Iterator[None]:
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.parent / f".{out.name}.lock"
    lock = filelock.FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise BuildLockedError(
            f"another labdigest build is writing {out} (lock {path}); "
            "wait for it to finish and try again"
        ) from None
    try:
        yield
    finally:
        lock.release()
