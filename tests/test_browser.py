"""The web app driven in a real browser (Debian's chromium, headless, through
Playwright): load the baseline, change reablement places, run 3 short replications
and check the headline against the run folder's summary.json; compare with D2A and
check bed days saved against comparison.csv; upload a broken YAML and see its one-line
error; download the report. Screenshots of every page go to ``$D2ASIM_SCREENSHOTS``
(default: the test's temporary folder).

Skipped, saying why, only when chromium or Playwright is absent (``.ci/run`` installs both).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from d2asim.metrics.registry import describe

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 120_000

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="chromium is not installed (apt-get install chromium)"),
    pytest.mark.slow,
]
playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="playwright is not installed (pip install playwright)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "d2asim", "app", "--port", str(port), "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        first = process.stdout.readline() if process.stdout else ""
        assert first.startswith(f"d2asim app: http://127.0.0.1:{port}"), first
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("D2ASIM_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.goto(server)
        tab.get_by_text("What it models").wait_for()
        yield tab
        browser.close()


def _go(page: Any, name: str, ready: str) -> None:
    """Open the page ``name`` and wait for its text ``ready`` (then at the top, settled)."""
    page.locator("[data-testid=stSidebar]").get_by_text(name, exact=True).click()
    page.get_by_role("heading", name=name, exact=True).first.wait_for()
    page.get_by_text(ready).first.wait_for()
    page.wait_for_timeout(800)
    page.get_by_role("heading", name=name, exact=True).first.scroll_into_view_if_needed()


def _set_number(page: Any, label: str, value: float) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(400)


def _download(page: Any, button: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=button, exact=True).click()
    return Path(info.value.path()).read_bytes()


def _zip_file(archive: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        member = next(n for n in z.namelist() if n.split("/", 1)[1] == name)
        return z.read(member)


def test_a_planner_runs_compares_uploads_and_downloads(page: Any, shots: Path) -> None:
    started = time.time()
    page.screenshot(path=str(shots / "1-home.png"))
    _go(page, "Scenario", "A bundled scenario")
    page.get_by_role("button", name="Load bundled scenario").click()
    page.get_by_text("Key levers").wait_for()
    _set_number(page, "services.p1.capacity", 80)
    page.get_by_text("run (5 inputs)").click()
    _set_number(page, "run.warmup_days", 30)
    _set_number(page, "run.duration_days", 60)
    page.get_by_text("Download as an option file").wait_for()
    page.screenshot(path=str(shots / "2-scenario-edited.png"))
    assert page.get_by_role("button", name="Download as an option file (extends: + only the changes)").is_visible()
    option = _download(page, "Download as an option file (extends: + only the changes)").decode()
    assert "extends: baseline.yaml" in option and "capacity: 80" in option and "duration_days: 60" in option

    _go(page, "Run", "Replications")
    _set_number(page, "Replications", 3)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Headline results").wait_for()
    page.screenshot(path=str(shots / "3-run-results.png"))
    summary = json.loads(_zip_file(_download(page, "run folder (.zip)"), "summary.json"))
    assert summary["replications"] == 3
    metrics = summary["metrics"]
    for key in ("delayed_bed_days", "dtoc_rate_per_100k_adults"):
        m, e = describe(key), metrics[key]
        shown = (f"{m.label}: {m.text(e['mean'])} {m.unit} on average (95% CI {m.text(e['ci_low'])} to "
                 f"{m.text(e['ci_high'])})")
        assert page.get_by_text(shown).count() == 1, shown
    report = _download(page, "report.html").decode()
    assert report.startswith("<!DOCTYPE html>") or "<html" in report[:200]
    assert summary["scenario"] in report

    _go(page, "Compare options", "Options (bundled option files")
    page.locator("[data-testid=stMultiSelect]").click()
    page.get_by_text("d2a.yaml", exact=True).click()
    page.keyboard.press("Escape")
    assert page.locator("[data-testid=stMultiSelect]").inner_text().count(".yaml") == 1
    _set_number(page, "Replications", 3)
    page.get_by_role("button", name="Compare", exact=True).click()
    page.get_by_text("Options side by side").wait_for()
    page.screenshot(path=str(shots / "4-compare.png"))
    comparison = pd.read_csv(io.BytesIO(_zip_file(_download(page, "run folder (.zip)"), "comparison.csv")))
    saved = comparison[(comparison["metric"] == "bed_days_saved") & (comparison["option"] == "d2a")].iloc[0]
    m = describe("bed_days_saved")
    words = "distinguishable from zero" if saved["distinguishable"] else "not distinguishable from zero"
    shown = (f"d2a saves {m.text(saved['difference'])} acute bed days (95% CI {m.text(saved['ci_low'])} to "
             f"{m.text(saved['ci_high'])}): {words}.")
    assert page.get_by_text(shown).count() == 1, shown

    _go(page, "Sweep and capacity", "Capacity needed")
    page.screenshot(path=str(shots / "5-sweep-and-capacity.png"))

    _go(page, "Scenario", "Your own file")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "broken.yaml", "mimeType": "text/yaml", "buffer": b"name: broken\narrivals: [1, 2\n"}])
    page.get_by_role("button", name="Load uploaded scenario").click()
    error = page.get_by_text("error: broken.yaml: YAML syntax error")
    error.wait_for()
    assert len(error.inner_text().strip().splitlines()) == 1
    assert "/tmp" not in error.inner_text() and "Traceback" not in page.content()
    page.screenshot(path=str(shots / "6-upload-error.png"))
    print(f"browser test: {time.time() - started:.0f} s after the page opened")  # budget: 3 minutes in all
