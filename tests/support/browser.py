"""Headless Chromium from Debian's packages (`make browser`), driven through its chromedriver."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
# Given explicitly, so Selenium Manager never runs (it would try to download a driver).
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH = 1280
# This machine is offline: no sandbox for root, no GPU, and none of Chromium's own calls home
# (QUIC, component and safe-browsing updates, sync, first-run pages).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


@contextmanager
def chromium(profile: Path) -> Iterator[WebDriver]:
    """A fresh headless Chromium with its profile in `profile` (a new folder), quit on exit."""
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.fail(f"no {CHROMIUM} or {CHROMEDRIVER}: `make browser` installs them (as root)")
    profile.mkdir(parents=True, exist_ok=True)
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={WIDTH},900")
    service = Service(CHROMEDRIVER, log_output=str(profile / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def waiting_for(driver: WebDriver, element_id: str, timeout: float = 30.0) -> WebElement:
    """The element with `element_id` once the page shows it (an explicit wait with a deadline)."""
    found: WebElement = WebDriverWait(driver, timeout).until(
        expected_conditions.presence_of_element_located((By.ID, element_id))
    )
    return found


def full_page_screenshot(driver: WebDriver, path: Path) -> None:
    """The whole page, below the window's fold too, as a PNG at `path` (DevTools' own capture,
    so the page itself need not run any script)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
