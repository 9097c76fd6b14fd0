"""The arXiv daily e-mail digest (the plain-text subscription mail). Entries are framed by
'\\\\' lines: an 'arXiv:ID' line, header fields that wrap onto indented lines, '\\\\', the
abstract, and a trailer '\\\\ ( https://arxiv.org/abs/ID , NNkb)'. New submissions, then
cross-lists, then replacements (which often carry no abstract)."""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field

from labdigest.errors import IngestError
from labdigest.ingest.base import DateHint, Entry, ReadResult
from labdigest.ingest.tex import tex_to_unicode
from labdigest.slugs import arxiv_base_id

SIGNATURE_RE = re.compile(r"^arXiv:(\S+)(?:\s+\((.*)\))?\s*$")
TRAILER_RE = re.compile(r"^\\\\\s*\(\s*(https?://\S+)\s*,\s*([^)]*)\)\s*$")
FIELD_RE = re.compile(r"^([A-Z][A-Za-z-]*):\s?(.*)$")
RECEIVED_RE = re.compile(
    r"received from\s+.*?\s+to\s+\w{3}\s+(\d{1,2})\s+(\w{3})\s+(\d{2,4})", re.I
)
EXTRA_FIELDS = {
    "Categories": "categories",
    "Comments": "comments",
    "Journal-ref": "journal_ref",
    "DOI": "doi",
    "ACM-class": "acm_class",
    "MSC-class": "msc_class",
    "Report-no": "report_no",
}
MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


def looks_like(text: str) -> bool:
    # The substring first: every ingest asks, and a multiline search of a 13 MB digest
    # that is not an e-mail took a tenth of a second.
    return "\\\\ ( http" in text and bool(re.search(r"^arXiv:\S+", text, re.M))


@dataclass(slots=True)
class _Block:
    line: int
    signature: str
    kind: str  # "new", "cross-listing", "replaced"
    fields: dict[str, str] = field(default_factory=dict)
    abstract: list[str] = field(default_factory=list)
    trailer: str | None = None


def read(text: str, path: str) -> ReadResult:
    result = ReadResult()
    lines = text.splitlines()
    blocks = _blocks(lines, result, path)
    for block in blocks:
        entry = _entry(block, result, path)
        if entry is not None:
            result.entries.append(entry)
    result.date = _digest_date(lines, blocks)
    return result


def _blocks(lines: list[str], result: ReadResult, path: str) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    in_abstract = False
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        signature = SIGNATURE_RE.match(line)
        if signature and (number == 1 or lines[number - 2].strip() == "\\\\"):
            _drop_unfinished(current, blocks, result, path)
            kind = _kind(signature.group(2) or "")
            current = _Block(number, signature.group(1), kind)
            blocks.append(current)
            in_abstract = False
            continue
        if current is None or current.trailer is not None:
            continue
        if trailer := TRAILER_RE.match(line.strip()):
            current.trailer = trailer.group(1)
        elif line.strip() == "\\\\":
            in_abstract = True
        elif in_abstract:
            current.abstract.append(line)
        elif field_match := FIELD_RE.match(line):
            current.fields[field_match.group(1)] = field_match.group(2).strip()
            current.fields["_last"] = field_match.group(1)
        elif line[:1].isspace() and "_last" in current.fields:
            key = current.fields["_last"]
            current.fields[key] = f"{current.fields[key]} {line.strip()}".strip()
        elif line.lower().startswith("replaced with revised version"):
            current.kind = "replaced"
    _drop_unfinished(current, blocks, result, path)
    return blocks


def _drop_unfinished(
    current: _Block | None, blocks: list[_Block], result: ReadResult, path: str
) -> None:
    """An entry that never reached its trailer was cut off: report it, keep the rest."""
    if current is not None and current.trailer is None:
        message = "entry has no '\\\\ ( https://arxiv.org/abs/… )' trailer; skipped"
        result.problems.append(IngestError(message, path, current.line))
        blocks.pop()


def _kind(note: str) -> str:
    note = note.lower()
    if "cross" in note:
        return "cross-listing"
    if "replaced" in note:
        return "replaced"
    return "new"


def _entry(block: _Block, result: ReadResult, path: str) -> Entry | None:
    arxiv = arxiv_base_id(block.signature)
    title = " ".join(block.fields.get("Title", "").split())
    if arxiv is None:
        result.problems.append(
            IngestError(f"not an arXiv id: {block.signature!r}; skipped", path, block.line)
        )
        return None
    if not title:
        result.problems.append(
            IngestError(f"arXiv:{arxiv} has no Title: line; skipped", path, block.line)
        )
        return None
    abstract = " ".join(" ".join(block.abstract).split())
    if not abstract and block.kind == "new":
        result.problems.append(
            IngestError(f"arXiv:{arxiv} has no abstract; skipped", path, block.line)
        )
        return None
    extra: list[tuple[str, object]] = []
    for name, key in EXTRA_FIELDS.items():
        if value := " ".join(block.fields.get(name, "").split()):
            extra.append((key, tex_to_unicode(value) if key == "comments" else value))
    if block.kind != "new":
        extra.append(("listing", block.kind))
    return Entry(
        title=tex_to_unicode(title),
        abstract=tex_to_unicode(abstract),
        line=block.line,
        authors=split_authors(tex_to_unicode(block.fields.get("Authors", ""))),
        arxiv=arxiv,
        extra=tuple(extra),
    )


def split_authors(text: str) -> tuple[str, ...]:
    """'A. One, B. Two and C. Three (Univ)' → ('A. One', 'B. Two', 'C. Three')"""
    text = re.sub(r"\([^()]*\)", "", " ".join(text.split()))
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+", text)
    return tuple(p.strip() for p in parts if p.strip())


def _digest_date(lines: list[str], blocks: list[_Block]) -> DateHint | None:
    header = "\n".join(lines[: blocks[0].line if blocks else len(lines)])
    if match := RECEIVED_RE.search(header):
        day, month, year = (
            int(match.group(1)),
            MONTHS.get(match.group(2).lower()),
            int(match.group(3)),
        )
        if month:
            return DateHint(1, month, day, year + 2000 if year < 100 else year)
    dates = []
    for block in blocks:
        try:
            dates.append(
                email.utils.parsedate_to_datetime(
                    block.fields.get("Date", "").split("(")[0].strip()
                ).date()
            )
        except (TypeError, ValueError):
            continue
    if dates:
        return DateHint.from_date(max(dates))
    return None
