"""The only module that writes to disk. Files are written whole or not at all (temporary
file, then rename), and a site is built in a staging folder beside the output and swapped
into place in one step, so a failed or killed build leaves the previous site complete."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from labdigest.errors import BuildLockedError, LabdigestError
from labdigest.models import OutputFile
from labdigest.progress import SILENT, Progress

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`; a reader (or a crash) sees the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def safe_relative(path: str) -> PurePosixPath:
    """An output path as given by render, refused if it could leave the output folder."""
    relative = PurePosixPath(path)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts or "\\" in path:
        raise LabdigestError(f"refusing to write outside the output folder: {path!r}")
    return relative


def write_files(root: Path, files: Sequence[OutputFile], progress: Progress = SILENT) -> int:
    """Write every file under root; two files with one path are a bug, not an overwrite."""
    written: set[PurePosixPath] = set()
    made_dirs: set[Path] = set()
    for number, file in enumerate(files, start=1):
        progress.advance("write", number, len(files))
        relative = safe_relative(file.path)
        if relative in written:
            raise LabdigestError(f"two pages want the same output path: {file.path}")
        written.add(relative)
        target = root.joinpath(*relative.parts)
        if target.parent not in made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(target.parent)
        target.write_bytes(file.content)
    return len(written)


@contextlib.contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """One build at a time per output folder; a second one is told, not queued."""
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out.parent / f".{out.name}.lock"
    with open(lock_path, "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockedError(
                f"another labdigest build is writing {out} (lock {lock_path}); "
                "wait for it to finish and try again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """Yield an empty staging folder; if the block completes, it becomes `out`."""
    out = out.absolute()
    _recover(out)
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        yield stage
        stage.chmod(0o755)  # mkdtemp makes 0700; a web server must read the site
        _swap_into_place(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _recover(out: Path) -> None:
    """Clear what a killed build left beside `out`, restoring `out` if a swap was cut short."""
    leftovers = sorted(out.parent.glob(f".{out.name}.old-*"))
    if not out.exists() and leftovers:
        os.rename(leftovers.pop(), out)
    for path in [*leftovers, *out.parent.glob(f".{out.name}.tmp-*")]:
        shutil.rmtree(path, ignore_errors=True)


def _swap_into_place(stage: Path, out: Path) -> None:
    if not out.exists():
        os.rename(stage, out)
        return
    if not out.is_dir() or out.is_symlink():
        raise LabdigestError(f"{out} exists and is not a folder; refusing to replace it")
    if _exchange(stage, out):
        return  # stage now holds the old site, removed by the caller
    # No atomic exchange on this system: two renames, the old site kept until the end so
    # that _recover() can put it back if the process dies in between.
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    os.rmdir(old)
    os.rename(out, old)
    os.rename(stage, out)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))
