"""Abstracts render as the literal text they were, except that bare URLs become links."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

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
