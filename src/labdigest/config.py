"""site.toml → SiteConfig. All validation of the site settings happens here, and every
error names the file and the line of the offending key."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labdigest.errors import ConfigError
from labdigest.models import UNSORTED_SLUG, SiteConfig, Topic

SITE_KEYS = {"title", "description", "base_url", "language", "url", "scholar_tags", "per_page"}
LAB_KEYS = {"name", "members"}
TOPIC_KEYS = {"slug", "name", "description", "match"}
TOP_LEVEL_KEYS = {"site", "topics", "lab"}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")

_TABLE_ARRAY_RE = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]")
_TABLE_RE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")
_KEY_RE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


@dataclass(frozen=True, slots=True)
class _KeyLines:
    """Where each key of site.toml stands, so that errors can point at a line.
    tomllib keeps no positions, so this is a light scan of the same text."""

    lines: dict[tuple[str, int, str], int]
    tables: dict[tuple[str, int], int]

    def of(self, table: str, index: int, key: str | None = None) -> int | None:
        if key is None:
            return self.tables.get((table, index))
        return self.lines.get((table, index, key), self.tables.get((table, index)))


def _scan_key_lines(text: str) -> _KeyLines:
    lines: dict[tuple[str, int, str], int] = {}
    tables: dict[tuple[str, int], int] = {}
    counts: dict[str, int] = {}
    table, index = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _TABLE_ARRAY_RE.match(line):
            table = match.group(1)
            index = counts.get(table, 0)
            counts[table] = index + 1
            tables[(table, index)] = number
        elif match := _TABLE_RE.match(line):
            table, index = match.group(1), 0
            tables[(table, index)] = number
        elif match := _KEY_RE.match(line):
            key = match.group(1).strip("\"'")
            lines.setdefault((table, index, key), number)
    return _KeyLines(lines, tables)


def normalize_base_url(url: str) -> str:
    """'/digest' → '/digest/'; 'https://x.org' → 'https://x.org/'. Relative URLs are refused
    because every internal link is built from this value."""
    url = url.strip()
    if not (url.startswith("/") or re.match(r"^https?://[^/\s]+", url)):
        raise ValueError("base_url must start with '/' or 'http(s)://'")
    if any(c in url for c in "\"'<> \t\n?#\\"):
        raise ValueError("base_url may not contain quotes, spaces, '<', '>', '?', '#' or '\\'")
    return url if url.endswith("/") else url + "/"


def parse(text: str, path: Path) -> SiteConfig:
    """Validate the text of a site.toml; `path` is only used in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"\(at line (\d+), column \d+\)", str(error))
        line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise ConfigError(f"invalid TOML: {message}", path, line) from None
    where = _scan_key_lines(text)

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(
                f"unknown key '{key}'", path, where.of("", 0, key) or where.of(key, 0)
            )
    site = _table(data.get("site", {}), "site", path, where.of("site", 0))
    _reject_unknown(site, SITE_KEYS, "site", 0, path, where)

    def text_value(key: str, default: str) -> str:
        value = site.get(key, default)
        if not isinstance(value, str):
            raise ConfigError(f"[site] {key} must be a string", path, where.of("site", 0, key))
        return value

    try:
        base_url = normalize_base_url(text_value("base_url", "/"))
    except ValueError as error:
        raise ConfigError(str(error), path, where.of("site", 0, "base_url")) from None
    language = text_value("language", "en")
    if not LANGUAGE_RE.match(language):
        raise ConfigError(
            f"[site] language '{language}' is not a language tag such as 'en' or 'pt-BR'",
            path,
            where.of("site", 0, "language"),
        )
    url = None
    if "url" in site:
        try:
            url = normalize_base_url(text_value("url", ""))
        except ValueError as error:
            raise ConfigError(
                str(error).replace("base_url", "url"), path, where.of("site", 0, "url")
            ) from None
        if "://" not in url:
            raise ConfigError(
                "[site] url must be absolute, such as https://lab.example.org/digest/",
                path,
                where.of("site", 0, "url"),
            )
    scholar_tags = site.get("scholar_tags", False)
    if not isinstance(scholar_tags, bool):
        raise ConfigError(
            "[site] scholar_tags must be true or false", path, where.of("site", 0, "scholar_tags")
        )
    per_page = site.get("per_page", 100)
    if not isinstance(per_page, int) or isinstance(per_page, bool) or per_page < 1:
        raise ConfigError(
            "[site] per_page must be a whole number of papers, 1 or more",
            path,
            where.of("site", 0, "per_page"),
        )
    lab = _table(data.get("lab", {}), "lab", path, where.of("lab", 0))
    _reject_unknown(lab, LAB_KEYS, "lab", 0, path, where)
    members = lab.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) and m.strip() for m in members):
        raise ConfigError(
            "[lab] members must be a list of names", path, where.of("lab", 0, "members")
        )
    lab_name = lab.get("name", "Our lab")
    if not isinstance(lab_name, str) or not lab_name.strip():
        raise ConfigError("[lab] name must be text", path, where.of("lab", 0, "name"))
    return SiteConfig(
        path=path,
        title=text_value("title", "Research digest"),
        description=text_value("description", ""),
        base_url=base_url,
        language=language,
        topics=_parse_topics(data.get("topics", []), path, where),
        url=url,
        scholar_tags=scholar_tags,
        per_page=per_page,
        lab_name=lab_name.strip(),
        lab_members=tuple(" ".join(m.split()) for m in members),
    )


