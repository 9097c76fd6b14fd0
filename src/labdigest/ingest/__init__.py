"""Digest files → paper files. Each file is read by the reader of its format; bad
entries are reported with file and line and skipped, the rest are stored."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labdigest.cache import Cache
from labdigest.errors import IngestError, LabdigestError
from labdigest.ingest import formats
from labdigest.ingest.base import decode, resolve_date
from labdigest.ingest.store import PaperStore, StoreReport
from labdigest.slugs import slugify

_NAME_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(slots=True)
class FileReport:
    path: str
    digest_id: str | None = None
    format: str | None = None
    date: str | None = None
    papers: int = 0
    seconds: float = 0.0
    store: StoreReport = field(default_factory=StoreReport)
    problems: list[LabdigestError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class IngestReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def papers_read(self) -> int:
        return sum(f.papers for f in self.files)

    @property
    def problems(self) -> list[LabdigestError]:
        return [p for f in self.files for p in (*f.problems, *f.store.problems)]


def expand(paths: list[Path]) -> list[Path]:
    """Files as given, and the files directly inside given folders (hidden ones skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")
            )
        else:
            found.append(path)
    return found


def ingest(
    paths: list[Path],
    content_dir: Path,
    *,
    date: dt.date | None = None,
    format: str = "auto",
    today: dt.date | None = None,
    on_file: Callable[[int, int], None] = lambda done, total: None,
) -> IngestReport:
    store = PaperStore(content_dir, Cache(content_dir.absolute().parent))
    report = IngestReport()
    files = expand(paths)
    for number, path in enumerate(files, start=1):
        on_file(number - 1, len(files))
        file_report = FileReport(str(path))
        report.files.append(file_report)
        started = time.perf_counter()
        try:
            _ingest_file(
                path, content_dir, store, file_report, date, format, today or dt.date.today()
            )
        except LabdigestError as error:
            file_report.problems.append(error)
        file_report.seconds = time.perf_counter() - started
    return report


def _ingest_file(
    path: Path,
    content_dir: Path,
    store: PaperStore,
    report: FileReport,
    date: dt.date | None,
    requested: str,
    today: dt.date,
) -> None:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise IngestError(f"cannot read: {error.strerror}", path) from None
    text = decode(data, str(path))
    fmt = formats.choose(requested, text, path.name)
    result = formats.READERS[fmt](text, str(path))
    report.format = fmt.value
    report.problems.extend(result.problems)
    report.notes.extend(result.notes)
    if not result.entries:
        raise IngestError("no papers found in this digest", path)

    digest_id = slugify(path.stem, fallback="digest")
    known = store.manifests.get(digest_id)
    digest_date, note = resolve_date(
        result.date,
        date,
        _date_in_name(path.name),
        dt.date.fromisoformat(known.date) if known else None,
        today,
    )
    if note:
        report.notes.append(note)
    if digest_date is None:
        raise IngestError("the digest has no date line; pass --date YYYY-MM-DD", path)

    source = _keep_as_received(path, data, content_dir)
    if known is not None and known.source != source:
        raise IngestError(
            f"digest id '{digest_id}' is already taken by {known.source}; rename this file",
            path,
        )
    report.digest_id, report.date, report.papers = (
        digest_id,
        digest_date.isoformat(),
        len(result.entries),
    )
    report.store = store.merge_digest(
        digest_id,
        digest_date.isoformat(),
        source,
        fmt.value,
        result.entries,
        str(path),
        # Text digests are shown literally; arXiv sources write formulas as $…$ TeX.
        keep_math=fmt is not formats.Format.TEXT,
    )


def _date_in_name(name: str) -> dt.date | None:
    match = _NAME_DATE_RE.search(name)
    if not match:
        return None
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _keep_as_received(path: Path, data: bytes, content_dir: Path) -> str:
    """Digests are provenance: one from elsewhere is copied, unchanged, into
    content/digests/. Returns its path relative to content/."""
    digests = content_dir / "digests"
    if path.resolve().parent == digests.resolve():
        return f"digests/{path.name}"
    target = digests / _safe_file_name(path.name)
    if target.exists() and target.read_bytes() != data:
        raise IngestError(
            f"a different digest named {target.name} is already in {digests}; rename one of them",
            path,
        )
    if not target.exists():
        digests.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return f"digests/{target.name}"


def _safe_file_name(name: str) -> str:
    """A digest's own name, minus anything that could make it a path or a hidden file."""
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._-]+", "-", name))
    cleaned = cleaned.lstrip(".-") or "digest.txt"
    return cleaned[:120]
