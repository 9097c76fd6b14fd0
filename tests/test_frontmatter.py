"""Paper files: errors carry the line; YAML tricks are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdigest.content import paper_to_text, parse_paper
from labdigest.errors import ContentError

PATH = Path("content/papers/a-paper.md")
GOOD = "---\ntitle: A paper\ndate: 2026-03-11\ndigests:\n- d1\n---\n\nThe body.\n"


def error_of(text: str) -> str:
    with pytest.raises(ContentError) as error:
        parse_paper(text, PATH)
    return str(error.value)


def test_round_trip_keeps_unknown_keys_and_unicode() -> None:
    text = GOOD.replace("digests:", "reviewer: Zoë ✓\nscore: 3\ndigests:")
    paper = parse_paper(text, PATH)
    assert dict(paper.extra) == {"reviewer": "Zoë ✓", "score": 3}
    again = parse_paper(paper_to_text(paper), PATH)
    assert (again.title, again.date, again.digests, again.extra, again.body) == (
        paper.title,
        paper.date,
        paper.digests,
        paper.extra,
        paper.body,
    )


def test_yaml_syntax_error_names_the_line() -> None:
    assert error_of("---\ntitle: A\ndate: 2026-03-11\nauthors: [unclosed\n---\nBody\n").startswith(
        "content/papers/a-paper.md:4: invalid YAML"
    )


def test_missing_title_and_bad_date_name_their_lines() -> None:
    assert (
        error_of("---\ndate: 2026-03-11\n---\nx\n")
        == "content/papers/a-paper.md:1: 'title' is required and must be text"
    )
    assert (
        error_of("---\ntitle: A\ndate: March\n---\nx\n")
        == "content/papers/a-paper.md:3: 'date' is required, as YYYY-MM-DD"
    )
    assert (
        error_of("---\ntitle: A\ndate: 2026-02-30\n---\nx\n")
        == "content/papers/a-paper.md:3: 'date' is required, as YYYY-MM-DD"
    )


def test_python_tags_are_refused() -> None:
    message = error_of(
        "---\ntitle: !!python/object/apply:os.system ['echo hi']\ndate: 2026-03-11\n---\nx\n"
    )
    assert message.startswith("content/papers/a-paper.md:2: invalid YAML")


def test_duplicate_keys_are_refused() -> None:
    assert error_of("---\ntitle: A\ndate: 2026-03-11\ntitle: B\n---\nx\n") == (
        "content/papers/a-paper.md:4: duplicate key 'title' (first on line 2)"
    )


def test_alias_bombs_are_refused() -> None:
    bomb = "---\ntitle: A\ndate: 2026-03-11\na: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n---\nx\n"
    assert error_of(bomb).endswith("YAML anchors and aliases (&, *) are not allowed here")


def test_javascript_links_are_refused() -> None:
    text = GOOD.replace("digests:", "links:\n  code: javascript:alert(1)\ndigests:")
    assert (
        error_of(text)
        == "content/papers/a-paper.md:4: link 'code' must be an http:// or https:// URL"
    )


def test_unclosed_front_matter() -> None:
    assert (
        error_of("---\ntitle: A\n")
        == "content/papers/a-paper.md:1: front matter is not closed by a '---' line"
    )


def test_unsafe_file_names_are_refused() -> None:
    with pytest.raises(ContentError):
        parse_paper(GOOD, Path("content/papers/Bad Name.md"))
