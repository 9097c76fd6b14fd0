"""Files written whole or not at all, and output paths that cannot leave their folder."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
from collections.abc import Iterable
from pathlib import Path
from stat import S_IMODE
from typing import NamedTuple

from labdigest.errors import LabdigestError

_temporaries = itertools.count()
_NOT_PLAIN = frozenset({"", ".", ".."})


class Entry(NamedTuple):
    """A file of a built site as the manifest records it: its content's SHA-1, its size
    and modification time when written (a file changed since no longer matches), and
    the key of what it was made from (None: not keyed, compared by content)."""

    sha1: str
    size: int
    mtime_ns: int
    key: str | None


def write_atomic(path: Path | str, data: bytes | Iterable[bytes]) -> None:
    """Replace `path` with `data` (its folder made if need be), or with its parts one
    after the other; a reader, or a crash, sees the old or the new file. A new file gets
    the permissions the umask gives; a replaced one keeps its own."""
    target = os.fspath(path)
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}-{next(_temporaries)}.tmp")
    if folder and not os.path.isdir(folder):
        os.makedirs(folder, exist_ok=True)
    try:
        with open(temporary, "xb") as stream:
            stream.writelines((data,) if isinstance(data, bytes) else data)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_new(stage: str, relative: str, data: bytes, key: str | None, flat: bool) -> Entry:
    """Write a file of the site into the staging folder (nothing else writes there, so a
    plain write is whole once the build completes); returns its manifest entry."""
    return write_new_parts(stage, relative, (data,), key, flat)


def write_new_parts(
    stage: str, relative: str, parts: Iterable[bytes], key: str | None, flat: bool
) -> Entry:
    """write_new of the parts one after the other, none of them joined in memory. Plain
    os calls: a site has tens of thousands of files, and a file object's extra system
    calls (and asking first whether the folder exists) cost as much as the write."""
    target = staged_file(stage, relative, flat)
    digest = hashlib.sha1()
    handle = _create(target)
    try:
        pending, size = [], 0
        for part in parts:  # written a megabyte at a time: parts may be single lines
            digest.update(part)
            pending.append(part)
            size += len(part)
            if size >= _BUFFER:
                _write_all(handle, b"".join(pending))
                pending, size = [], 0
        _write_all(handle, b"".join(pending))
        stat = os.fstat(handle)
    finally:
        os.close(handle)
    return Entry(digest.hexdigest(), stat.st_size, stat.st_mtime_ns, key)


_BUFFER = 1 << 20
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def _create(target: str) -> int:
    """A file opened for writing, its folder made first when missing."""
    try:
        return os.open(target, _CREATE, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        return os.open(target, _CREATE, 0o666)


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


def staged_file(stage: str, relative: str, flat: bool) -> str:
    """Where the stage holds the site's file `relative`: at that path, when the stage
    becomes the site whole (a first build), else under a name of its own at the top (its
    files are moved into place one by one: no folders to make in the stage and remove)."""
    relative = safe_relative(relative)
    if flat:
        return os.path.join(stage, hashlib.sha1(relative.encode("utf-8")).hexdigest())
    return os.path.join(stage, *relative.split("/"))


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def safe_relative(path: str) -> str:
    """An output path as render gives it ("papers/x/index.html"), refused unless it is
    relative, in plain form and inside the output folder."""
    parts = path.split("/")
    if (
        path.startswith("/")
        or "\\" in path
        or "\0" in path
        or ":" in parts[0]
        or not set(parts).isdisjoint(_NOT_PLAIN)
    ):
        raise LabdigestError(f"refusing to write outside the output folder: {path!r}")
    return path
