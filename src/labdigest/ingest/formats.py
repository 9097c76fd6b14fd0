"""Digest formats and their detection from the content (the file name only breaks ties)."""

from __future__ import annotations

import enum
from collections.abc import Callable

from labdigest.ingest import text
from labdigest.ingest.base import ReadResult

Reader = Callable[[str, str], ReadResult]


class Format(enum.Enum):
    TEXT = "text"


READERS: dict[Format, Reader] = {
    Format.TEXT: text.read,
}

CHOICES = ("auto", *(f.value for f in Format))


def detect(content: str, name: str) -> Format:
    """Plain text is the fallback: every other format announces itself in its first bytes."""
    del content, name
    return Format.TEXT


def choose(requested: str, content: str, name: str) -> Format:
    if requested == "auto":
        return detect(content, name)
    return Format(requested)
