"""Topic rules → which topics each paper is in. A phrase matches on word boundaries,
case-insensitively, in the title or abstract; a paper's own `topics:` list wins over the
rules; a paper that no rule places goes to the visible 'Unsorted' topic."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from labdigest.cache import Cache, by_date, per_item, text_key
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


_WORD_RE = re.compile(r"\w+")
# What \w is in ASCII: letters, digits and the underscore; every other ASCII character
# separates words.
_ASCII_SEPARATORS = str.maketrans(
    {chr(c): " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}
)


def words_of(text: str) -> list[str]:
    r"""The words of a text, as re.findall(r"\w+") finds them: in ASCII text (most
    abstracts), by turning the separators into spaces and splitting, in half the time."""
    if text.isascii():
        return text.translate(_ASCII_SEPARATORS).split()
    return _WORD_RE.findall(text)


@dataclass(frozen=True, slots=True)
class PhraseIndex:
    """Every topic phrase as a tuple of lowercase words, found by its first word: one pass
    over a paper's words finds every phrase of every topic. Punctuation between words
    does not matter ("test-time adaptation" matches "test time adaptation")."""

    # first word → (the phrase's words, the phrase)
    by_first_word: dict[str, tuple[tuple[tuple[str, ...], str], ...]]
    topics_of: dict[str, tuple[str, ...]]  # phrase → the slugs of the topics it is in

    @classmethod
    def of(cls, topics: tuple[Topic, ...]) -> PhraseIndex:
        index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        topics_of: dict[str, list[str]] = {}
        for topic in topics:
            for phrase in topic.phrases:
                words = tuple(words_of(phrase.lower()))
                if not words:
                    continue
                joined = " ".join(words)
                if joined not in topics_of:
                    index.setdefault(words[0], []).append((words, joined))
                if topic.slug not in topics_of.setdefault(joined, []):
                    topics_of[joined].append(topic.slug)
        return cls(
            {word: tuple(entries) for word, entries in index.items()},
            {phrase: tuple(slugs) for phrase, slugs in topics_of.items()},
        )

    def find(self, words: list[str]) -> tuple[str, ...]:
        """The phrases found in `words`, sorted."""
        found = set()
        index = self.by_first_word
        # Few words start a phrase: they are picked out in one comprehension, a quarter
        # of the time of a loop that looks every word up.
        for position in [i for i, word in enumerate(words) if word in index]:
            for phrase_words, phrase in index[words[position]]:
                if tuple(words[position : position + len(phrase_words)]) == phrase_words:
                    found.add(phrase)
        return tuple(sorted(found))


def paper_text_key(paper: Paper) -> str:
    """A digest of the paper's title and body: what the text analyses read."""
    return text_key(paper.title, paper.body)


def searchable_text(paper: Paper) -> str:
    """Title and abstract as a reader sees them (Markdown escapes removed)."""
    return (paper.title + "\n" + _ESCAPE_RE.sub(r"\1", paper.body)).lower()


def text_keys(papers: Iterable[Paper]) -> dict[str, str]:
    """slug → paper_text_key, worked out once for the stages that read the texts (topics,
    related papers): 10,000 of them take a twentieth of a second."""
    return {paper.slug: paper_text_key(paper) for paper in papers}


def assign(
    library: Library,
    topics: tuple[Topic, ...],
    cache: Cache | None = None,
) -> TopicIndex:
    """The topics of every paper. The papers' text keys are the library's, as content.load
    works them out (a library made by hand, without them, has them worked out here)."""
    phrase_index = PhraseIndex.of(topics)

    by_slug = {paper.slug: paper for paper in library.papers}

    # Finding the phrases reads every word of every paper: only changed papers are read.
    # (What is kept is each paper's phrases, one sorted tuple; its topics follow.)
    phrases_of = per_item(
        cache,
        "topic-phrases",
        repr(topics),
        library.text_keys or text_keys(library.papers),
        lambda slugs: [phrase_index.find(words_of(searchable_text(by_slug[s]))) for s in slugs],
        group=by_date(library.papers),
    )
    of_paper: dict[str, tuple[str, ...]] = {}
    for paper in library.papers:
        if paper.topics:
            pinned = set(paper.topics)
            of_paper[paper.slug] = tuple(t.slug for t in topics if t.slug in pinned)
        else:
            found = {t for p in phrases_of[paper.slug] for t in phrase_index.topics_of[p]}
            matched = tuple(t.slug for t in topics if t.slug in found)
            of_paper[paper.slug] = matched or (UNSORTED_SLUG,)
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
