"""bioRxiv's and medRxiv's API (api.biorxiv.org/details/biorxiv/…, /details/medrxiv/…):
JSON with a `messages` list and a `collection` of preprints, each with its DOI, title,
authors as "Last, F.; Last, F.", date, version, category, abstract and, once published,
the journal's DOI. The preprint's DOI is its identity (there is no arXiv id)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from labdigest.errors import IngestError
from labdigest.ingest.base import Entry, ReadResult, read_each

SERVERS = {"biorxiv": "https://www.biorxiv.org", "medrxiv": "https://www.medrxiv.org"}


def looks_like(text: str) -> bool:
    start = text.lstrip()[:3000]
    return start.startswith("{") and '"messages"' in start and '"collection"' in text[:200_000]


def read(text: str, path: str) -> ReadResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise IngestError(f"invalid JSON: {error.msg}", path, error.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("collection"), list):
        raise IngestError("expected the bioRxiv API's JSON (a 'collection' of preprints)", path)
    status = _status(data)
    if not data["collection"]:
        raise IngestError(f"no papers in this response ({status or 'an empty collection'})", path)
    return read_each(data["collection"], _entry, "preprint", path)


def _status(data: dict[str, Any]) -> str:
    messages = data.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return str(messages[0].get("status") or "")
    return ""


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _entry(item: Any, index: int) -> tuple[Entry, dt.date]:
    doi, title, abstract = _text(item["doi"]), _text(item["title"]), _text(item["abstract"])
    if not doi.startswith("10.") or not title or not abstract:
        raise ValueError("no DOI, title or abstract")
    date = dt.date.fromisoformat(_text(item["date"]))
    server = _text(item.get("server")).lower() or "biorxiv"
    version = _text(item.get("version"))
    extra: list[tuple[str, object]] = [("doi", doi), ("published", date.isoformat())]
    if category := _text(item.get("category")):
        extra.append(("categories", category))
    if version:
        extra.append(("version", int(version) if version.isdigit() else version))
    published = _text(item.get("published"))
    if published and published.upper() != "NA":
        extra.append(("published_doi", published))
    site = SERVERS.get(server, SERVERS["biorxiv"])
    suffix = f"v{version}" if version.isdigit() else ""
    links = (
        ("other", f"{site}/content/{doi}{suffix}"),
        ("pdf", f"{site}/content/{doi}{suffix}.full.pdf"),
    )
    authors = tuple(_name(part) for part in _text(item.get("authors")).split(";") if part.strip())
    return Entry(title, abstract, index + 1, authors, None, links, tuple(extra)), date


def _name(listed: str) -> str:
    """'Smith, J. A.' → 'J. A. Smith' (the order names take everywhere else)."""
    last, _, first = listed.strip().partition(",")
    return f"{first.strip()} {last.strip()}".strip()
