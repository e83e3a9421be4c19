"""The HTML report as a person sees it: headless Chromium (Debian's, driven by Playwright) shows
the gate table and the metric chart, and the screenshot is not blank.

Playwright's own browser download is never used: the system Chromium at /usr/bin/chromium is
(`make test` installs it with apt-get when missing). Without it, the test is skipped and says why.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from indexgate.reporting.html_report import build_report
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import run_sync
from tiny import CHROMIUM, CHROMIUM_ARGS, DOCS, write_golden

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


# Pixel statistics of a PNG, computed by the browser itself (no imaging library needed).
PIXELS_JS = """async (src) => {
  const img = new Image(); img.src = src; await img.decode();
  const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  const colours = new Set(); let ink = 0, blue = 0;
  for (let i = 0; i < d.length; i += 4) {
    const [r, gr, b] = [d[i], d[i + 1], d[i + 2]];
    colours.add((r << 16) | (gr << 8) | b);
    if (r < 200 || gr < 200 || b < 200) ink++;
    if (b > 180 && r < 90 && gr > 80 && gr < 140) blue++;   // the shadow bars, #2f6fdf
  }
  return {width: c.width, height: c.height, colours: colours.size, ink: ink / (d.length / 4), blue};
}"""


def _playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`, or `make test`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is missing: pip install -e '.[test]'")
    return sync_playwright


def _sync_with_report(settings, root, golden):
    """A sync through the library's runner, then the HTML report the flow's report step writes."""
    res = resources(settings)
    plan, outcome = run_sync(res, "kb", root, golden)
    build_report(res.registry, "kb", plan.version, settings.report)
    return plan, outcome


@pytest.fixture
def report(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    golden = write_golden(tmp_path / "golden.jsonl")
    settings = load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"})
    _sync_with_report(settings, root, golden)
    (root / "ops/backups.md").write_text("# Backups\n\nBackups now run twice a day and are kept for 90 days.\n")
    plan, _ = _sync_with_report(settings, root, golden)
    return resources(settings).registry.version_dir("kb", plan.version) / "report.html"


def test_report_in_headless_chromium(report):
    sync_playwright = _playwright()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(report.as_uri())
            table, chart = page.locator("#gate-table"), page.locator("#metric-chart")
            assert table.is_visible() and chart.is_visible()
            assert table.locator("tbody tr").count() >= 20
            assert table.locator("td", has_text="integrity.point_count").is_visible()
            box = chart.bounding_box()
            assert box["width"] > 300 and box["height"] > 150
            assert chart.locator("rect.bar").count() == 10  # 5 metrics x (live, shadow)
            page.screenshot(path=str(shot), full_page=True)
            chart_png = chart.screenshot()
            blank = browser.new_page()
            stats = blank.evaluate(PIXELS_JS, "data:image/png;base64," + base64.b64encode(shot.read_bytes()).decode())
            chart_stats = blank.evaluate(PIXELS_JS, "data:image/png;base64," + base64.b64encode(chart_png).decode())
        finally:
            browser.close()
    assert stats["width"] == 1100 and stats["height"] > 900
    assert stats["colours"] > 50 and stats["ink"] > 0.01, stats      # text, tables, bars: not a blank page
    assert chart_stats["blue"] > 500, chart_stats                    # the shadow's bars are drawn
