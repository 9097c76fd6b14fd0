"""The plain-text digest reader, on the example digest and on the ways copies go wrong."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from labdigest.errors import IngestError
from labdigest.ingest import ingest
from labdigest.ingest.base import decode
from labdigest.ingest.text import parse_date_line, read


def expected_papers(text: str) -> list[tuple[str, str]]:
    """The example's papers, read independently of labdigest: after the five chrome lines
    and the date line, paragraphs alternate title, abstract."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    assert paragraphs[4] == "Mar 11"
    body = paragraphs[5:]
    return list(zip(body[0::2], body[1::2], strict=True))


def test_example_digest_gives_exactly_its_67_papers(example_digest_text: str) -> None:
    result = read(example_digest_text, "hf.txt")
    expected = expected_papers(example_digest_text)
    assert len(expected) == 67
    assert [(e.title, e.abstract) for e in result.entries] == expected
    assert result.problems == []
    assert result.date is not None and (result.date.month, result.date.day, result.date.year) == (
        3,
        11,
        None,
    )


def test_chrome_lines_are_skipped_and_the_date_line_is_read() -> None:
    text = "new\n\nSubscribe\n\nGet trending papers in your email inbox!\n\nbyAK and the research community\n\nMarch 11, 2025\n\nA Title\n\nAn abstract.\n"
    result = read(text, "d.txt")
    assert [(e.title, e.abstract) for e in result.entries] == [("A Title", "An abstract.")]
    assert result.date is not None and (result.date.year, result.date.month, result.date.day) == (
        2025,
        3,
        11,
    )
    assert result.notes == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Mar 11", (None, 3, 11)),
        ("March 11, 2025", (2025, 3, 11)),
        ("2025-03-11", (2025, 3, 11)),
        ("11 Mar 2025", (2025, 3, 11)),
        ("Sept 3", (None, 9, 3)),
    ],
)
def test_date_lines(line: str, expected: tuple[int | None, int, int]) -> None:
    hint = parse_date_line(line, 1)
    assert hint is not None and (hint.year, hint.month, hint.day) == expected


@pytest.mark.parametrize("line", ["Mar 32", "Foo 11", "2025-13-01", "Deep learning 2"])
def test_not_date_lines(line: str) -> None:
    assert parse_date_line(line, 1) is None


def test_crlf_bom_trailing_spaces_blank_runs_wrapping_and_unicode() -> None:
    raw = (
        "\ufeffnew  \r\n\r\nMar 11\r\n\r\n\r\n\r\n"
        "Über-Net: Schrödinger Bridges für 3D  \r\n\r\n"
        "We study  bridges.\r\n   Wrapped over\r\nthree lines — with ünïcödé.  \r\n\r\n\r\n"
        "Second Paper\r\n\r\nShort abstract.\r\n"
    )
    text = decode(raw.encode("utf-8"), "d.txt")
    result = read(text, "d.txt")
    assert [(e.title, e.abstract) for e in result.entries] == [
        (
            "Über-Net: Schrödinger Bridges für 3D",
            "We study bridges. Wrapped over three lines — with ünïcödé.",
        ),
        ("Second Paper", "Short abstract."),
    ]
    assert [e.line for e in result.entries] == [7, 14]


def test_title_without_abstract_is_reported_with_its_line_and_not_merged() -> None:
    text = "Mar 11\n\nFirst Title\n\nSecond Title\n\nThe abstract of the second.\n\nLast Title\n"
    result = read(text, "d.txt")
    assert [(e.title, e.abstract) for e in result.entries] == [
        ("Second Title", "The abstract of the second.")
    ]
    assert [str(p) for p in result.problems] == [
        "d.txt:3: title without an abstract, skipped: 'First Title'",
        "d.txt:9: title without an abstract, skipped: 'Last Title'",
    ]


def test_abstract_without_title_is_reported() -> None:
    text = "Mar 11\n\nA Title\n\nIts abstract.\n\nA stray abstract that lost its title.\n\nB Title\n\nB abstract.\n"
    result = read(text, "d.txt")
    assert [e.title for e in result.entries] == ["A Title", "B Title"]
    assert [str(p) for p in result.problems] == [
        "d.txt:7: abstract without a title, skipped: 'A stray abstract that lost its title.'"
    ]


def test_unknown_header_text_before_the_date_is_noted_not_silently_dropped() -> None:
    result = read("Daily digest for our lab\n\nMar 11\n\nT\n\nAbstract.\n", "d.txt")
    assert result.notes == ["line 1: skipped page header text 'Daily digest for our lab'"]
    assert len(result.entries) == 1


def test_invalid_utf8_names_the_line() -> None:
    with pytest.raises(IngestError) as error:
        decode(b"Mar 11\n\nTitle\n\nbad \xff byte\n", "d.txt")
    assert str(error.value).startswith("d.txt:5: not UTF-8 text")


def test_utf16_with_bom_is_read() -> None:
    text = decode("Mar 11\n\nT\n\nAbstract é.\n".encode("utf-16"), "d.txt")
    assert [e.abstract for e in read(text, "d.txt").entries] == ["Abstract é."]


# ---- the year of a day without one ------------------------------------------------------


def _ingest_one(
    tmp_path: Path, name: str, text: str, **kwargs: object
) -> tuple[str | None, list[str]]:
    digest = tmp_path / name
    digest.write_text(text, encoding="utf-8")
    report = ingest([digest], tmp_path / "content", today=dt.date(2026, 2, 1), **kwargs)  # type: ignore[arg-type]
    return report.files[0].date, report.files[0].notes


def test_year_from_date_option(tmp_path: Path) -> None:
    date, notes = _ingest_one(tmp_path, "d.txt", "Mar 11\n\nT\n\nA.\n", date=dt.date(2024, 3, 11))
    assert date == "2024-03-11" and notes == []


def test_year_from_file_name(tmp_path: Path) -> None:
    date, notes = _ingest_one(tmp_path, "hf-2023-03-11.txt", "Mar 11\n\nT\n\nA.\n")
    assert date == "2023-03-11"
    assert notes == ["line 1: '03-11' has no year; assumed 2023 from the file name"]


def test_year_is_the_latest_such_day_not_in_the_future(tmp_path: Path) -> None:
    date, notes = _ingest_one(tmp_path, "d.txt", "Mar 11\n\nT\n\nA.\n")  # today is 2026-02-01
    assert date == "2025-03-11"
    assert "assumed 2025-03-11" in notes[0]


def test_no_date_at_all_is_an_error_naming_the_file(tmp_path: Path) -> None:
    digest = tmp_path / "d.txt"
    digest.write_text("T\n\nA.\n", encoding="utf-8")
    report = ingest([digest], tmp_path / "content")
    assert [str(p) for p in report.problems] == [
        f"{digest}: the digest has no date line; pass --date YYYY-MM-DD"
    ]
    assert not (tmp_path / "content" / "papers").exists()
