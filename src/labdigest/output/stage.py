"""A build writes into a staging folder beside the output folder, and only once it is
complete are its files moved into place (each by one rename); a build that fails before
then leaves the live site as it was. A file whose key is unchanged, and which is still
as the last build left it, is not written at all: the live site keeps it. What the new
site no longer holds is then deleted, a file dropped in by hand included: the live site's
folders are listed by a thread while the build renders (a large site has a folder per
paper, and listing them all takes seconds)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from labdigest.errors import LabdigestError
from labdigest.models import OutputFile
from labdigest.output.files import Entry, safe_relative, sha1, staged_file, write_new
from labdigest.output.manifest import Manifest, made_by_labdigest

STAGE_MARK = ".stage-"
ASIDE_MARK = ".aside-"


@dataclass(slots=True)
class Stage:
    """The staging folder of one build, and what the new site holds so far."""

    path: Path
    out: Path
    live: Manifest  # what the live site holds, as the last build recorded it
    flat: bool  # files staged under names of their own (see files.staged_file)
    listing: Listing | None = None  # the live site's folders, listed meanwhile
    manifest: Manifest = field(default_factory=Manifest)
    written: set[str] = field(default_factory=set)  # files of the stage, to move into place
    written_folders: set[str] = field(default_factory=set)  # folders of the stage, likewise

    def holds(self, path: str, key: str) -> bool:
        """Whether the live site holds `path` as made from `key`, untouched since."""
        entry = self.live.files.get(path)
        return entry is not None and entry.key == key and self._intact(path, entry)

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
        if live is None or live.sha1 != digest or not self._intact(path, live):
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

    def _intact(self, path: str, entry: Entry) -> bool:
        try:
            stat = os.stat(os.path.join(self.out, path))
        except OSError:
            return False
        return stat.st_size == entry.size and stat.st_mtime_ns == entry.mtime_ns


@contextlib.contextmanager
def staged_output(out: Path) -> Iterator[Stage]:
    """Yield the stage; if the block completes, its files are moved into `out`."""
    out = out.absolute()
    _clear_leftovers(out)
    live = Manifest.load(out) if out.is_dir() else Manifest()
    path = out.parent / f".{out.name}{STAGE_MARK}{secrets.token_hex(4)}"
    # (a first build renames the stage into place: it holds the site's folders)
    stage = Stage(path, out, live, flat=out.exists())
    stage.path.mkdir(parents=True)
    if stage.flat:
        stage.listing = Listing(out, skip=set(live.folders))
    try:
        yield stage
        _apply(stage)
    finally:
        if stage.listing is not None:
            stage.listing.stop()
        shutil.rmtree(stage.path, ignore_errors=True)


def _apply(stage: Stage) -> None:
    out, manifest = stage.out, stage.manifest
    if not stage.flat:  # a first build: the stage holds the whole site
        os.rename(stage.path, out)
        manifest.save(out)
        return
    if not out.is_dir() or out.is_symlink():
        raise LabdigestError(f"{out} exists and is not a folder; refusing to replace it")
    for folder in sorted(stage.written_folders):
        _replace_folder(stage.path / folder, out / folder)
    for path in sorted(stage.written):
        _move(Path(staged_file(str(stage.path), path, stage.flat)), out / path)
    assert stage.listing is not None  # (a rebuild's stage lists the live site)
    _remove_stale(out, manifest, stage.listing.result())
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


class Listing:
    """The files and subfolders of every folder of the live site, listed by a thread of
    its own from when the build starts (the build holds the lock: nothing else writes
    there meanwhile). Folders in `skip` (search bundles, replaced whole) are not entered."""

    def __init__(self, out: Path, skip: set[str]):
        self._stopped = threading.Event()
        self._found: Folders = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(str(out), skip), daemon=True)
        self._thread.start()

    def _run(self, out: str, skip: set[str]) -> None:
        try:
            self._found = list_folders(out, skip, self._stopped)
        except BaseException as error:  # handed to the build, which raises it
            self._error = error

    def result(self) -> Folders:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._found

    def stop(self) -> None:
        """Stop listing (a failed build needs none) and wait for the thread."""
        self._stopped.set()
        self._thread.join()


# folder ("" for the top, else "a/b") → (its files, its subfolders), names only
Folders = dict[str, tuple[list[str], list[str]]]


def list_folders(
    out: str, skip: set[str], stopped: threading.Event | None = None, top: str = ""
) -> Folders:
    """What `out` holds (in its folder `top`), folder by folder; a symbolic link counts as
    a file (it is removed, never followed), a folder that cannot be read as empty."""
    found: Folders = {}
    pending = [top]
    while pending and not (stopped and stopped.is_set()):
        folder = pending.pop()
        files, subfolders = [], []
        try:
            with os.scandir(os.path.join(out, folder) if folder else out) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        subfolders.append(entry.name)
                    else:
                        files.append(entry.name)
        except OSError:
            continue
        found[folder] = (files, subfolders)
        prefix = folder + "/" if folder else ""
        pending.extend(prefix + name for name in subfolders if prefix + name not in skip)
    return found


def _remove_stale(out: Path, manifest: Manifest, listing: Folders) -> None:
    """Delete what the new site does not hold: a folder none of its files is in goes
    whole, and in the others every file it does not list. The listing was made before
    the build moved its files in (they are the new site's own)."""
    ours = {""}
    for path in [*manifest.files, *(folder + "/" for folder in manifest.folders)]:
        folder = path.rpartition("/")[0]
        while folder not in ours:
            ours.add(folder)
            folder = folder.rpartition("/")[0]
    pending = [""]
    while pending:
        folder = pending.pop()
        if folder not in listing:  # (entered by no listing: a search bundle once)
            listing.update(list_folders(str(out), set(manifest.folders), top=folder))
        files, subfolders = listing.get(folder, ([], []))
        prefix = folder + "/" if folder else ""
        for name in subfolders:
            path = prefix + name
            if path in manifest.folders or path in manifest.files:
                continue  # replaced whole, or a file of the new site now
            if path in ours:
                pending.append(path)
            else:
                _remove(os.path.join(out, path))
        for name in files:
            path = prefix + name
            if path not in manifest.files and path not in ours:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(out, path))


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
