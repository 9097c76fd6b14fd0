"""Topic rules → which topics each paper is in. A phrase matches on word boundaries,
case-insensitively, in the title or abstract; a paper's own `topics:` list wins over the
rules; a paper that no rule places goes to the visible 'Unsorted' topic."""

from __future__ import annotations

import re
from dataclasses import dataclass

from labdigest.models import UNSORTED_SLUG, Library, Paper, Topic

UNSORTED = Topic(
    UNSORTED_SLUG,
    "Unsorted",
    "Papers that no topic rule places yet: add a phrase in site.toml or pin topics by hand.",
    (),
)
_ESCAPE_RE = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class TopicIndex:
    topics: tuple[Topic, ...]  # the configured topics, then Unsorted when it has papers
    of_paper: dict[str, tuple[str, ...]]  # paper slug → topic slugs, in site.toml order
    phrases_of: dict[str, tuple[str, ...]]  # paper slug → the rule phrases found in it
    papers_in: dict[str, tuple[str, ...]]  # topic slug → paper slugs, newest first

    def topic(self, slug: str) -> Topic:
        return next(t for t in self.topics if t.slug == slug)


def compile_rule(topic: Topic) -> re.Pattern[str] | None:
    if not topic.phrases:
        return None
    # Longest first, so that "monocular depth" is tried before "depth". \b would not see
    # a boundary before a phrase that starts with a symbol, hence the look-arounds.
    alternatives = "|".join(
        r"\s+".join(re.escape(word) for word in phrase.split())
        for phrase in sorted(topic.phrases, key=len, reverse=True)
    )
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.IGNORECASE)


def searchable_text(paper: Paper) -> str:
    """Title and abstract as a reader sees them (Markdown escapes removed)."""
    return paper.title + "\n" + _ESCAPE_RE.sub(r"\1", paper.body)


def assign(library: Library, topics: tuple[Topic, ...]) -> TopicIndex:
    rules = [(topic.slug, compile_rule(topic)) for topic in topics]
    of_paper: dict[str, tuple[str, ...]] = {}
    phrases_of: dict[str, tuple[str, ...]] = {}
    for paper in library.papers:
        text = searchable_text(paper)
        matched: list[str] = []
        phrases: dict[str, None] = {}
        for slug, rule in rules:
            found = rule.findall(text) if rule is not None else []
            if found:
                matched.append(slug)
                phrases.update((" ".join(p.lower().split()), None) for p in found)
        phrases_of[paper.slug] = tuple(sorted(phrases))
        if paper.topics:
            pinned = set(paper.topics)
            of_paper[paper.slug] = tuple(t.slug for t in topics if t.slug in pinned)
        else:
            of_paper[paper.slug] = tuple(matched) or (UNSORTED_SLUG,)
    papers_in: dict[str, list[str]] = {t.slug: [] for t in (*topics, UNSORTED)}
    for paper in library.papers:  # already newest first
        for slug in of_paper[paper.slug]:
            papers_in[slug].append(paper.slug)
    shown = topics + ((UNSORTED,) if papers_in[UNSORTED_SLUG] else ())
    return TopicIndex(
        topics=shown,
        of_paper=of_paper,
        phrases_of=phrases_of,
        papers_in={slug: tuple(papers) for slug, papers in papers_in.items()},
    )