def load(path: Path) -> SiteConfig:
    try:
        text = read(path).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text ({error.reason})", path) from None
    return parse(text, path)


def read(path: Path) -> bytes:
    """The settings file's bytes (the build's fingerprint reads them before parsing)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("site settings not found (pass --config FILE)", path) from None
    except OSError as error:  # a folder, a file it may not read
        raise ConfigError(f"cannot read the site settings: {error.strerror}", path) from None


def _table(value: Any, name: str, path: Path, line: int | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"'{name}' must be a table", path, line)
    return value


def _reject_unknown(
    table: dict[str, Any], allowed: set[str], name: str, index: int, path: Path, where: _KeyLines
) -> None:
    for key in table:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise ConfigError(
                f"unknown key '{key}' in [{name}] (known keys: {known})",
                path,
                where.of(name, index, key),
            )


def _parse_topics(value: Any, path: Path, where: _KeyLines) -> tuple[Topic, ...]:
    if not isinstance(value, list):
        raise ConfigError(
            "'topics' must be an array of tables ([[topics]])", path, where.of("", 0, "topics")
        )
    topics: list[Topic] = []
    seen: set[str] = set()
    for index, raw in enumerate(value):
        line = where.of("topics", index)
        table = _table(raw, "topics", path, line)
        _reject_unknown(table, TOPIC_KEYS, "topics", index, path, where)
        topic = _parse_topic(table, index, path, where)
        if topic.slug in seen:
            raise ConfigError(
                f"topic slug '{topic.slug}' is used twice", path, where.of("topics", index, "slug")
            )
        seen.add(topic.slug)
        topics.append(topic)
    return tuple(topics)


def _parse_topic(table: dict[str, Any], index: int, path: Path, where: _KeyLines) -> Topic:
    def line(key: str) -> int | None:
        return where.of("topics", index, key)

    slug = table.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise ConfigError(
            "topic 'slug' must be lowercase letters, digits and single hyphens", path, line("slug")
        )
    if slug == UNSORTED_SLUG:
        raise ConfigError(
            f"topic slug '{UNSORTED_SLUG}' is reserved for papers in no topic", path, line("slug")
        )
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"topic '{slug}' needs a non-empty 'name'", path, line("name"))
    description = table.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(
            f"topic '{slug}': 'description' must be a string", path, line("description")
        )
    phrases = table.get("match", [])
    if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
        raise ConfigError(
            f"topic '{slug}': 'match' must be a list of non-empty phrases", path, line("match")
        )
    return Topic(slug, name.strip(), description.strip(), tuple(p.strip() for p in phrases))
