"""report.html and the pictures: built from a saved results folder, opened in a real browser.

A tiny two-leg scenario (air then road, two cargo classes, a node named `<script>...`) is run
once for the module and written with `write_results`; `write_report` builds the page. The
browser tests open it in Debian's headless Chromium through Selenium with the system
chromedriver (nothing is downloaded). Chromium is installed by .ci/run: when it is missing
these tests FAIL with the install command, they do not skip.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from sim.errors import UsageError
from sim.output import write_results
from sim.report import FIGURES, REPORT, redraw, redraw_saved, write_report
from sim.runner import run

from conftest import build, scenario_raw

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
SCRIPT_NAME = "<script>alert(1)</script>"
IMG_NAME = "<img src=x onerror=alert(2)>"
TITLE = "Tiny <check> & report"

# Air 1000 nm a -> b (planes as in conftest's BASE), then trucks 100 km b -> c to the hand-over.
RAW = scenario_raw({
    "name": "tiny", "title": TITLE, "deadline_days": 4, "horizon_days": 8,
    "nodes": {"a": {"name": SCRIPT_NAME, "parking_spots": 2},
              "b": {"name": "Arrival airfield", "parking_spots": 1},
              "c": {"kind": "border_crossing", "name": "Hand-over", "lat": 49.95, "lon": 23.09, "throughput_t_per_day": 800}},
    "legs": {"bc": {"from": "b", "to": "c", "mode": "road", "distance_km": 100}},
    "routes": {"r": {"legs": ["ab", "bc"]}},
    "carriers": {"truck": {"mode": "road", "payload_t": 20, "pallet_positions": 4, "speed_kmh": 60,
                           "load_time_h": 1, "unload_time_h": 1}},
    "cargo": {"kit": {"name": IMG_NAME, "unit": "kits", "unit_weight_t": 2, "units_per_pallet": 1, "divisible": False}},
    "requirements": {"stuff": {"quantity": 400}, "kit": {"quantity": 40, "routes": ["r"], "release": [{"node": "a"}]}},
    "fleets": {"planes": {"count": 2}, "trucks": {"carrier": "truck", "count": 3, "legs": ["bc"]}},
    "uncertainty": {"travel_time_factor": {"air": {"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.3}}},
})


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder of the tiny scenario (6 replications) with its report."""
    out = tmp_path_factory.mktemp("report") / "results"
    write_results(run(build(RAW), replications=6, seed=3, jobs=1), out)
    write_report(out)
    return out


@pytest.fixture(scope="module")
def summary(results: Path) -> dict[str, Any]:
    return json.loads((results / "summary.json").read_text(encoding="utf-8"))


# --- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """Headless Debian Chromium driven by Selenium through the system chromedriver."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"the browser tests need Debian's Chromium and its driver ({', '.join(missing)} not found): {INSTALL}",
                    pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("the browser tests need selenium: pip install -e '.[test]'", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit driver path: Selenium Manager is never asked to find or download one
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver: Any, page: Path) -> list[dict[str, Any]]:
    """Open a local page and return its console log, once it and its images have loaded.

    `driver.get` returns after the page's load event (Selenium's default page-load strategy),
    which fires only when every image has loaded or failed: no clock is needed here.
    """
    driver.get_log("browser")  # drop anything left from an earlier page
    driver.get(page.resolve().as_uri())
    assert driver.execute_script(
        "return document.readyState === 'complete' && Array.from(document.images).every(i => i.complete);"), page
    return driver.get_log("browser")


