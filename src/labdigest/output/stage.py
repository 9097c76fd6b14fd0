"""A build writes into a staging folder beside the output folder, and only once it is
complete are its files moved into place (each by one rename); a build that fails before
then leaves the live site as it was. A file whose key is unchanged, and which is still
as the last build left it, is not written at all: the live site keeps it. What the new
site no longer holds is then deleted: what the last build made and this one does not (told
by their manifests), and what no build made, a file dropped in by hand.

Both "still as the last build left it" and "dropped in by hand" come from one look at
the live site's folders (on_disk): a large site's worker takes it while the build reads
its content, since a folder per paper takes seconds to list and stat."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from labdigest.errors import LabdigestError
from labdigest.models import OutputFile
from labdigest.output.files import Entry, safe_relative, sha1, staged_file, write_new
from labdigest.output.manifest import Manifest, made_by_labdigest

if TYPE_CHECKING:
    from labdigest.parallel import Pool

STAGE_MARK = ".stage-"
ASIDE_MARK = ".aside-"


@dataclass(slots=True)
class Stage:
    """The staging folder of one build, and what the new site holds so far."""

    path: Path
    out: Path
    live: Manifest  # what the live site holds, as the last build recorded it
    flat: bool  # files staged under names of their own (see files.staged_file)
    # how the live site's folder differs from its manifest (a first build: no folder)
    on_disk: Callable[[], OnDisk] = lambda: OnDisk([], [], set())
    manifest: Manifest = field(default_factory=Manifest)
    written: set[str] = field(default_factory=set)  # files of the stage, to move into place
    written_folders: set[str] = field(default_factory=set)  # folders of the stage, likewise

    def holds(self, path: str, key: str) -> bool:
        """Whether the live site holds `path` as made from `key`, untouched since."""
        entry = self.live.files.get(path)
        return entry is not None and entry.key == key and self._intact(path)

    def keep(self, path: str) -> None:
        """The live site's file is this build's too (holds() said so)."""
        self._claim(path)
        self.manifest.files[path] = self.live.files[path]

    def add(self, file: OutputFile) -> None:
        """One file of the site, written into the stage."""
        path = safe_relative(file.path)
        if not self._same_as_live(path, sha1(file.content), file.key):
            self.added(path, write_new(str(self.path), path, file.content, file.key, self.flat))

    def added(self, path: str, entry: Entry) -> None:
        """A file written into the stage (by add, or by a worker process). If the live
        site holds these very bytes (a page made again with the same result), the live
        file stays, and the stage's copy is dropped with the stage."""
        if not self._same_as_live(path, entry.sha1, entry.key):
            self.manifest.files[self._claim(path)] = entry
            self.written.add(path)

    def _same_as_live(self, path: str, digest: str, key: str | None) -> bool:
        live = self.live.files.get(path)
        if live is None or live.sha1 != digest or not self._intact(path):
            return False
        self.manifest.files[self._claim(path)] = live._replace(key=key)
        return True

    def holds_folder(self, folder: str, key: str) -> bool:
        """Whether the live site holds this folder as made from `key` (see add_folder)."""
        return self.live.folders.get(folder) == key and (self.out / folder).is_dir()

    def keep_folder(self, folder: str) -> None:
        self.manifest.folders[safe_relative(folder)] = self.live.folders[folder]

    def add_folder(self, folder: str, key: str) -> Path:
        """A folder of the new site that one tool makes whole (a search bundle) in the
        stage, at the path returned: it replaces the live one whole."""
        folder = safe_relative(folder)
        self.manifest.folders[folder] = key
        self.written_folders.add(folder)
        return self.path / folder

    def _claim(self, path: str) -> str:
        relative = safe_relative(path)
        if relative in self.manifest.files:
            raise LabdigestError(f"two pages want the same output path: {path}")
        return relative

    def _intact(self, path: str) -> bool:
        """Whether the live site's file is as the last build left it."""
        return path not in self.on_disk().touched


@contextlib.contextmanager
def staged_output(out: Path, pool: Pool | None = None) -> Iterator[Stage]:
    """Yield the stage; if the block completes, its files are moved into `out`. A large
    site's folder is looked at (on_disk) by one of the pool's workers."""
    out = out.absolute()
    _clear_leftovers(out)
    live = Manifest.load(out) if out.is_dir() else Manifest()
    path = out.parent / f".{out.name}{STAGE_MARK}{secrets.token_hex(4)}"
    # (a first build renames the stage into place: it holds the site's folders)
    stage = Stage(path, out, live, flat=out.exists())
    stage.path.mkdir(parents=True)
    if stage.flat:
        # (a worker reads the manifest itself: sending it would cost this process more)
        stage.on_disk = (
            pool.later(len(live.files), on_disk, str(out))
            if pool is not None
            else functools.cache(lambda: on_disk(str(out), live))
        )
    try:
        yield stage
        _apply(stage)
    finally:
        shutil.rmtree(stage.path, ignore_errors=True)


def _apply(stage: Stage) -> None:
    out, manifest = stage.out, stage.manifest
    if not stage.flat:  # a first build: the stage holds the whole site
        os.rename(stage.path, out)
        manifest.save(out)
        return
    if not out.is_dir() or out.is_symlink():
        raise LabdigestError(f"{out} exists and is not a folder; refusing to replace it")
    found = stage.on_disk()  # (what was there before this build moves its files in)
    for folder in sorted(stage.written_folders):
        _replace_folder(stage.path / folder, out / folder)
    for path in sorted(stage.written):
        _move(Path(staged_file(str(stage.path), path, stage.flat)), out / path)
    _remove_stale(out, manifest, stage.live, found)
    manifest.save(out)


