"""BibTeX for every paper: arXiv's @misc form when the id is known (eprint,
archivePrefix, primaryClass), a plain @misc with the page's URL otherwise."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from labdigest.models import Paper
from labdigest.slugs import ascii_words

# Words that make a poor key: "the2025a" says nothing.
_KEY_STOP = frozenset(
    {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards", "via"}
)
_SPECIAL = re.compile(r"([{}%&#_$~^\\])")
_REPLACEMENTS = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape(text: str) -> str:
    """Text safe inside a braced BibTeX value: balanced, and no command can be formed."""
    return _SPECIAL.sub(lambda m: _REPLACEMENTS.get(m.group(1), "\\" + m.group(1)), text)


def year_of(paper: Paper) -> str:
    """The year it was first put on arXiv when the id says so (2501.xxxxx → 2025)."""
    if paper.arxiv and _NEW_ID.match(paper.arxiv):
        return f"20{paper.arxiv[:2]}"
    if paper.arxiv and (match := _OLD_ID.search(paper.arxiv)):
        century = "19" if int(match.group(1)) > 90 else "20"
        return century + match.group(1)
    return paper.date[:4]


_NEW_ID = re.compile(r"\d{4}\.")  # 2501.01234
_OLD_ID = re.compile(r"/(\d{2})\d{5}$")  # math/0501001


def base_key(paper: Paper) -> str:
    author_words = ascii_words(paper.authors[0]) if paper.authors else []
    author = author_words[-1] if author_words else "anon"
    word = next((w for w in ascii_words(paper.title) if w not in _KEY_STOP), "paper")
    return f"{author}{year_of(paper)}{word}"


def citation_keys(papers: Iterable[Paper], base_keys: Mapping[str, str]) -> dict[str, str]:
    """slug → key, from slug → base_key. Papers that would share a key each get a suffix
    from their own slug, so a key never depends on the order papers arrived in."""
    by_key: dict[str, list[Paper]] = defaultdict(list)
    for paper in papers:
        by_key[base_keys[paper.slug]].append(paper)
    keys = {}
    for key, group in by_key.items():
        for paper in group:
            suffix = hashlib.sha1(paper.slug.encode()).hexdigest()[:4] if len(group) > 1 else ""
            keys[paper.slug] = key + suffix
    return keys


def bibtex(paper: Paper, key: str, page_url: str) -> str:
    extra = dict(paper.extra)
    fields = [("title", "{" + escape(paper.title) + "}")]  # double braces keep its case
    if paper.authors:
        fields.append(("author", " and ".join(escape(a) for a in paper.authors)))
    fields.append(("year", year_of(paper)))
    if paper.arxiv:
        fields.append(("eprint", paper.arxiv))
        fields.append(("archivePrefix", "arXiv"))
        primary = extra.get("primary_category") or str(extra.get("categories", "")).split(" ")[0]
        if primary:
            fields.append(("primaryClass", escape(str(primary))))
        fields.append(("url", f"https://arxiv.org/abs/{paper.arxiv}"))
    else:
        fields.append(("howpublished", "\\url{" + page_url + "}"))
        fields.append(("url", page_url))
    if doi := extra.get("doi"):
        fields.append(("doi", escape(str(doi))))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"
