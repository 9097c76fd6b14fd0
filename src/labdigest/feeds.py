"""The machine-readable files of the site: Atom feeds, sitemap.xml, robots.txt and
papers.json. Deterministic: dates come from the content, never from the clock."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from labdigest import __version__

FEED_LENGTH = 50
SITEMAP_URLS = 50_000  # the most one sitemap may list (sitemaps.org); more: an index


def escape(text: str) -> str:
    """XML character data, as xml.sax.saxutils.escape makes it: that module imports
    urllib.request (and with it http.client, email and ssl), 30 ms of every build."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def quoteattr(text: str) -> str:
    """An XML attribute value with its quotes, as xml.sax.saxutils.quoteattr makes it."""
    text = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace('"', "&quot;") + '"'


@dataclass(frozen=True, slots=True)
class FeedEntry:
    id: str
    title: str
    url: str
    date: str  # YYYY-MM-DD
    summary: str
    authors: tuple[str, ...]
    categories: tuple[tuple[str, str], ...]  # (term, label)


def atom_feed(
    *,
    title: str,
    subtitle: str,
    feed_id: str,
    self_url: str,
    page_url: str,
    language: str,
    entries: Sequence[FeedEntry],
) -> bytes:
    updated = max((e.date for e in entries), default="1970-01-01")
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(language)}>',
        f"  <title>{escape(title)}</title>",
    ]
    if subtitle:
        lines.append(f"  <subtitle>{escape(subtitle)}</subtitle>")
    lines += [
        f"  <id>{escape(feed_id)}</id>",
        f'  <link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
        f'  <link rel="alternate" type="text/html" href={quoteattr(page_url)}/>',
        f"  <updated>{updated}T00:00:00Z</updated>",
        f"  <author><name>{escape(title)}</name></author>",
        f'  <generator version="{__version__}">labdigest</generator>',
    ]
    for entry in entries:
        lines += [
            "  <entry>",
            f"    <title>{escape(entry.title)}</title>",
            f"    <id>{escape(entry.id)}</id>",
            f'    <link rel="alternate" type="text/html" href={quoteattr(entry.url)}/>',
            f"    <published>{entry.date}T00:00:00Z</published>",
            f"    <updated>{entry.date}T00:00:00Z</updated>",
            *(f"    <author><name>{escape(name)}</name></author>" for name in entry.authors),
            *(
                f"    <category term={quoteattr(term)} label={quoteattr(label)}/>"
                for term, label in entry.categories
            ),
            f'    <summary type="text">{escape(entry.summary)}</summary>',
            "  </entry>",
        ]
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def sitemap(urls: Iterable[tuple[str, str | None]]) -> Iterator[bytes]:
    """The sitemap in parts (a line each), from (absolute URL, last-modified date or
    None) for every page."""
    yield b'<?xml version="1.0" encoding="utf-8"?>\n'
    yield b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    for url, modified in urls:
        lastmod = f"<lastmod>{modified}</lastmod>" if modified else ""
        yield f"  <url><loc>{escape(url)}</loc>{lastmod}</url>\n".encode()
    yield b"</urlset>\n"


def sitemap_index(sitemaps: Iterable[str]) -> bytes:
    """A sitemap index: the address of each sitemap of a site too large for one."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n',
        *(f"  <sitemap><loc>{escape(url)}</loc></sitemap>\n" for url in sitemaps),
        "</sitemapindex>\n",
    ]
    return "".join(lines).encode()


def robots(sitemap_url: str) -> bytes:
    text = "User-agent: *\nAllow: /\n"
    if "://" in sitemap_url:  # the Sitemap line must be an absolute URL
        text += f"Sitemap: {sitemap_url}\n"
    return text.encode("utf-8")


def papers_json_line(record: dict[str, object]) -> bytes:
    """One paper's line of papers.json: one a line keeps diffs and grep readable, and the
    encoder the C one (json.dumps with indent= is pure Python: seconds on a large site).
    Bytes: the lines are cached, and 20 MB of them (10,000 papers) are joined on every
    rebuild; as text they were decoded from the cache and encoded again each time."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")


def papers_json(lines: Iterable[bytes]) -> Iterator[bytes]:
    """papers.json in parts, from its lines (written as they come, never joined: 220 MB
    at 100,000 papers)."""
    yield b'{"papers": [\n'
    for number, line in enumerate(lines):
        if number:
            yield b",\n"
        yield line
    yield b"\n]}\n"
