"""The service's web page in headless Chromium (Debian's chromium, driven by Selenium): speak a line, run a dub
job, and photograph the page to tests/artifacts/web_page.png (look at it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dubber.service import ServiceSettings
from tests.dubber.service_server import SAMPLES, RunningService

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "tests" / "artifacts" / "web_page.png"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
# CI installs both (.ci/run): there a missing browser is a failure, not a skip.
pytestmark = pytest.mark.skipif((CHROMIUM is None or CHROMEDRIVER is None) and not os.environ.get("CI"),
                                reason="needs Debian's chromium and chromium-driver; .ci/run installs them")


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The closed network refuses Chromium's own background connections: turn them off.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--autoplay-policy=no-user-gesture-required", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def service(tmp_path):
    running = RunningService(ServiceSettings(allowed_folders=(SAMPLES,), work_dir=tmp_path / "jobs"))
    yield running
    running.stop()


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, 1)"  # as WebDriver reports a computed colour


def test_the_page_speaks_a_line_and_shows_a_dub_job(browser, service):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 120)
    browser.get(service.url + "/")
    wait.until(lambda d: len(Select(d.find_element(By.ID, "engine")).options) > 1)
    assert browser.find_element(By.ID, "tts-error").text == ""
    Select(browser.find_element(By.ID, "engine")).select_by_value("piper")
    text = browser.find_element(By.ID, "text")
    text.clear()
    text.send_keys("The boats leave at nine, so we should hurry.")
    duration = browser.find_element(By.ID, "duration")
    duration.clear()
    duration.send_keys("1.9")
    browser.find_element(By.ID, "speak").click()

    measured = wait.until(ec.presence_of_element_located((By.ID, "tts-error-ms")))
    error_ms = int(browser.find_element(By.ID, "measure").get_attribute("data-error-ms"))
    assert abs(error_ms) <= 50, measured.text
    assert measured.value_of_css_property("color") == _rgb("#2e9d4f")
    assert "target 1900 ms" in browser.find_element(By.ID, "measure").text
    # The WAV reached the page's player: it decodes to the clip the service measured.
    seconds = wait.until(lambda d: d.execute_script(
        "const p = document.getElementById('player'); return p.readyState >= 1 ? p.duration : null;"))
    assert 1.9 <= seconds <= 2.6

    browser.find_element(By.ID, "video-path").send_keys("demo.mp4")
    browser.find_element(By.ID, "subs-path").send_keys("demo.en.srt")
    browser.find_element(By.ID, "dub").click()
    wait.until(lambda d: d.find_element(By.ID, "job-state").get_attribute("data-state") in ("done", "failed"))
    assert browser.find_element(By.ID, "job-state").get_attribute("data-state") == "done", \
        browser.find_element(By.ID, "job-state").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#lines tbody tr")
    assert [row.get_attribute("data-status") for row in rows] == ["ok"] * 6
    status_cell = rows[0].find_elements(By.TAG_NAME, "td")[7]
    assert status_cell.text == "in sync" and status_cell.value_of_css_property("color") == _rgb("#2e9d4f")
    assert browser.find_element(By.ID, "result-link").get_attribute("href").endswith("/result")

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.unlink(missing_ok=True)
    assert browser.save_screenshot(str(ARTIFACT))
    assert ARTIFACT.stat().st_size > 10_000
