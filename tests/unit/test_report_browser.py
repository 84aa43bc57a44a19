"""The HTML report in a real headless Chromium: it loads offline, without console errors,
and shows the figures computed from known records.

Runs Debian's chromium through Playwright (`executable_path`); Playwright's own browser
download is not used. Skipped, saying why, only when either is missing.
"""

from __future__ import annotations

import shutil

import pytest

from fourteenplus import report, report_html

from .scripted_calls import every_path, like_2020

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install '.[test]')")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("chromium"),
                                 reason="Debian chromium is not installed (apt-get install chromium)")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def opened(browser, tmp_path):
    """Open a report file; returns the page plus every console message, page error and request."""
    def open_report(records):
        path = tmp_path / "report.html"
        path.write_text(report_html.render(report.build(records)), encoding="utf-8")
        page = browser.new_page()
        seen = {"console": [], "errors": [], "requests": []}
        page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.on("request", lambda r: seen["requests"].append(r.url))
        page.goto(path.as_uri(), wait_until="load")
        return page, seen, path
    return open_report


def figure(page, key: str) -> str:
    return page.locator(f'[data-figure="{key}"]').inner_text()


def test_the_report_loads_with_no_console_errors_and_fetches_nothing(opened):
    page, seen, path = opened(like_2020() + list(every_path().values()))
    assert seen["console"] == [] and seen["errors"] == []
    assert seen["requests"] == [path.as_uri()]
    assert page.title().startswith("fourteenplus report")


def test_the_report_shows_the_expected_figures(opened):
    page, seen, _ = opened(like_2020())
    assert figure(page, "headline.first") == "85.0 %"
    assert [figure(page, f"total.{k}") for k in ("calls", "asked", "first", "one_repeat", "more_repeats",
                                                 "keypad", "hung_up_transfer", "time_to_transfer")] == [
        "100", "100", "85.0 %", "10.0 %", "3.0 %", "2.0 %", "5.0 %", "4.0 s"]
    assert [figure(page, f"national.{k}") for k in ("first", "one_repeat", "more_repeats", "hung_up_transfer")] == [
        "85.0 %", "10.0 %", "3.0 %", "5.0 %"]
    assert figure(page, "Koggenland.one_repeat") == "100.0 %"
    assert figure(page, "Hoorn.calls") == "44"


def test_the_charts_are_drawn_with_the_figures(opened):
    page, _, _ = opened(like_2020())
    days = page.locator("svg[aria-label='Calls per day'] g[data-day]")
    assert days.count() == 5
    assert [days.nth(i).get_attribute("data-calls") for i in range(5)] == ["20"] * 5
    bar = page.locator("svg[aria-label='Calls per day'] rect").first.bounding_box()
    assert bar["height"] > 100  # drawn, not just present in the markup
    funnel = page.locator("g[data-funnel='area 0229'] rect[data-route]")
    assert {funnel.nth(i).get_attribute("data-route"): funnel.nth(i).get_attribute("data-share")
            for i in range(funnel.count())} == {"first": "0.8500", "one_repeat": "0.1000",
                                                "more_repeats": "0.0300", "keypad": "0.0200"}
    first = page.locator("g[data-funnel='area 0229'] rect[data-route='first']").bounding_box()
    assert first["width"] == pytest.approx(560 * 0.85, abs=1)
    national = page.locator("g[data-funnel='national 2020'] rect[data-route='first']").bounding_box()
    assert national["width"] == pytest.approx(first["width"], abs=1)  # same scale as the 2020 figures


def test_an_empty_period_still_renders_cleanly(opened):
    page, seen, _ = opened([])
    assert seen["console"] == [] and seen["errors"] == []
    assert figure(page, "total.calls") == "0" and "No calls in this period." in page.content()
