"""Headless Chromium (Debian's chromium + chromedriver) driven by selenium 4 for the pages.

``browser(*extra_args)`` opens a fresh Chromium with its own profile directory and closes it
at teardown; console messages are collected so a test can assert the page logged no error
(CSP violations and uncaught exceptions arrive there as SEVERE)."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import ARTIFACTS, scaled

CHROMEDRIVER = Path("/usr/bin/chromedriver")
BASE_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,1000",
    "--autoplay-policy=no-user-gesture-required",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMEDRIVER.exists():
        return
    skip = pytest.mark.skip(reason="no /usr/bin/chromedriver (apt-get install chromium-driver)")
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture
def browser() -> Iterator[Callable[..., Any]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers: list[tuple[Any, str]] = []

    def open_browser(*extra_args: str) -> Any:
        profile = tempfile.mkdtemp(prefix="voicebot-chromium-")
        options = webdriver.ChromeOptions()
        for arg in (*BASE_ARGS, f"--user-data-dir={profile}", *extra_args):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
        driver.set_page_load_timeout(scaled(30))
        drivers.append((driver, profile))
        return driver

    yield open_browser
    for driver, profile in drivers:
        try:
            driver.quit()
        finally:
            shutil.rmtree(profile, ignore_errors=True)


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str, poll_s: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    last_exc: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # stale elements etc. while the page re-renders
            last_exc = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:.1f}s waiting for {what}"
                                 + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(poll_s)


def console_errors(driver: Any) -> list[str]:
    """SEVERE console entries so far (favicon 404s are not the page's fault)."""
    return [e["message"] for e in driver.get_log("browser")
            if e.get("level") == "SEVERE" and "favicon.ico" not in e.get("message", "")]


def screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path
