"""Abstracts render as the literal text they were, except that bare URLs become links."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from labdigest import markup
from labdigest.markup import escape_text, render

LITERAL_CASES = [
    "Stars *like this* and _underscores_ and **bold**",
    "A leading # is not a heading",
    "# Heading-looking abstract",
    "1. Not a list",
    "2020) neither",
    "- not a bullet",
    "+ nor this",
    "> not a quote",
    "=== not a rule",
    "*** not a rule either",
    "[brackets](relative/path) stay text",
    "<b>tags</b> & entities &amp; &#x41; stay text",
    "`backticks` and ``double``",
    "Jinja {{ braces }} and {% blocks %}",
    "TeX \\alpha and 10.2\\% and a trailing backslash\\",
    "![not an image](x.png)",
    "~~not struck~~ | not | a | table",
]


@pytest.mark.parametrize("text", LITERAL_CASES)
def test_text_renders_literally(text: str) -> None:
    html = render(escape_text(text))
    soup = BeautifulSoup(html, "html.parser")
    assert soup.get_text().strip() == text
    assert [tag.name for tag in soup.find_all(True)] == ["p"]


def test_bare_urls_become_links_and_trailing_punctuation_stays_text() -> None:
    text = "Code: https://github.com/CNJianLiu/Diff9D. Page at https://indu1ge.github.io/DepthMaster_page."
    soup = BeautifulSoup(render(escape_text(text)), "html.parser")
    assert soup.get_text().strip() == text
    assert [a["href"] for a in soup.find_all("a")] == [
        "https://github.com/CNJianLiu/Diff9D",
        "https://indu1ge.github.io/DepthMaster_page",
    ]


def test_names_that_look_like_domains_do_not_become_links() -> None:
    soup = BeautifulSoup(
        render(escape_text("We ship model.py, see e.g. vis.xyz/pub/idisc")), "html.parser"
    )
    assert soup.find("a") is None


def test_script_in_an_abstract_is_text() -> None:
    text = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'
    soup = BeautifulSoup(render(escape_text(text)), "html.parser")
    assert soup.find("script") is None and soup.find("img") is None
    assert soup.get_text().strip() == text


def test_raw_html_in_a_hand_edited_body_is_not_passed_through() -> None:
    soup = BeautifulSoup(
        render("Edited <script>x()</script> body [link](javascript:alert(1))"), "html.parser"
    )
    assert soup.find("script") is None
    assert all(not a["href"].startswith("javascript:") for a in soup.find_all("a"))


# Mostly prose characters, so that many samples take the shortcut, and some of every kind
# that can make markup.
PROSE = st.text(
    alphabet=st.sampled_from(
        list("ab1. -#>+=()\"'\n\t\\`*_[]<>&!$:/w\u00a0é") + list("abc .,\n") * 4
    ),
    max_size=60,
)


def test_a_typical_abstract_takes_the_shortcut_and_renders_like_markdown_it() -> None:
    abstract = (
        'We present "DepthFM", a model (1) trained on 2.5M images, i.e., fast.\n'
        "It generalizes: 93% accuracy.\n\nSecond paragraph, project page example.org/x."
    )
    assert markup.render_plain(abstract) is not None
    assert markup.render(abstract) == markup.renderer().render(abstract)


# Prose with links: schemes, hosts, paths, and what may end or follow a URL.
LINKED_PROSE = st.lists(
    st.sampled_from(
        [
            *["https://", "http://", "HTTPS://", "github.com", "/x_y", ".", ",", ")", "(", "*"],
            *["_", "\\_", "\\*", " ", "\n", "\n\n", "word", "e.g.", "//", "www.", ":", "-"],
            *["é", "?q=1", "&", "<b>", '"', "#x", "%20", "ex.org/a.", "{x}", "`", "1. ", "$x$"],
            "~",
        ]
    ),
    max_size=14,
).map("".join)


@pytest.mark.parametrize("shortcut", [markup.render_plain, markup.render_linked])
@settings(max_examples=3000)
@given(text=PROSE | LINKED_PROSE)
def test_shortcuts_render_what_markdown_it_renders(
    shortcut: Callable[[str], str | None], text: str
) -> None:
    """Plain prose, and prose with http(s) links, rendered without markdown-it."""
    rendered = shortcut(text)
    if rendered is not None:
        assert rendered == markup.renderer().render(text)


def test_a_typical_abstract_with_links_takes_the_shortcut() -> None:
    abstract = escape_text(
        "Code: https://github.com/CNJianLiu/Diff9D. Page at https://indu1ge.github.io/"
        "DepthMaster_page. We reach 10.2% (see https://example.org/a_b?c=d)."
    )
    assert markup.render_linked(abstract) is not None
    assert markup.render(abstract) == markup.renderer().render(abstract)


@settings(max_examples=3000)
@given(LINKED_PROSE)
def test_web_link_spans_are_where_linkify_it_finds_links(text: str) -> None:
    """Ingest leaves URLs unescaped where linkify-it finds them; the shortcut that asks it
    once per link must find the same spans as its scan of the whole text."""
    spans = markup._web_link_spans(text)
    if spans is not None:
        found = markup._linkify(markup.renderer()).match(text) or []
        assert spans == [(m.index, m.last_index) for m in found]