def _replace_folder(source: Path, target: Path) -> None:
    """A folder owned whole (a search bundle) swapped for the new one."""
    aside = target.parent / f".{target.name}{ASIDE_MARK}{secrets.token_hex(4)}"
    _make_folder(target.parent)
    if target.exists():
        os.rename(target, aside)
    try:
        os.rename(source, target)
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
        return
    except FileNotFoundError:  # a new folder
        _make_folder(target.parent)
    except (IsADirectoryError, PermissionError):  # a folder in its place (made by hand)
        if not target.is_dir():
            raise
        shutil.rmtree(target)
    os.replace(source, target)


def _make_folder(folder: Path) -> None:
    """The folder and its parents; a file in the way of one (made by hand) is removed."""
    for parent in [*reversed(folder.parents), folder]:
        if parent.is_file() or parent.is_symlink():
            parent.unlink()
    folder.mkdir(parents=True, exist_ok=True)


class OnDisk(NamedTuple):
    """How a site's folder differs from the manifest of the build that made it."""

    files: list[str]  # no build made these (a symbolic link counts: it is never followed)
    folders: list[str]  # no build made these: each one's files and subfolders are listed too
    touched: set[str]  # the manifest's files not as that build left them (edited, gone)


def on_disk(out: str, live: Manifest | None = None) -> OnDisk:
    """How `out` differs from its manifest (live: read here when not given, as a worker
    does). Search bundles (replaced whole) are not entered; a folder that cannot be read
    counts as empty."""
    live = Manifest.load(Path(out)) if live is None else live
    ours = folders_of(live)
    found = OnDisk([], [], set())
    unseen = set(live.files)
    pending = [""]
    while pending:
        folder = pending.pop()
        prefix = folder + "/" if folder else ""
        try:
            with os.scandir(os.path.join(out, folder) if folder else out) as entries:
                for entry in entries:
                    path = prefix + entry.name
                    if not entry.is_dir(follow_symlinks=False):
                        made = live.files.get(path)
                        if made is None:
                            found.files.append(path)
                            continue
                        unseen.discard(path)
                        if not _as_made(entry.path, made):
                            found.touched.add(path)
                    elif path not in live.folders:
                        if path not in ours:
                            found.folders.append(path)
                        pending.append(path)
        except OSError:
            continue
    found.touched.update(unseen)
    return found


def _as_made(path: str, made: Entry) -> bool:
    # (os.lstat, not the listing's own times: Windows keeps those in the folder, and they
    # may lag the file's own, which the manifest recorded)
    try:
        stat = os.lstat(path)
    except OSError:
        return False
    return stat.st_size == made.size and stat.st_mtime_ns == made.mtime_ns


def folders_of(manifest: Manifest) -> set[str]:
    """The folders that hold the manifest's files and bundles ("" the top)."""
    folders = {""}
    for path in [*manifest.files, *(folder + "/" for folder in manifest.folders)]:
        folder = path.rpartition("/")[0]
        while folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def _remove_stale(out: Path, new: Manifest, live: Manifest, by_hand: OnDisk) -> None:
    """Delete what the new site does not hold, of what the live site's manifest lists
    and what was dropped in by hand: a folder none of the new site's files is in goes
    whole, and so does a bundle no longer made."""
    kept_all = live.files.keys() <= new.files.keys() and live.folders.keys() <= new.folders.keys()
    if kept_all and not (by_hand.files or by_hand.folders):
        return  # (a new digest, an edit: nothing goes, and 200,000 paths need no look)
    ours = folders_of(new)
    folders = {*folders_of(live), *live.folders, *by_hand.folders}
    for folder in sorted(folders.difference(ours, new.folders, new.files)):
        if not _under(folder, new.folders):  # (a bundle made anew holds its own)
            _remove(os.path.join(out, folder))  # (nothing, when it went with its parent)
    for path in sorted({*live.files, *by_hand.files}.difference(new.files, ours)):
        if not _under(path, new.folders):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                os.unlink(os.path.join(out, path))


def _under(path: str, folders: dict[str, str]) -> bool:
    folder = path.rpartition("/")[0]
    while folder:
        if folder in folders:
            return True
        folder = folder.rpartition("/")[0]
    return False


def _remove(path: str) -> None:
    if os.path.islink(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _clear_leftovers(out: Path) -> None:
    """Remove what a killed build left beside `out` (its stage, a folder set aside)."""
    for mark in (STAGE_MARK, ASIDE_MARK):
        for path in out.parent.glob(f".{out.name}{mark}*"):
            shutil.rmtree(path, ignore_errors=True)


def check_output_folder(out: Path, site: Path) -> None:
    """Refuse an output folder that a build must not replace: a build deletes whatever
    in it the new site does not hold, so `--out .` or `--out ~/Documents` would delete
    the site's own files or someone's documents."""
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
    if _holds_anything(out) and not made_by_labdigest(out):
        raise LabdigestError(
            f"output folder {out}: it holds files that no labdigest build made (there is "
            f"no .{out.name}.manifest.json beside it); a build replaces the whole folder, "
            "so move them away or choose another"
        )


def _holds_anything(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    with os.scandir(folder) as entries:
        return any(entries)
