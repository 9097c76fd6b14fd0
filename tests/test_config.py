from __future__ import annotations

from pathlib import Path

import pytest

from labdigest.config import load, parse
from labdigest.errors import ConfigError

PATH = Path("site.toml")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as error:
        parse(text, PATH)
    return str(error.value)


def test_the_shipped_site_toml_is_valid_and_has_real_topics() -> None:
    config = load(Path(__file__).resolve().parent.parent / "site.toml")
    assert config.base_url == "/"
    assert len(config.topics) >= 6


def test_unknown_key_names_key_and_line() -> None:
    text = '[site]\ntitle = "x"\nbase_ur = "/"\n'
    assert (
        error_of(text)
        == "site.toml:3: unknown key 'base_ur' in [site] (known keys: base_url, description, language, per_page, scholar_tags, title, url)"
    )


def test_unknown_key_in_the_second_topic() -> None:
    text = '[[topics]]\nslug = "a"\nname = "A"\n\n[[topics]]\nslug = "b"\nname = "B"\nmatches = ["x"]\n'
    assert (
        error_of(text)
        == "site.toml:8: unknown key 'matches' in [topics] (known keys: description, match, name, slug)"
    )


def test_unknown_table() -> None:
    assert error_of('[sight]\ntitle = "x"\n') == "site.toml:1: unknown key 'sight'"


def test_invalid_toml_names_the_line() -> None:
    assert error_of('[site]\ntitle = "x\n').startswith("site.toml:2: invalid TOML")


def test_bad_topic_values() -> None:
    assert error_of('[[topics]]\nslug = "Bad Slug"\nname = "A"\n') == (
        "site.toml:2: topic 'slug' must be lowercase letters, digits and single hyphens"
    )
    assert error_of('[[topics]]\nslug = "a"\nname = "A"\nmatch = "depth"\n') == (
        "site.toml:4: topic 'a': 'match' must be a list of non-empty phrases"
    )
    assert error_of('[[topics]]\nslug = "a"\nname = "A"\n[[topics]]\nslug = "a"\nname = "B"\n') == (
        "site.toml:5: topic slug 'a' is used twice"
    )
    assert "reserved" in error_of('[[topics]]\nslug = "unsorted"\nname = "U"\n')


@pytest.mark.parametrize(
    ("given", "normalized"),
    [("/digest", "/digest/"), ("https://lab.org/d", "https://lab.org/d/"), ("/", "/")],
)
def test_base_url_is_normalized(given: str, normalized: str) -> None:
    assert parse(f'[site]\nbase_url = "{given}"\n', PATH).base_url == normalized


@pytest.mark.parametrize("bad", ["digest/", "javascript:alert(1)", "/a b/", '/a"b/'])
def test_bad_base_url(bad: str) -> None:
    assert error_of(f"[site]\nbase_url = '{bad}'\n").startswith("site.toml:2: base_url")


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as error:
        load(Path("/nonexistent/site.toml"))
    assert (
        str(error.value) == "/nonexistent/site.toml: site settings not found (pass --config FILE)"
    )


@pytest.mark.parametrize("value", ["0", "-5", '"ten"', "2.5", "true"])
def test_per_page_must_be_a_positive_whole_number(value: str) -> None:
    text = f'[site]\ntitle = "x"\nper_page = {value}\n'
    assert error_of(text) == (
        "site.toml:3: [site] per_page must be a whole number of papers, 1 or more"
    )
