from __future__ import annotations

import pytest

from labdigest.slugs import (
    MAX_SLUG_LENGTH,
    arxiv_base_id,
    is_safe_slug,
    normalize_title,
    slugify,
    unique_slug,
)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("DepthMaster: Taming Diffusion Models", "depthmaster-taming-diffusion-models"),
        ("Über-Net für 3D Schrödinger", "uber-net-fur-3d-schrodinger"),
        ("../../etc/passwd", "etc-passwd"),
        ("C:\\Windows\\system32", "c-windows-system32"),
        ("/absolute/path", "absolute-path"),
        ("....", "paper"),
        ("日本語のタイトル", "paper"),
        ("CON", "con-paper"),
        ("search", "search-paper"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug
    assert is_safe_slug(slug)


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    title = "Generalizable End-to-End Deep Learning Frameworks for Real-Time Attitude Estimation Using 6DoF Inertial Measurement Units"
    slug = slugify(title)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert slug == "generalizable-end-to-end-deep-learning-frameworks-for-real-time-attitude"
    assert slugify("x" * 500) == "x" * MAX_SLUG_LENGTH


def test_unique_slug_suffixes_stay_within_the_limit() -> None:
    base = slugify("word " * 40)
    taken = {base}
    second = unique_slug(base, taken)
    assert second.endswith("-2") and len(second) <= MAX_SLUG_LENGTH
    assert unique_slug("a", {"a", "a-2"}) == "a-3"


@pytest.mark.parametrize("bad", ["", "a/b", "a\\b", "..", "a..b", "A", "-a", "a-", "a--b"])
def test_unsafe_slugs_are_refused(bad: str) -> None:
    assert not is_safe_slug(bad)


def test_normalized_titles_ignore_case_accents_and_punctuation() -> None:
    assert normalize_title("Über  Net: A Study!") == normalize_title("uber net - a study")


@pytest.mark.parametrize(
    ("raw", "base"),
    [
        ("2401.12345v2", "2401.12345"),
        ("2401.1234", "2401.1234"),
        ("hep-th/9901001v1", "hep-th/9901001"),
        ("math.GT/0309136", "math.GT/0309136"),
        ("not-an-id", None),
        ("2401.12345v", None),
    ],
)
def test_arxiv_ids(raw: str, base: str | None) -> None:
    assert arxiv_base_id(raw) == base
