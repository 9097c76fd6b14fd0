"""Property tests: round trips and slug safety hold for any text, not just the examples."""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from labdigest import frontmatter, markup
from labdigest.content import manifest_to_text, paper_to_text, parse_manifest, parse_paper
from labdigest.ingest.text import CHROME, parse_date_line, read
from labdigest.models import Digest, ManifestEntry, Paper
from labdigest.slugs import identity_key, is_safe_slug, slugify, unique_slug
from labdigest.views import plain_text

# Printable text of any script; no control characters (a digest is text, and Markdown
# turns NUL into U+FFFD by specification).
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")),
    min_size=1,
    max_size=200,
)
WORD = st.text(alphabet=string.ascii_letters + "àéîõüßçøæ日本語ñ", min_size=1, max_size=12)


def _normal(text: str) -> str:
    return " ".join(text.split())


@st.composite
def titles(draw: st.DrawFn) -> str:
    words = draw(
        st.lists(
            WORD | st.sampled_from(["3D", "C++", "<b>", "{{x}}", "*", "#", "?"]),
            min_size=1,
            max_size=15,
        )
    )
    title = " ".join(words)
    if title.casefold() in CHROME or parse_date_line(title, 1) is not None:
        title += " Networks"
    return title


@st.composite
def abstracts(draw: st.DrawFn) -> str:
    sentences = draw(st.lists(TEXT.map(_normal).filter(bool), min_size=1, max_size=5))
    return " ".join(sentences) + "."


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(titles(), abstracts()), min_size=1, max_size=8))
def test_digest_round_trip(papers: list[tuple[str, str]]) -> None:
    """Papers written as a text digest and read back give the same titles and abstracts."""
    text = "Mar 11\n\n" + "\n\n".join(f"{t}\n\n{a}" for t, a in papers) + "\n"
    result = read(text, "d.txt")
    assert result.problems == []
    assert [(e.title, e.abstract) for e in result.entries] == [
        (_normal(t), _normal(a)) for t, a in papers
    ]


@settings(max_examples=300, deadline=None)
@given(title=TEXT.map(_normal).filter(bool), abstract=TEXT, extra=TEXT)
def test_front_matter_round_trip(title: str, abstract: str, extra: str) -> None:
    """Any Unicode text survives being written to a paper file and read back, and the
    abstract renders as the literal text it was."""
    paper = Paper(
        slug="a-paper",
        title=title,
        date="2026-03-11",
        digests=("d",),
        body=markup.escape_text(abstract),
        authors=(title,),
        extra=(("note", extra),),
    )
    again = parse_paper(paper_to_text(paper), Path("a-paper.md"))
    assert (again.title, again.authors, dict(again.extra), again.body) == (
        title,
        (title,),
        {"note": extra},
        paper.body.strip(),
    )
    assert plain_text(markup.render(again.body)) == _normal(abstract)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=30))
def test_slugs_are_always_safe_and_unique(titles: list[str]) -> None:
    taken: set[str] = set()
    for title in titles:
        slug = unique_slug(slugify(title), taken)
        assert is_safe_slug(slug) and slug not in taken
        assert "/" not in slug and "\\" not in slug and ".." not in slug
        taken.add(slug)


def pyyaml_dump(data: dict[str, object]) -> str:
    """What PyYAML itself writes with the settings of frontmatter.dump_yaml."""
    import yaml

    return yaml.dump(
        data,
        Dumper=frontmatter._PlainDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            titles().map(slugify) | TEXT,
            st.one_of(
                titles().map(lambda t: identity_key(None, t)),
                st.from_regex(r"arxiv:\d{4}\.\d{4,5}(v\d)?", fullmatch=True),
                st.sampled_from(["title:12:30", "title:", "yes", "1.5", "title:a: b", "a #b"]),
                TEXT,
            ),
        ),
        max_size=6,
    )
)
def test_manifests_are_written_as_pyyaml_writes_them(entries: list[tuple[str, str]]) -> None:
    """The fast manifest writer gives PyYAML's bytes for any slugs and keys, and reads back."""
    digest = Digest(
        "d-1", "2026-03-11", "digests/d.txt", "text", tuple(ManifestEntry(*e) for e in entries)
    )
    expected = pyyaml_dump(
        {
            "id": digest.id,
            "date": digest.date,
            "source": digest.source,
            "format": digest.format,
            "papers": [{"slug": s, "key": k} for s, k in entries],
        }
    )
    assert manifest_to_text(digest) == expected
    assert parse_manifest(expected, Path("d.yml")).papers == digest.papers


FIELD_VALUES = st.one_of(
    TEXT,
    titles(),
    st.integers(),
    st.booleans(),
    st.none(),
    st.sampled_from(["2026-03-11", "2501.08123", "...x", "- x", "a: b", "it's", " x", "#x", "1e3"]),
    st.lists(TEXT | titles(), max_size=4),
    st.dictionaries(st.sampled_from(["code", "pdf", "Code", "a b"]), TEXT, max_size=3),
)


@given(st.text(alphabet=st.sampled_from("ab &<>\"'\n\r\t;#é"), max_size=30) | st.text())
def test_feed_escaping_is_the_standard_library_s(text: str) -> None:
    """Feeds escape with their own two functions (xml.sax.saxutils costs 30 ms of every
    start-up); they must write what the standard library writes."""
    from xml.sax.saxutils import escape, quoteattr

    from labdigest import feeds

    assert feeds.escape(text) == escape(text)
    assert feeds.quoteattr(text) == quoteattr(text)


@given(st.text(alphabet=st.characters(max_codepoint=127)) | TEXT)
def test_ascii_words_fold_only_text_that_is_not_ascii(text: str) -> None:
    """Citation keys and slugs are made of a text's ASCII words; ASCII text is taken as it
    is, without folding: the same words as folding every text gives."""
    import re
    import unicodedata

    from labdigest.slugs import ascii_words

    for sample in (text, text.encode("ascii", "ignore").decode("ascii")):
        folded = unicodedata.normalize("NFKD", sample).encode("ascii", "ignore").decode()
        assert ascii_words(sample) == re.findall(r"[a-z0-9]+", folded.lower())


@given(st.text(alphabet=st.characters(max_codepoint=127)) | TEXT)
def test_the_words_of_a_text_are_those_the_word_pattern_finds(text: str) -> None:
    """Topic phrases are matched on words split out of ASCII text without a regex: the
    same words as the regex finds, in any text, ASCII or not."""
    import re

    from labdigest.topics import words_of

    assert words_of(text) == re.findall(r"\w+", text)
    assert words_of(text.lower()) == re.findall(r"\w+", text.lower())
