"""The only module that writes to disk. Files are written whole or not at all (a new file
unnamed until complete, a replacement as a temporary file renamed), and a site is built
in a staging folder beside the output and swapped into place in one step, so a failed or
killed build leaves the previous site complete.
The site it replaces is kept beside it (.public.prev) to stage the next build, which then
writes only the files that changed."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import itertools
import marshal
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_IMODE
from typing import Any

from labdigest.errors import BuildLockedError, LabdigestError
from labdigest.models import OutputFile
from labdigest.progress import SILENT, Progress

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def write_atomic(path: Path | str, data: bytes) -> None:
    """Replace `path` with `data`; a reader (or a crash) sees the old or the new file. A new
    file gets the permissions the umask gives; a replaced one keeps its own."""
    target = os.fspath(path)
    folder, name = os.path.split(target)
    # (A file to replace is not written unnamed first: linking it would fail, and the
    # bytes would be written twice.)
    if not os.path.lexists(target) and _create_whole(folder or ".", target, data):
        return
    # Unique within this process, and the pid keeps other processes' apart. (Not
    # tempfile.mkstemp: it makes 0600 files, and took half the time of a small write.)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}-{next(_temporaries)}.tmp")
    handle = _create(temporary)
    try:
        try:
            _write_all(handle, data)
        finally:
            os.close(handle)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


# Where the file system offers them (Linux: ext4, xfs, btrfs, tmpfs), a new file is
# written as an unnamed file and then given its name, which no other file holds: one
# change to the folder instead of a temporary name's two (creating 10,000 files on ext4
# took a quarter to two thirds less of the kernel's time). Elsewhere, a temporary file
# is renamed.
_unnamed_files = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")


def _create_whole(folder: str, target: str, data: bytes) -> bool:
    """Write a new file at target in one step (False, having written nothing, when target
    exists or the folder cannot hold unnamed files)."""
    global _unnamed_files
    if not _unnamed_files:
        return False
    try:
        handle = os.open(folder, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o666)
    except OSError as error:
        if error.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            _unnamed_files = False  # not on this file system: ask no more
        return False
    # Named through /proc (linkat's AT_EMPTY_PATH needs a privilege). A descriptor given
    # makes os.link call linkat, which follows the link; the path is absolute, so which
    # descriptor does not matter.
    unnamed = f"/proc/self/fd/{handle}"
    try:
        _write_all(handle, data)
        os.link(unnamed, target, src_dir_fd=handle, follow_symlinks=True)
    except FileExistsError:
        return False  # replaced the usual way, which keeps the old file's permissions
    except OSError as error:
        if error.filename != unnamed:
            raise  # writing failed (a full disk, say): the usual way would fail too
        _unnamed_files = False  # no /proc to name it through here: ask no more
        return False
    finally:
        os.close(handle)
    return True


def _create(path: str) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:  # the folder is missing: make it (asked only then, it costs)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return os.open(path, flags, 0o666)


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


_temporaries = itertools.count()


def safe_relative(path: str) -> str:
    """An output path as render gives it ("papers/x/index.html"), refused unless it is
    relative, in plain form and inside the output folder. String checks, not PurePath:
    a site has tens of thousands of paths."""
    parts = path.split("/")
    if (
        path.startswith("/")
        or "\\" in path
        or "\0" in path
        or not set(parts).isdisjoint(_NOT_PLAIN)
    ):
        raise LabdigestError(f"refusing to write outside the output folder: {path!r}")
    return path


_NOT_PLAIN = frozenset({"", ".", ".."})


@dataclass(slots=True)
class Stage:
    """The folder a build writes into: the site from two builds ago when there is one, so
    that only what changed since is written, and `known` says what is already there."""

    path: Path
    # Where stale folders go to be deleted in the background (see _throw_away); beside the
    # output folder, on its file system. None: delete them at once.
    trash: Path | None = None
    # path → [sha1, size, mtime_ns, key]: what the folder held when the stage was opened
    known: dict[str, list[Any]] = field(default_factory=dict)
    manifest: dict[str, list[Any]] = field(default_factory=dict)  # the same, after writing
    written: int = 0
    made_dirs: set[str] = field(default_factory=set)  # one mkdir per folder (per process)
    # The folders that may hold what no manifest knows (see _changed_folders); None: any.
    changed_folders: set[str] | None = None
    # The known folders, with their times as recorded (None: unsure); and the folders
    # this build wrote into or deleted from: the others' times are recorded again
    # without looking.
    known_folders: dict[str, int | None] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    new: bool = False  # made empty for this build: it holds nothing but what it writes
    # A new folder's source of unchanged files: the live site and its manifest. A file of
    # it still as recorded is hard-linked in, not written again; from then on a file of
    # the stage may be shared with the live site, so it is replaced, never written into.
    live: Path | None = None
    live_files: dict[str, list[Any]] = field(default_factory=dict)
    # The known files no longer as recorded, when a Precheck found them; None: unknown,
    # so each file is looked at when asked about.
    disturbed: frozenset[str] | None = None

    def holds(self, path: str, key: str) -> bool:
        """Whether the folder holds `path` as made from `key`, untouched since (or now
        does: linked from the live site)."""
        known = self.known.get(path)
        if known is not None:
            return len(known) > 3 and known[3] == key and self._intact(path, known)
        return self.link_from_live(path, lambda entry: len(entry) > 3 and entry[3] == key)

    def may_hold_files(self) -> bool:
        """Whether holds() can say yes: not in a new folder with no live site beside it."""
        return bool(self.known or self.live_files)

    def unchanged_folder_times(self) -> dict[str, int]:
        """The recorded times of the known folders changed neither before this build
        (changed_folders) nor by it (touched). A folder changed unnoticed would only be
        looked through again by the next build to stage it: its time would differ."""
        if self.changed_folders is None:
            return {}
        changed = self.changed_folders | self.touched
        return {f: t for f, t in self.known_folders.items() if t is not None and f not in changed}

    def _intact(self, path: str, known: list[Any]) -> bool:
        if self.disturbed is not None:
            return path not in self.disturbed
        return _stat_matches(f"{self.path}/{path}", known)

    def link_from_live(self, path: str, wanted: Callable[[list[Any]], bool]) -> bool:
        """Hard-link the live site's `path` in, if its manifest entry is as wanted and the
        file is still as recorded; the entry is known from then on (in this process)."""
        entry = self.live_files.get(path)
        if entry is None or not wanted(entry):
            return False
        source = f"{self.live}/{path}"
        if not _stat_matches(source, entry):
            return False
        target = f"{self.path}/{path}"
        try:
            _make_folder(self, target.rpartition("/")[0])
            os.link(source, target)
        except OSError:  # no hard links here (or a file in the way): write it instead
            return False
        self.known[path] = entry
        return True


def write_files(
    stage: Stage,
    files: Sequence[OutputFile],
    progress: Progress = SILENT,
    *,
    keep: str | None = None,
) -> int:
    """Make stage.path hold exactly `files`: write the ones that differ from what is there
    (unless store_file already did), delete the rest, but for the folder `keep` (the
    search index, for a build about to index again: see keep_subfolders). Two
    files with one path are a bug, not an overwrite."""
    for number, file in enumerate(files, start=1):
        progress.advance("write", number, len(files))
        add_file(stage, file)
    if not stage.new:  # (a new folder holds only what this build put there)
        with _held_apart(stage.path / keep) if keep else contextlib.nullcontext():
            _remove_stale(stage)
    return len(stage.manifest)


@contextlib.contextmanager
def _held_apart(folder: Path) -> Iterator[None]:
    """The folder moved out of the stage (beside it, where _recover clears what a killed
    build left) while the block runs, and put back after."""
    if not folder.is_dir() or folder.is_symlink():  # (anything else there is stale)
        yield
        return
    apart = folder.parent.with_name(f"{folder.parent.name}.{folder.name}")
    os.rename(folder, apart)
    try:
        yield
    finally:
        os.rename(apart, folder)


def earlier_index(
    stage: Stage, live: Path, folder: str, usable: Callable[[Path], bool]
) -> Path | None:
    """The earlier search index a build about to index the stage into `folder` can leave
    there for Pagefind (see keep_subfolders): the stage's own, else the live site's, if
    `usable` says so (made by this Pagefind). An unusable one of the stage's is thrown
    away."""
    own = stage.path / folder
    if own.is_dir():
        if usable(own):
            return own
        _throw_away(stage, [str(own)])
    return live / folder if usable(live / folder) else None


def keep_subfolders(stage: Stage, earlier: Path, folder: str, subfolders: Sequence[str]) -> bool:
    """Leave in the stage's `folder` only these subfolders' files of the `earlier` index,
    for Pagefind to find and not write again: the stage's own, or else the live site's,
    hard-linked (Pagefind never opens a file it finds, so the live site's are never
    written through a link). Whether any were kept."""
    target = stage.path / folder
    if earlier == target:
        _keep_only(target, frozenset(subfolders))
        return True
    try:
        for subfolder in subfolders:
            if (earlier / subfolder).is_dir():
                _link_files(earlier / subfolder, target / subfolder)
    except OSError:  # no hard links here: Pagefind writes every file
        shutil.rmtree(target, ignore_errors=True)
        return False
    return True


def _keep_only(folder: Path, subfolders: frozenset[str]) -> None:
    """Empty the folder but for the plain files of these subfolders."""
    with os.scandir(folder) as entries:
        for entry in list(entries):
            if entry.name in subfolders and entry.is_dir(follow_symlinks=False):
                _keep_only_files(entry.path)
            else:
                _remove_entry(entry)


def _keep_only_files(folder: str) -> None:
    with os.scandir(folder) as entries:
        for entry in list(entries):
            if not entry.is_file(follow_symlinks=False):
                _remove_entry(entry)


def _remove_entry(entry: os.DirEntry[str]) -> None:
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)
    else:
        os.unlink(entry.path)


def _link_files(source: Path, target: Path) -> None:
    """Hard-link the plain files of one folder into another, made for them."""
    target.mkdir(parents=True)
    with os.scandir(source) as files:
        for file in files:
            if file.is_file(follow_symlinks=False):
                os.link(file.path, target / file.name)


def remove_files(folder: Path, paths: Iterable[str]) -> None:
    """Delete these files of a folder of the stage (paths in it)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / safe_relative(path))


