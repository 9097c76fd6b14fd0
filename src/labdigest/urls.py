"""The site's addresses: every internal link starts with the base path (base_url), and
absolute ones (feeds, sitemap, e-mail, canonical links) with the site's public address."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote_plus

from labdigest.models import SiteConfig
from labdigest.slugs import ascii_words


@dataclass(frozen=True, slots=True)
class SiteUrls:
    """The addresses every page links to, worked out once: a template reads
    `site.urls.topics` for the price of an attribute, where `site.url('topics/')` is a
    function call through Jinja (a fifth of a paper page's rendering time)."""

    home: str
    topics: str
    digests: str
    lab: str
    search: str
    feed: str
    papers_json: str
    style: str
    script: str
    search_script: str
    icon: str


class Site:
    """URLs of the site: every internal link starts with the base path; absolute ones
    (feeds, sitemap, e-mail, canonical links) with the site's public address."""

    def __init__(self, config: SiteConfig):
        self.config = config
        self.base = config.base_path
        self.absolute_base = config.absolute_base
        self._search_urls: dict[str, str] = {}  # the same key phrases recur on many papers
        self.urls = SiteUrls(
            home=self.url(),
            topics=self.url("topics/"),
            digests=self.url("digests/"),
            lab=self.url("lab/"),
            search=self.url("search/"),
            feed=self.url("feed.xml"),
            papers_json=self.url("papers.json"),
            style=self.url("assets/style.css"),
            script=self.url("assets/site.js"),
            search_script=self.url("assets/search.js"),
            icon=self.url("assets/favicon.png"),
        )

    def url(self, path: str = "") -> str:
        return self.base + path.lstrip("/")

    def absolute(self, path: str = "") -> str:
        return self.absolute_base + path.lstrip("/")

    def search_url(self, query: str) -> str:
        if query not in self._search_urls:
            self._search_urls[query] = self.url("search/") + "?q=" + quote_plus(query)
        return self._search_urls[query]

    def paper_url(self, slug: str) -> str:
        return self.url(f"papers/{slug}/")

    def topic_url(self, slug: str) -> str:
        return self.url(f"topics/{slug}/")

    def digest_url(self, digest_id: str) -> str:
        return self.url(f"digests/{digest_id}/")

    def feed_id(self, path: str) -> str:
        """An Atom id: the absolute URL when the site has one, else a stable URN."""
        if "://" in self.absolute_base:
            return self.absolute(path)
        site = "-".join(ascii_words(self.config.title)) or "site"
        return f"urn:labdigest:{site}:{path.strip('/') or 'home'}"
