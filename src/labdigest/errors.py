"""One exception family. Every user-facing error names where it comes from, so
`str(error)` reads as ``path:line: message`` and the CLI can print it unchanged."""

from __future__ import annotations

from pathlib import Path


class LabdigestError(Exception):
    """A problem the user can fix: a bad file, option or environment."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __reduce__(self) -> tuple[type[LabdigestError], tuple[str, str | None, int | None]]:
        # Errors raised in a worker process travel back pickled: keep the path and line.
        return (self.__class__, (self.message, self.path, self.line))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


class ConfigError(LabdigestError):
    """site.toml is missing, malformed or has unknown keys."""


class ContentError(LabdigestError):
    """A paper file or manifest under content/ cannot be read."""


class IngestError(LabdigestError):
    """A digest could not be read at all."""


class TemplateError(LabdigestError):
    """A Jinja template failed to load or render."""


class SearchError(LabdigestError):
    """Pagefind failed to index the site."""


class BuildLockedError(LabdigestError):
    """Another build holds the lock on the output folder."""