def screenshot(driver: Any, path: Path) -> Path:
    """A PNG of the whole page (beyond the window), through the DevTools protocol."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def test_report_renders_in_chromium_with_verdict_and_images(browser, results, summary, tmp_path):
    log = _open(browser, results / REPORT)
    errors = [entry for entry in log if entry.get("level") == "SEVERE"]
    assert errors == [], f"console errors: {errors}"
    assert browser.title.startswith(TITLE)

    # the verdict table: one row per class, with its target, P(met) and closure date as in summary.json
    rows = browser.execute_script(
        "return Array.from(document.querySelectorAll('#verdict-table tbody tr'))"
        ".map(r => Array.from(r.cells).map(c => c.innerText));")
    assert len(rows) == len(summary["classes"]) == 2
    for row, (cls, info) in zip(rows, summary["classes"].items()):
        assert cls in row[0] and (info["name"] in row[0])
        assert f"{info['target']:,.0f} {info['unit']}" in row[1]
        assert f"{info['delivered_by_deadline']['p50']:,.0f}" in row[2]
        assert f"{100 * info['p_met']:.0f}%" in row[3]
        assert row[4] in ("likely met", "at risk", "unlikely")
        if info["closure_date"]["p50"]:
            assert time.strftime("%d %b %Y", time.strptime(info["closure_date"]["p50"], "%Y-%m-%d")) in row[5]
    overall = browser.execute_script("return document.getElementById('overall').innerText;")
    assert f"{100 * summary['all_met_probability']:.0f}%" in overall

    # every picture is embedded and decodes
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.src.slice(0, 22)]);")
    assert len(images) == len(FIGURES)
    for alt, complete, width, src in images:
        assert complete and width > 0, f"picture not loaded: {alt}"
        assert src == "data:image/png;base64,"

    shot = screenshot(browser, tmp_path / "report.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_scenario_text_is_shown_escaped_not_run(browser, results):
    _open(browser, results / REPORT)
    assert browser.execute_script("return document.scripts.length;") == 0  # the page has no script at all
    text = browser.execute_script("return document.body.innerText;")
    assert SCRIPT_NAME in text and IMG_NAME in text and TITLE in text
    # the cargo name did not become an element: every image on the page is one of the embedded pictures
    srcs = browser.execute_script("return Array.from(document.images).map(i => i.getAttribute('src').slice(0, 5));")
    assert set(srcs) == {"data:"}
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text  # no alert(1) or alert(2) ran


# --- the file itself ----------------------------------------------------------------------------


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data", "action", "background"):
                self.refs.append((tag, name, value or ""))


def test_report_is_self_contained(results):
    page = (results / REPORT).read_text(encoding="utf-8")
    parser = _Refs()
    parser.feed(page)
    assert parser.refs, "the page should have pictures and links"
    for tag, name, value in parser.refs:
        assert value.startswith(("data:image/png;base64,", "#")), f"<{tag} {name}={value[:60]!r}> is not self-contained"
    for tag in ("script", "link", "iframe", "object", "embed"):
        assert tag not in parser.tags
    assert "@import" not in page and "url(" not in page
    # scenario text is escaped in the file
    assert SCRIPT_NAME not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert IMG_NAME not in page and "&lt;img src=x onerror=alert(2)&gt;" in page


def test_redraw_gives_the_same_bytes(results, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(results, folder)
    names = {n for f in FIGURES for n in (f, f.replace(".png", ".svg"))} | {REPORT}
    first = {name: (results / name).read_bytes() for name in names}  # drawn by write_results (its own redraw)
    assert all(first[f][:8] == b"\x89PNG\r\n\x1a\n" for f in FIGURES)
    assert all(b"<svg" in first[f.replace(".png", ".svg")][:2000] for f in FIGURES)
    written = redraw(folder)
    assert {p.name for p in written} == names
    again = {p.name: p.read_bytes() for p in written}
    assert again == first
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_report_without_optional_files_and_with_bounds(results, tmp_path):
    folder = tmp_path / "partial"
    shutil.copytree(results, folder)
    for name in ("trips.csv", "scenario_resolved.json", REPORT, *FIGURES):
        (folder / name).unlink()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    summary["bounds"] = {"classes": {"stuff": {"fluid_closure_day": 1.25, "planning_factor": {"binding": "b <parking>"}}},
                         "note": "fluid LP"}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    page = write_report(folder).read_text(encoding="utf-8")
    assert "No map: scenario_resolved.json is not in this results folder" in page
    assert "trips.csv is missing or empty" in page
    assert "fluid closure day" in page and "1.25" in page and "b &lt;parking&gt;" in page and "fluid LP" in page
    assert not (folder / "network_map.png").exists()
    assert (folder / "movements.png").exists() and (folder / "movements.svg").exists()


def test_report_notes_missing_bounds(results):
    page = (results / REPORT).read_text(encoding="utf-8")
    assert "No bounds in this results folder" in page


def test_report_needs_a_results_folder(tmp_path):
    with pytest.raises(UsageError, match="not a results folder"):
        write_report(tmp_path)
    with pytest.raises(UsageError, match="no such results folder"):
        redraw(tmp_path / "absent")


def _damage_summary_date(folder: Path) -> None:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    summary["start_date"] = "nope"
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def _damage_closure_day(folder: Path) -> None:
    path = folder / "replications.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("stuff_closure_day")] = "abc"
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")


def _damage_scenario_json(folder: Path) -> None:
    (folder / "scenario_resolved.json").write_text("{", encoding="utf-8")


@pytest.mark.parametrize("damage, named", [
    (_damage_summary_date, "damaged or was edited"),
    (_damage_closure_day, "damaged or was edited"),
    (_damage_scenario_json, "scenario_resolved.json: cannot read it"),
])
def test_a_damaged_results_folder_is_a_usage_error_naming_the_folder(results, tmp_path, capsys, damage, named):
    from sim.cli import main

    folder = tmp_path / "damaged"
    shutil.copytree(results, folder)
    damage(folder)
    with pytest.raises(UsageError, match=named) as info:
        redraw_saved(folder)
    assert str(folder) in str(info.value)
    capsys.readouterr()
    assert main(["plot", str(folder)]) == 2  # sim plot: exit 2 with the message, not an internal error
    err = " ".join(capsys.readouterr().err.split())
    assert named in err and "internal error" not in err


def test_a_file_given_as_results_folder_is_named_as_a_file(tmp_path):
    path = tmp_path / "scenario.toml"
    path.write_text("name = 'x'\n", encoding="utf-8")
    with pytest.raises(UsageError, match="is a file, not a results folder"):
        redraw_saved(path)


@pytest.mark.parametrize("deadline_days", [0.001, 0.15])
def test_a_deadline_of_minutes_draws_every_picture_without_a_warning(tmp_path, deadline_days):
    """Time axes count whole dates: a horizon under a day still gets a one-day axis (not a zero-width one)."""
    from sim.cli import main

    from conftest import write_toml

    raw = scenario_raw({"requirements": {"stuff": {"quantity": 50}}}, deadline_days=deadline_days,
                       horizon_days=2 * deadline_days)
    path = write_toml(tmp_path / "short.toml", raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's identical-xlims and too-many-ticks warnings become failures
        assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert all((tmp_path / "out" / name).is_file() for name in FIGURES)


def test_sim_plot_redraws_the_same_bytes_as_sim_run(results, tmp_path):
    from sim.cli import main

    folder = tmp_path / "copy"
    shutil.copytree(results, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for name in FIGURES:
        (folder / name).unlink()
    assert main(["plot", str(folder), "--quiet"]) == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert main(["plot", str(tmp_path / "nothing")]) == 2


def test_compare_report_renders_escaped_and_self_contained(browser, tmp_path):
    from sim.cli import main

    from conftest import scenario_raw, write_toml

    small = {"requirements": {"stuff": {"quantity": 2000}}}
    a = write_toml(tmp_path / "a.toml", scenario_raw(small, name="one", title="<script>alert(3)</script>", deadline_days=10))
    b = write_toml(tmp_path / "b.toml", scenario_raw({**small, "fleets": {"planes": {"count": 2}}}, name="two", deadline_days=10))
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--out", str(out), "--quiet"]) == 0
    page = (out / "compare.html").read_text(encoding="utf-8")
    parser = _Refs()
    parser.feed(page)
    assert all(v.startswith("data:image/png;base64,") for _, _, v in parser.refs) and len(parser.refs) == 2
    assert "script" not in parser.tags and "&lt;script&gt;alert(3)&lt;/script&gt;" in page
    log = _open(browser, out / "compare.html")
    assert not [e for e in log if e.get("level") == "SEVERE"], log
    assert browser.execute_script("return Array.from(document.images).every(i => i.naturalWidth > 0);")
    text = browser.find_element("tag name", "body").text
    assert "stuff: p_met" in text and "one" in text and "two" in text
    screenshot(browser, tmp_path / "compare.png")