def add_file(stage: Stage, file: OutputFile) -> None:
    """Make the stage hold one file of this build: each of write_files's, and any written
    after them (the search page, once the index it names exists)."""
    relative = safe_relative(file.path)
    if relative in stage.manifest:
        raise LabdigestError(f"two pages want the same output path: {file.path}")
    if file.reused:  # render checked stage.holds(); the file is there as it should be
        # (known here, or linked from the live site by a render worker)
        stage.manifest[relative] = stage.known.get(relative) or stage.live_files[relative]
        return
    if file.stored is None:
        file = store_file(stage, file)
    assert file.stored is not None
    stage.manifest[relative], wrote = file.stored
    stage.written += wrote
    if wrote:
        stage.touched.add(_parent(relative))


def store_file(stage: Stage, file: OutputFile) -> OutputFile:
    """Write one file into the stage, unless it already holds these bytes; returns the
    file without its bytes and with its manifest entry. Render workers call it, so that
    pages are written on every core and their bytes never travel between processes."""
    if file.reused:
        return file
    relative = safe_relative(file.path)
    target = f"{stage.path}/{relative}"
    digest = hashlib.sha1(file.content).hexdigest()
    known = stage.known.get(relative)
    if known is None and stage.link_from_live(relative, lambda entry: entry[0] == digest):
        known = stage.known[relative]
    if known is not None and known[0] == digest and _stat_matches(target, known):
        entry, wrote = [*known[:3], file.key], False
    else:
        size, mtime_ns = _write_new(stage, target, file.content)
        entry, wrote = [digest, size, mtime_ns, file.key], True
    return OutputFile(file.path, b"", key=file.key, stored=(entry, wrote))


