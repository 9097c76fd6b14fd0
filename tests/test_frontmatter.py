"""Paper files: errors carry the line; YAML tricks are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# ---- what is written reads back as the same data ------------------------------------

TRICKY = st.text(alphabet=st.sampled_from(list("ab 1.:-#'\"%@&*!?[]{}|>~\t\r\\é")), max_size=12)
WORDS = st.sampled_from(["yes", "no", "on", "null", "~", "true", "1.5", "0x1F", "2026-03-11", ""])
VALUE = st.one_of(st.text(max_size=20), TRICKY, WORDS)
KEY = st.one_of(st.sampled_from(["title", "date", "yes", "null", "on", "a-b", "_x"]), TRICKY)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        KEY,
        st.one_of(
            VALUE,
            st.lists(VALUE, max_size=3),
            st.dictionaries(KEY, VALUE, max_size=3),
            st.lists(st.dictionaries(KEY, VALUE, min_size=1, max_size=3), max_size=3),
        ),
        max_size=6,
    )
)
def test_written_front_matter_reads_back_as_the_same_fields(fields: dict[str, Any]) -> None:
    from labdigest import frontmatter

    try:
        text = frontmatter.dump(fields.items(), "Body.")
    except yaml.YAMLError:
        return  # not writable YAML in the first place
    document = frontmatter.parse(text, PATH)
    assert document.fields == fields and document.body == "Body."
    assert list(document.key_lines) == list(fields)


def test_a_written_manifest_reads_back() -> None:
    from labdigest.content import manifest_to_text, parse_manifest
    from labdigest.models import Digest, ManifestEntry

    entries = tuple(
        ManifestEntry(f"paper-{n}", f"title:paper {n}: it's 'quoted'") for n in range(3)
    )
    digest = Digest("hf-mar-11", "2026-03-11", "digests/hf.txt", "text", entries)
    assert parse_manifest(manifest_to_text(digest), PATH) == digest
