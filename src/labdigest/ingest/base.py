"""What every digest reader produces: entries in digest order, with the line each came
from, and the problems it found (reported, skipped, never silently dropped)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from labdigest.errors import IngestError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Entry:
    """One paper as a digest states it."""

    title: str
    abstract: str
    line: int
    authors: tuple[str, ...] = ()
    arxiv: str | None = None
    links: tuple[tuple[str, str], ...] = ()
    extra: tuple[tuple[str, object], ...] = ()  # e.g. categories, doi, withdrawn, upvotes


@dataclass(frozen=True, slots=True)
class DateHint:
    """The date a digest gives itself: a full date, or a month and day with no year."""

    line: int
    month: int
    day: int
    year: int | None = None

    @classmethod
    def from_date(cls, day: dt.date, line: int = 1) -> DateHint:
        return cls(line, day.month, day.day, day.year)


@dataclass(slots=True)
class ReadResult:
    entries: list[Entry] = field(default_factory=list)
    problems: list[IngestError] = field(default_factory=list)  # skipped entries
    notes: list[str] = field(default_factory=list)  # assumptions worth telling the user
    date: DateHint | None = None


def read_each(
    items: Iterable[T],
    read_one: Callable[[T, int], tuple[Entry, dt.date | None]],
    what: str,
    path: str,
    *,
    start: int = 0,
) -> ReadResult:
    """Each item of a feed or JSON list read into an entry (read_one(item, number) gives
    it and its date); an item it cannot read is reported by its number and skipped. The
    digest's date is the latest of its entries'."""
    result = ReadResult()
    dates: list[dt.date] = []
    for number, item in enumerate(items, start=start):
        try:
            entry, date = read_one(item, number)
        except (KeyError, TypeError, ValueError) as error:
            why = f"missing {error.args[0]!r}" if isinstance(error, KeyError) else str(error)
            result.problems.append(IngestError(f"{what} {number}: skipped, {why}", path))
            continue
        result.entries.append(entry)
        if date:
            dates.append(date)
    if dates:
        result.date = DateHint.from_date(max(dates))
    return result


def decode(data: bytes, path: str) -> str:
    """Digest bytes → text. UTF-8 (with or without BOM) and UTF-16 with a BOM are read;
    anything else is refused with the line of the first bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise IngestError(f"invalid UTF-16 ({error.reason})", path) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise IngestError(
                f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the digest as UTF-8",
                path,
                line,
            ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise IngestError("contains a NUL character: not a text digest", path, line)
    return text


def resolve_date(
    hint: DateHint | None,
    override: dt.date | None,
    name_date: dt.date | None,
    known: dt.date | None,
    today: dt.date,
) -> tuple[dt.date | None, str | None]:
    """The digest's date, and a note when it had to be assumed.

    Order: --date; a full date in the digest; for a day without a year, the year of a
    YYYY-MM-DD in the file name, else the date this digest was ingested with before, else
    the latest such day not after today."""
    if override is not None:
        return override, None
    if hint is None:
        if name_date is not None:
            return name_date, f"no date line; used {name_date} from the file name"
        if known is not None:
            return known, None
        return None, None
    if hint.year is not None:
        return dt.date(hint.year, hint.month, hint.day), None
    day = f"{hint.month:02d}-{hint.day:02d}"
    if name_date is not None:
        return dt.date(name_date.year, hint.month, hint.day), (
            f"line {hint.line}: '{day}' has no year; assumed {name_date.year} from the file name"
        )
    if known is not None and (known.month, known.day) == (hint.month, hint.day):
        return known, None
    year = today.year
    while True:
        try:
            candidate = dt.date(year, hint.month, hint.day)
        except ValueError:  # 29 February in a common year
            year -= 1
            continue
        if candidate <= today:
            break
        year -= 1
    return candidate, (
        f"line {hint.line}: the date has no year; assumed {candidate}, the latest such day "
        "not in the future (pass --date YYYY-MM-DD to choose)"
    )