def _write_new(stage: Stage, target: str, content: bytes) -> tuple[int, int]:
    """Write target as a new file (size and time returned): a file already there is
    replaced, never written into, for it may be a link to a live site's file. Plain os
    calls on text paths: a site has tens of thousands of files, and pathlib's objects and
    a stat after the write took as long as the write itself."""
    _make_folder(stage, target.rpartition("/")[0])
    try:
        handle = _create(target)
    except FileExistsError:
        os.unlink(target)
        handle = _create(target)
    try:
        _write_all(handle, content)
        stat = os.fstat(handle)
    finally:
        os.close(handle)
    return stat.st_size, stat.st_mtime_ns


def _make_folder(stage: Stage, folder: str) -> None:
    if folder not in stage.made_dirs:  # one mkdir per folder (per process)
        try:
            os.mkdir(folder)  # most often the parent exists: one system call
        except FileExistsError:
            pass
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
        stage.made_dirs.add(folder)


def _stat_matches(target: str | Path, known: list[Any]) -> bool:
    try:
        stat = os.stat(target)
    except OSError:
        return False
    return [stat.st_size, stat.st_mtime_ns] == known[1:3]


def _remove_stale(stage: Stage) -> None:
    """Delete what an older build left that this one does not produce: the files the
    stage's manifest lists and this build does not, and whatever is in a folder changed
    since that manifest was recorded (a hand-made file, Pagefind's last index). Walking
    every folder instead cost a quarter of a second for 10,000 papers."""
    if stage.changed_folders is None:
        _remove_stale_everywhere(stage)
        return
    root = str(stage.path)
    ours = _folders_of(stage.manifest)
    emptied: set[str] = set()
    stale_folders: list[str] = []
    for path in stage.known.keys() - stage.manifest.keys():
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(f"{root}/{path}")  # (a folder there is new: its parent is listed)
        emptied.add(_parent(path))
    # A folder new to this build may have been made by hand before it: list those too.
    for folder in stage.changed_folders | (ours - stage.known_folders.keys()):
        try:
            entries = list(os.scandir(f"{root}/{folder}" if folder else root))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            relative = f"{folder}/{entry.name}" if folder else entry.name
            if entry.is_dir(follow_symlinks=False):
                if relative not in ours:
                    stale_folders.append(entry.path)
            elif relative not in stage.manifest:
                os.unlink(entry.path)
    _throw_away(stage, stale_folders)
    stage.touched |= emptied
    for folder in sorted(emptied - ours, key=lambda f: f.count("/"), reverse=True):
        while folder not in ours:  # up to the first folder this build still uses
            with contextlib.suppress(OSError):  # gone already, or not empty
                os.rmdir(f"{root}/{folder}")
            folder = _parent(folder)
        stage.touched.add(folder)


