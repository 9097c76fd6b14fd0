"""The plain-text digest: a Hugging Face papers page copied as text. Page chrome and a
date line, then each paper as a title paragraph followed by an abstract paragraph."""

from __future__ import annotations

import re
from dataclasses import dataclass

from labdigest.errors import IngestError
from labdigest.ingest.base import DateHint, Entry, ReadResult

# Lines of the HF page around the list that are not papers.
CHROME = frozenset(
    {
        "new",
        "subscribe",
        "get trending papers in your email inbox!",
        "byak and the research community",
        "daily papers",
        "papers",
        "trending papers",
        "previous",
        "next",
    }
)
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_DAY_RE = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:(?:,\s*|\s+)(\d{4}))?$")
_DAY_MONTH_RE = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3,9})\.?(?:\s+(\d{4}))?$")
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# A title is one short line; an abstract is wrapped, long, or ends like a sentence.
MAX_TITLE_LENGTH = 300
MAX_TITLE_WORDS = 30


@dataclass(frozen=True, slots=True)
class Paragraph:
    line: int
    lines: tuple[str, ...]
    text: str  # the lines joined, runs of white space made one space

    @classmethod
    def of(cls, line: int, lines: list[str]) -> Paragraph:
        # (Made once: a digest's abstracts are read several times each.)
        return cls(line, tuple(lines), " ".join(" ".join(lines).split()))

    def looks_like_title(self) -> bool:
        text = self.text
        return (
            len(self.lines) == 1
            and len(text) <= MAX_TITLE_LENGTH
            and len(text.split()) <= MAX_TITLE_WORDS
            and not text.endswith(".")
        )

    def clearly_abstract(self) -> bool:
        return len(self.lines) > 1 or len(self.text) > MAX_TITLE_LENGTH


def read(text: str, path: str) -> ReadResult:
    result = ReadResult()
    paragraphs = split_paragraphs(text)
    start = _skip_header(paragraphs, result, path)
    _pair_papers(paragraphs[start:], result, path)
    return result


def split_paragraphs(text: str) -> list[Paragraph]:
    paragraphs: list[Paragraph] = []
    current: list[str] = []
    first = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            if current:
                paragraphs.append(Paragraph.of(first, current))
                current = []
            continue
        if not current:
            first = number
        current.append(line)
    if current:
        paragraphs.append(Paragraph.of(first, current))
    return paragraphs


def parse_date_line(line: str, number: int) -> DateHint | None:
    """'Mar 11', 'March 11, 2025', '11 Mar 2025' or '2025-03-11' → DateHint."""
    line = line.strip()
    if iso := _ISO_RE.match(line):
        return _checked(number, int(iso.group(2)), int(iso.group(3)), int(iso.group(1)))
    for pattern, month_group, day_group in ((_MONTH_DAY_RE, 1, 2), (_DAY_MONTH_RE, 2, 1)):
        if match := pattern.match(line):
            month_number = MONTHS.get(match.group(month_group).lower())
            if month_number is None:
                return None
            year = int(match.group(3)) if match.group(3) else None
            return _checked(number, month_number, int(match.group(day_group)), year)
    return None


def _checked(number: int, month: int, day: int, year: int | None) -> DateHint | None:
    import datetime as dt

    try:
        dt.date(year or 2000, month, day)  # 2000 is a leap year: 29 Feb passes
    except ValueError:
        return None
    return DateHint(number, month, day, year)


def _is_chrome(line: str) -> bool:
    return line.strip().casefold() in CHROME


def _skip_header(paragraphs: list[Paragraph], result: ReadResult, path: str) -> int:
    """Index of the first paper paragraph. Everything up to a date line is the page's
    header; without a date line, only known chrome lines are skipped."""
    date_index = None
    for index, paragraph in enumerate(paragraphs):
        if paragraph.clearly_abstract():
            break
        if len(paragraph.lines) == 1 and (
            hint := parse_date_line(paragraph.lines[0], paragraph.line)
        ):
            date_index, result.date = index, hint
            break
    if date_index is None:
        index = 0
        while index < len(paragraphs) and all(_is_chrome(line) for line in paragraphs[index].lines):
            index += 1
        return index
    for paragraph in paragraphs[:date_index]:
        for offset, line in enumerate(paragraph.lines):
            if not _is_chrome(line):
                result.notes.append(
                    f"line {paragraph.line + offset}: skipped page header text {_quote(line)}"
                )
    return date_index + 1


def _pair_papers(paragraphs: list[Paragraph], result: ReadResult, path: str) -> None:
    pending: Paragraph | None = None
    for paragraph in paragraphs:
        if pending is None:
            if not paragraph.looks_like_title():
                result.problems.append(
                    IngestError(
                        f"abstract without a title, skipped: {_quote(paragraph.text)}",
                        path,
                        paragraph.line,
                    )
                )
            else:
                pending = paragraph
            continue
        if paragraph.looks_like_title():  # a second title in a row: the first has no abstract
            result.problems.append(_title_without_abstract(pending, path))
            pending = paragraph
            continue
        result.entries.append(Entry(title=pending.text, abstract=paragraph.text, line=pending.line))
        pending = None
    if pending is not None:
        result.problems.append(_title_without_abstract(pending, path))


def _title_without_abstract(paragraph: Paragraph, path: str) -> IngestError:
    return IngestError(
        f"title without an abstract, skipped: {_quote(paragraph.text)}", path, paragraph.line
    )


def _quote(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
