"""The search page as a reader meets it, in Chromium: it holds still while it loads, on
a wide screen and on a phone, light and dark; it works by keyboard; on a phone the
filters are one control above the results; results read like the other pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labdigest.serve import serve_in_background
from test_extras import AXE
from test_search import wait_until

pytestmark = pytest.mark.browser

WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}
# Layout shifts as Chrome reports them (the Cumulative Layout Shift of Web Vitals),
# recorded from the first paint on.
RECORD_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts.push(entry.value);
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.fixture(scope="module")
def url(example_public: Path) -> Iterator[str]:
    server, address = serve_in_background(example_public, "/")
    yield address
    server.shutdown()


def open_search(browser: Any, address: str, **options: Any) -> tuple[Any, Any]:
    context = browser.new_context(**options)
    context.add_init_script(RECORD_SHIFTS)
    page = context.new_page()
    page.goto(address)
    wait_until(page, "document.documentElement.dataset.firstResultsMs")
    return context, page


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1280px", "375px"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_holds_still_while_a_search_loads(
    browser: Any, url: str, viewport: dict[str, int], scheme: str
) -> None:
    context, page = open_search(
        browser, f"{url}search/?q=depth", viewport=viewport, color_scheme=scheme
    )
    page.wait_for_load_state("networkidle")
    wait_until(page, "document.querySelectorAll('#search-results li.result').length === 10")
    wait_until(page, "document.getElementById('search').dataset.counts === 'complete'")
    shift = page.evaluate("window.__shifts.reduce((a, b) => a + b, 0)")
    context.close()
    assert shift <= 0.02


def test_ticking_a_filter_with_space_keeps_the_focus_on_it(browser: Any, url: str) -> None:
    context, page = open_search(browser, f"{url}search/?q=depth", viewport=WIDE)
    boxes = page.locator("#facet-topic input")
    boxes.nth(0).focus()
    page.keyboard.press("Space")
    wait_until(page, "location.search.includes('topic=')")
    wait_until(page, "document.getElementById('search-status').textContent.startsWith('12 ')")
    focused = page.evaluate("[document.activeElement.name, document.activeElement.value]")
    assert focused == ["topic", boxes.nth(0).get_attribute("value")]
    assert boxes.nth(0).is_checked()
    page.keyboard.press("Tab")  # on to the next value, not back to the first
    assert page.evaluate("document.activeElement.value") == boxes.nth(1).get_attribute("value")
    context.close()


def test_show_more_moves_the_focus_to_the_first_new_result(browser: Any, url: str) -> None:
    context, page = open_search(browser, f"{url}search/?q=model", viewport=WIDE)
    more = page.locator("#search-results li.more button")
    more.focus()
    page.keyboard.press("Enter")
    wait_until(page, "document.querySelectorAll('#search-results li.result').length > 10")
    eleventh = page.locator("#search-results li.result").nth(10).locator("a")
    assert page.evaluate("document.activeElement.getAttribute('href')") == eleventh.get_attribute(
        "href"
    )
    context.close()


def test_on_a_phone_the_filters_open_from_one_control_above_the_results(
    browser: Any, url: str
) -> None:
    context, page = open_search(browser, f"{url}search/?q=depth", viewport=PHONE)
    toggle = page.locator(".filters-toggle")
    filters = page.locator("#search-filters")
    assert toggle.is_visible() and not filters.is_visible()
    toggle_box = toggle.bounding_box()
    first_result = page.locator("#search-results li.result").first.bounding_box()
    assert toggle_box["y"] < first_result["y"] < 667
    toggle.click()
    assert filters.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    page.locator("#facet-year input").first.check()
    wait_until(page, "location.search.includes('year=')")
    assert toggle.inner_text() == "Filters (1)"
    if AXE.is_file():  # the open filters too have no accessibility violation
        page.evaluate(AXE.read_text(encoding="utf-8"))
        found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")["violations"]
        assert [v["id"] for v in found] == []
    context.close()
    context, page = open_search(browser, f"{url}search/?q=depth", viewport=WIDE)
    assert not page.locator(".filters-toggle").is_visible()
    assert page.locator("#search-filters").is_visible()
    context.close()


def test_results_read_like_the_other_pages(browser: Any, url: str) -> None:
    """Dates as every other page writes them, excerpts that say where they were cut, and
    filter values no result has cannot be ticked."""
    context, page = open_search(browser, f"{url}search/?q=depth", viewport=WIDE)
    wait_until(page, "document.querySelectorAll('#search-results li.result').length === 10")
    wait_until(page, "document.getElementById('search').dataset.counts === 'complete'")
    dates = [m.split(" · ")[0] for m in page.locator(".result .card-meta").all_inner_texts()]
    assert dates and all(re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}", d) for d in dates)
    excerpts = page.locator(".result .excerpt").all_inner_texts()
    assert excerpts and all(e.rstrip().endswith(("…", ".", "!", "?")) for e in excerpts)
    assert any(e.rstrip().endswith("…") for e in excerpts)
    options = page.evaluate(
        """[...document.querySelectorAll("#facet-topic input")].map((box) => [box.disabled,
            Number(box.parentElement.querySelector(".count").textContent)])"""
    )
    assert any(count == 0 for _, count in options)
    assert all(disabled == (count == 0) for disabled, count in options)
    context.close()


def test_the_two_search_forms_are_landmarks_labelled_apart(browser: Any, url: str) -> None:
    context, page = open_search(browser, f"{url}search/?q=depth", viewport=WIDE)
    labels = page.evaluate(
        "[...document.querySelectorAll('[role=search]')].map((f) => f.getAttribute('aria-label'))"
    )
    context.close()
    assert len(labels) == 2 and len(set(labels)) == 2 and all(labels)