def _throw_away(stage: Stage, folders: list[str]) -> None:
    """Remove stale folders of the stage without waiting for them: most often Pagefind's
    last index, left by a build with search before one without (10,000 files for 10,000
    papers, seconds to delete on a disk). They are moved into the trash at once, and the
    trash is emptied by one process of its own (with what an interrupted one left)."""
    moved = False
    for folder in folders:
        if stage.trash is not None and _moved_into(stage.trash, folder):
            moved = True
        else:
            shutil.rmtree(folder)
    if not moved or stage.trash is None:
        return
    try:
        subprocess.Popen(
            ["rm", "-rf", "--", str(stage.trash)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not stopped by a Ctrl+C meant for the build
        )
    except OSError:  # no rm here
        shutil.rmtree(stage.trash, ignore_errors=True)


def _moved_into(trash: Path, folder: str) -> bool:
    """Whether the folder could be moved into the trash (not when the trash was emptied
    meanwhile, or a file is in its place)."""
    try:
        trash.mkdir(exist_ok=True)
        os.rename(folder, trash / secrets.token_hex(8))
    except OSError:
        return False
    return True


def trash_of(out: Path) -> Path:
    """The folder a build of `out` empties in the background (see _throw_away); the
    bench waits for it to go."""
    return out.parent / f".{out.name}.trash"


def _remove_stale_everywhere(stage: Stage) -> None:
    root = str(stage.path)
    prefix = len(root) + 1
    for directory, _, names in os.walk(root, topdown=False):
        relative = directory[prefix:].replace(os.sep, "/")
        for name in names:
            if (f"{relative}/{name}" if relative else name) not in stage.manifest:
                os.unlink(os.path.join(directory, name))
        if directory != root and not os.listdir(directory):
            os.rmdir(directory)


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _folders_of(files: Iterable[str]) -> set[str]:
    """The folders holding these files, their parents, and the root ("")."""
    folders = {""}
    for path in files:
        folder = _parent(path)
        while folder not in folders:
            folders.add(folder)
            folder = _parent(folder)
    return folders


# A folder's time tells that its entries are as recorded only if it was recorded after
# the clock tick of its last change: file systems stamp times from a coarse clock.
UNSURE_NS = 100_000_000


def _folder_times(
    root: Path, folders: set[str], unchanged: dict[str, int]
) -> dict[str, int | None]:
    """Each folder of the site (but the root) and its modification time; None where that
    time is too close to now to prove anything later. Folders with a time in `unchanged`
    keep it (Stage.unchanged_folder_times: 0.1 s of looking for 10,000 papers)."""
    now = time.time_ns()
    times: dict[str, int | None] = {}
    for folder in folders - {""}:
        mtime = unchanged.get(folder)
        if mtime is None:
            mtime = os.stat(f"{root}/{folder}").st_mtime_ns
            times[folder] = mtime if mtime < now - UNSURE_NS else None
        else:
            times[folder] = mtime
    return times


def _changed_folders(root: Path, recorded: dict[str, int | None]) -> set[str]:
    """The root, and the recorded folders whose entries may have changed since: any
    entry made or removed in a folder changes its modification time."""
    changed = {""}
    for folder, mtime in recorded.items():
        try:
            if mtime is None or os.stat(f"{root}/{folder}").st_mtime_ns != mtime:
                changed.add(folder)
        except FileNotFoundError:
            continue
    return changed


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
        _held_locks.add(lock.fileno())
        try:
            yield
        finally:
            _held_locks.discard(lock.fileno())
            fcntl.flock(lock, fcntl.LOCK_UN)


# The lock belongs to the file's open description, which forked workers share: a worker
# still alive when its build is killed would keep the lock held, and the next build
# would be refused. So a forked child lets go of it at once (its descriptor now reads
# /dev/null; the parent's still holds the lock).
_held_locks: set[int] = set()


def _let_go_of_locks() -> None:
    if _held_locks:
        nothing = os.open(os.devnull, os.O_RDONLY)
        for descriptor in _held_locks:
            os.dup2(nothing, descriptor)
        os.close(nothing)
        _held_locks.clear()


os.register_at_fork(after_in_child=_let_go_of_locks)


def check_output_folder(out: Path, site: Path) -> None:
    """Refuse an output folder that a build must not replace: a build swaps the whole
    folder for the new site and keeps the old one aside to write the next build into,
    so `--out .` or `--out ~/Documents` would hide the site's own files or someone's
    documents, and a later build would delete them as stale."""
    out = Path(os.path.abspath(out))
    real, site = Path(os.path.realpath(out)), Path(os.path.realpath(site))
    if real == site or real in site.parents:
        raise LabdigestError(
            f"output folder {out}: it holds the site itself (site.toml, content/); "
            "build into a folder of its own, such as public/"
        )
    for inputs in (site / "content", site / "templates"):
        if real == inputs or inputs in real.parents:
            raise LabdigestError(f"output folder {out}: it is inside {inputs}, which builds read")
    if (
        _holds_anything(out)
        and not _manifest_path(out).exists()
        and not _legacy_manifest_path(out).exists()
    ):
        raise LabdigestError(
            f"output folder {out}: it holds files that no labdigest build made (there is "
            f"no {_manifest_path(out).name} beside it); a build replaces the whole folder, "
            "so move them away or choose another"
        )


@dataclass(frozen=True, slots=True)
class Precheck:
    """The next staging folder (the site of two builds ago) looked at ahead of time: which
    of its manifest's files and folders changed since it was recorded."""

    manifest: tuple[int, int, int] | None  # the manifest looked at (size, time, inode)
    disturbed: frozenset[str]  # its files no longer as recorded
    changed_folders: frozenset[str] | None  # see _changed_folders; None: unknown


def precheck(out: Path) -> Precheck:
    """What staged_output(out) would find out when it opens the stage: a large site's
    build has it looked at in a process of its own while it reads the content (20,000
    files and 10,000 folders to look at: 0.2 s for 10,000 papers)."""
    previous = _aside(out.absolute())
    manifest = _manifest_path(previous)
    identity = _identity(manifest)
    files, folders = _load_manifest(manifest)
    disturbed = frozenset(
        path for path, entry in files.items() if not _stat_matches(f"{previous}/{path}", entry)
    )
    changed = None if folders is None else frozenset(_changed_folders(previous, folders))
    return Precheck(identity, disturbed, changed)


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


@contextlib.contextmanager
def staged_output(out: Path, checked: Callable[[], Precheck] | None = None) -> Iterator[Stage]:
    """Yield the staging folder; if the block completes, it becomes `out`, and the site it
    replaces is kept aside as the next build's staging folder (deleting and rewriting
    every file would cost more than the build itself on a large site). checked() gives
    precheck(out), taken earlier: used if the manifest it looked at is the one still
    there (no other build ran meanwhile)."""
    out = out.absolute()
    _recover(out)
    previous, previous_manifest = _aside(out), _manifest_path(_aside(out))
    stage = Stage(out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}", trash_of(out))
    if previous.is_dir():
        _stage_previous(stage, previous, previous_manifest, checked)
    else:
        stage.path.mkdir(mode=0o755)
        stage.new = True
        if out.is_dir():
            stage.live, (stage.live_files, _) = out, _load_manifest(_manifest_path(out))
    previous_manifest.unlink(missing_ok=True)
    try:
        yield stage
        stage.path.chmod(0o755)
        old = _swap_into_place(stage.path, out)
        if old is not None:
            os.rename(old, previous)
            current_manifest = _manifest_path(out)
            if current_manifest.exists():
                os.replace(current_manifest, previous_manifest)
        ours = _folders_of(stage.manifest)
        new_folders = ours - stage.known_folders.keys()
        stage.touched |= {_parent(folder) for folder in new_folders}
        times = _folder_times(out, ours, stage.unchanged_folder_times())
        record = {"files": stage.manifest, "folders": times}
        write_atomic(_manifest_path(out), marshal.dumps(record))
        for tree in (out, previous):  # JSON manifests of earlier labdigest versions: unread
            _legacy_manifest_path(tree).unlink(missing_ok=True)
    finally:
        if stage.path.exists():
            shutil.rmtree(stage.path, ignore_errors=True)


def _stage_previous(
    stage: Stage, previous: Path, manifest: Path, checked: Callable[[], Precheck] | None
) -> None:
    """Make the site of two builds ago the stage: its manifest says what it holds, and
    what changed in it since is looked at now, or taken from checked()'s look ahead."""
    early = _checked_early(checked, manifest)
    os.rename(previous, stage.path)
    stage.known, folders = _load_manifest(manifest)
    if early is not None:
        stage.disturbed = early.disturbed
    if folders is not None:
        stage.known_folders = folders
        if early is not None and early.changed_folders is not None:
            stage.changed_folders = set(early.changed_folders)
        else:
            stage.changed_folders = _changed_folders(stage.path, folders)


def _checked_early(checked: Callable[[], Precheck] | None, manifest: Path) -> Precheck | None:
    """checked()'s precheck if it looked at this manifest, else None (look again)."""
    if checked is None:
        return None
    try:
        early = checked()
    except Exception:  # (the process looking ahead was killed): only a head start lost
        return None
    return early if early.manifest is not None and early.manifest == _identity(manifest) else None


def _aside(out: Path) -> Path:
    return out.parent / f".{out.name}.prev"


def _manifest_path(tree: Path) -> Path:
    # In marshal's format: plain dicts, lists, text and numbers, written by labdigest only
    # and read back by the same Python. A third of the time of a pickle (which remembers
    # every string it wrote: 50 ms at the end of each build of 10,000 papers), a sixth of
    # JSON's. One it cannot read (another Python's, or an earlier labdigest's pickle)
    # only makes the build look through the folder.
    return tree.parent / f"{tree.name if tree.name.startswith('.') else '.' + tree.name}.files"


def _legacy_manifest_path(tree: Path) -> Path:
    """Where labdigest versions before the binary manifest kept theirs (as JSON)."""
    return _manifest_path(tree).with_suffix(".files.json")


def _holds_anything(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    with os.scandir(folder) as entries:
        return any(entries)


def _load_manifest(path: Path) -> tuple[dict[str, list[Any]], dict[str, int | None] | None]:
    """The files a site held as a build left it, and its folders' times (None: unknown,
    so that every folder is looked through)."""
    try:
        with open(path, "rb") as stream:
            data = marshal.loads(stream.read())
        files, folders = data["files"], data["folders"]
    except Exception:  # missing, damaged, or from an older labdigest: look everywhere
        return {}, None
    if not isinstance(files, dict) or not isinstance(folders, dict):
        return {}, None
    return files, folders


def _recover(out: Path) -> None:
    """Clear what a killed build left beside `out`, restoring `out` if a swap was cut short."""
    leftovers = sorted(out.parent.glob(f".{out.name}.old-*"))
    if not out.exists() and leftovers:
        os.rename(leftovers.pop(), out)
    for path in [*leftovers, *out.parent.glob(f".{out.name}.tmp-*")]:
        shutil.rmtree(path, ignore_errors=True)


def _swap_into_place(stage: Path, out: Path) -> Path | None:
    """Put stage at `out` in one step; returns where the old site now is, if there was one."""
    if not out.exists():
        os.rename(stage, out)
        return None
    if not out.is_dir() or out.is_symlink():
        raise LabdigestError(f"{out} exists and is not a folder; refusing to replace it")
    if _exchange(stage, out):
        return stage  # stage now holds the old site
    # No atomic exchange on this system: two renames, the old site kept aside first so
    # that _recover() can put it back if the process dies in between.
    old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
    os.rename(out, old)
    os.rename(stage, out)
    return old


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
