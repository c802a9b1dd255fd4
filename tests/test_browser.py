"""A job watched the way a person would: luigid's API and web UI, and _report.html, in Chromium.

The tests start their own luigid on a free loopback port, run WordCount
against it, then check the scheduler's JSON API and load the visualiser and
the job report in headless Chromium (Debian's ``chromium`` and
``chromedriver``, driven by Selenium; nothing is downloaded at run time).
Screenshots are saved in ``$MR_LUIGI_ARTIFACTS`` (default
``tests/artifacts/``). Without Chromium the tests are skipped, except under
CI, where its absence is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import under_ci
from tests.services import CLIENT_CFG, Luigid, api

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("MR_LUIGI_ARTIFACTS", REPO / "tests" / "artifacts"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:  # pragma: no cover - selenium is in the test extra
    webdriver = None

_missing = [name for name, found in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER), ("selenium", webdriver)) if not found]
_skip_without_tools = pytest.mark.skipif(bool(_missing), reason=f"not installed: {', '.join(_missing)}")


def test_the_browser_tools_are_installed():
    """One clear failure under CI when Chromium is missing (the other browser tests are skipped then)."""
    if _missing and not under_ci():
        pytest.skip(f"not installed: {', '.join(_missing)}")
    assert not _missing, f"browser tests need {', '.join(_missing)} (the README's test command installs them; it needs root)"

R = 3  # reduce partitions of the test job


@pytest.fixture(scope="module")
def luigid(tmp_path_factory):
    daemon = Luigid(tmp_path_factory.mktemp("luigid"))
    daemon.wait_ready()
    yield {"base": daemon.base, "port": daemon.port}
    daemon.stop()


@pytest.fixture(scope="module")
def job(luigid, tmp_path_factory):
    """WordCount run against the test luigid; returns its output folder and manifest."""
    folder = tmp_path_factory.mktemp("job")
    for i in range(3):
        (folder / "in").mkdir(exist_ok=True)
        (folder / "in" / f"t{i}.txt").write_text("".join(f"the quick fox {j % 50} jumps\n" for j in range(2000)))
    (folder / "job.toml").write_text(f"split_size_mb = 0.02\nnum_reduce_tasks = {R}\n")
    (folder / "client.cfg").write_text(CLIENT_CFG)
    env = dict(os.environ, LUIGI_CONFIG_PATH=str(folder / "client.cfg"))
    cmd = [str(Path(sys.executable).parent / "luigi"), "--module", "pipelines.word_count", "WordCount",
           "--config", str(folder / "job.toml"), "--input", str(folder / "in"), "--output-dir", str(folder / "out"),
           "--scheduler-host", "127.0.0.1", "--scheduler-port", str(luigid["port"]), "--workers", "2"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((folder / "out" / "_SUCCESS").read_text())
    return {"out": folder / "out", "manifest": manifest}


@pytest.fixture
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Chromium's profile and its lock socket go to a folder of the test's own, removed after it, not loose in /tmp.
    # A short path: a Unix socket's path must fit in 108 bytes, which a pytest tmp_path may not.
    scratch = tempfile.mkdtemp(prefix="mrl-chromium-")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                f"--user-data-dir={scratch}/profile"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    service = Service(CHROMEDRIVER, env={**os.environ, "TMPDIR": scratch})
    try:
        driver = webdriver.Chrome(service=service, options=options)
        yield driver
        driver.quit()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def job_tasks(luigid: dict, manifest: dict, status: str) -> dict:
    digest = manifest["job_id"].rsplit("-", 1)[1]
    return {tid: t for tid, t in api(luigid["base"], "task_list", {"status": status}).items()
            if digest[:5] in tid or tid.startswith("WordCount")}


@_skip_without_tools
def test_the_scheduler_lists_every_task_done_with_its_status(luigid, job):
    manifest = job["manifest"]
    maps = manifest["task_counts"]["map"]
    assert maps >= 3
    done = job_tasks(luigid, manifest, "DONE")
    families = sorted(task["name"] for task in done.values())
    expected = sorted(["WordCount"] + ["mr_luigi.MapBarrier"] + ["mr_luigi.MapTask"] * maps
                      + ["mr_luigi.ShuffleTask"] * R + ["mr_luigi.ReduceTask"] * R)
    assert families == expected
    for tid, task in done.items():
        if task["name"] in ("mr_luigi.MapTask", "mr_luigi.ShuffleTask", "mr_luigi.ReduceTask"):
            assert task["progress_percentage"] == 100, tid
            assert "word_count" in task["status_message"] and "done in" in task["status_message"], task["status_message"]
    for status in ("PENDING", "RUNNING", "FAILED"):
        assert not job_tasks(luigid, manifest, status), status


@_skip_without_tools
def test_the_visualiser_shows_the_tasks_done(luigid, job, browser):
    manifest = job["manifest"]
    total = 1 + 1 + manifest["task_counts"]["map"] + 2 * R
    browser.get(f"{luigid['base']}/static/visualiser/index.html")
    deadline = time.monotonic() + 90  # a deadline for a hang, generous for a busy machine
    while True:
        done_box = browser.find_element("id", "DONE_info").text
        rows = [row.text for row in browser.find_elements("css selector", "#taskTable tbody tr")]
        if str(total) in done_box.split() and any("mr_luigi.MapTask" in r for r in rows):
            break
        assert time.monotonic() < deadline, f"visualiser shows {done_box!r}, rows {rows[:3]}"
        time.sleep(0.3)
    assert all(row.startswith("DONE") for row in rows)
    browser.save_screenshot(str(ARTIFACTS / "visualiser.png"))


@_skip_without_tools
def test_the_report_page_has_a_bar_per_task(job, browser):
    manifest = job["manifest"]
    browser.get((job["out"] / "_report.html").as_uri())
    bars = browser.execute_script("return Array.from(document.querySelectorAll('svg.timeline rect.task'), r => r.dataset.task)")
    assert sorted(bars) == sorted(t["task"] for t in manifest["tasks"])
    widths = browser.execute_script("return Array.from(document.querySelectorAll('svg.timeline rect.task'), r => r.getBBox().width)")
    assert all(w >= 1 for w in widths), "every bar is drawn"
    partitions = browser.execute_script("return document.querySelectorAll('svg.bars rect.partition').length")
    assert partitions == 2 * R
    browser.save_screenshot(str(ARTIFACTS / "report.png"))
