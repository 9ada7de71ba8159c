"""The service's web pages in headless Chromium (Debian's chromium, driven by Selenium): speak a line, run a dub
job from uploads, and photograph the page to tests/artifacts/web_page.png (look at it); /docs with a token,
offline; and a hostile page on another loopback port whose sandboxed frame posts a form to /dub."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from dubber.service.app import ServiceSettings
from tests.dubber.service.service_server import SAMPLES, RunningService, make_clip

ROOT = Path(__file__).resolve().parents[3]
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
    with RunningService(ServiceSettings(allowed_folders=(SAMPLES,), work_dir=tmp_path / "jobs")) as running:
        yield running


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

    # Uploads: the page's multipart form carries the header a plain form cannot.
    browser.find_element(By.ID, "video-file").send_keys(str(SAMPLES / "demo.mp4"))
    browser.find_element(By.ID, "subs-file").send_keys(str(SAMPLES / "demo.en.srt"))
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


def test_the_docs_page_works_offline_with_a_token(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    token = "docs-token-for-the-browser-01"
    running = RunningService(ServiceSettings(allowed_folders=(SAMPLES,), work_dir=tmp_path / "jobs", token=token))
    try:
        wait = WebDriverWait(browser, 30)
        browser.get(f"{running.url}/docs?token={token}")  # the schema is read with the token: its operations show
        limits = wait.until(lambda d: d.find_elements(By.ID, "operations-default-limits_limits_get"))[0]
        limits.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(lambda d: limits.find_elements(By.CSS_SELECTOR, ".try-out__btn"))[0].click()
        wait.until(lambda d: limits.find_elements(By.CSS_SELECTOR, ".execute"))[0].click()
        status = wait.until(lambda d: limits.find_elements(By.CSS_SELECTOR,
                                                           ".live-responses-table tbody .response-col_status"))
        assert status[0].text == "200"  # "Try it out" sent the token too
        assert '"queue_size": 8' in limits.find_element(By.CSS_SELECTOR, ".live-responses-table").text
    finally:
        running.stop()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_a_sandboxed_frame_on_another_port_cannot_start_a_job(browser, tmp_path):
    """A page elsewhere (here: another loopback port) frames a sandboxed document (Origin: null) whose form
    posts itself to /dub on load, as any web page the user visits could."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    make_clip(allowed, [(400, 1900, "The boats leave at nine.")], video_ms=2000)
    running = RunningService(ServiceSettings(allowed_folders=(allowed,), work_dir=tmp_path / "jobs"))
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text('<iframe id="frame" sandbox="allow-forms allow-scripts" src="/frame.html">'
                                     '</iframe>', encoding="utf-8")
    (site / "frame.html").write_text(
        f'<form id="f" method="post" enctype="multipart/form-data" action="{running.url}/dub">'
        '<input name="video" value="clip.mp4"><input name="subtitles" value="clip.srt"><input name="mix" '
        'value="replace"></form><script>document.getElementById("f").submit()</script>', encoding="utf-8")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        browser.switch_to.frame(browser.find_element(By.ID, "frame"))
        # The frame shows the service's answer to the form once it has posted.
        answer = WebDriverWait(browser, 30).until(lambda d: "error" in d.find_element(By.TAG_NAME, "body").text
                                                  or '"id"' in d.find_element(By.TAG_NAME, "body").text
                                                  and d.find_element(By.TAG_NAME, "body").text)
        assert "ForbiddenOrigin" in browser.find_element(By.TAG_NAME, "body").text, answer
        assert running.queue.jobs() == []
        assert list((tmp_path / "jobs").iterdir()) == []
        assert sorted(path.name for path in allowed.iterdir()) == ["clip.mp4", "clip.srt"]
    finally:
        server.shutdown()
        server.server_close()
        running.stop()
