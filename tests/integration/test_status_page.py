"""The status page in a real headless Chromium: a real worker's page after store traffic, a trace
searched through its form, and the ops token's login.

`CARTWRIGHT_SCREENSHOT=docs/status-page.png` saves the whole page (after the search) there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import faust
import httpx
import pytest
from pydantic import SecretStr
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.events import SHIPMENT_SAVED, envelope
from schemas.contract.topics import EXCEPTIONS
from streams.ops.endpoints import register_ops
from streams.ops.status_page import NOT_TRACED
from streams.runtime.metrics import Metrics
from streams.settings import KafkaSettings, Settings, WebSettings
from tests.support.accounts import CLIENT_ID
from tests.support.browser import chromium, full_page_screenshot, waiting_for
from tests.support.cli import cartwright
from tests.support.orders import PLACED, email_of, new_order, order_event
from tests.support.stack import Stack, accepted, eventually, read_topic, served

pytestmark = pytest.mark.integration

SECTIONS = ("trace", "health", "lanes", "lag", "warnings", "exceptions", "drift", "catalogue")


def expected_verdict(order: Order) -> str:
    """What the page's trace must say of `order`, placed and shipped by the test."""
    return f"order {order.increment_id} is in Dotdigital, last written"


def shipped(order: Order) -> dict[str, Any]:
    at = PLACED + timedelta(hours=20)
    shipment = order.shipment(shipment_id=order.entity_id, at=at)
    return envelope(SHIPMENT_SAVED, shipment, client_id=CLIENT_ID, at=at)


def landed(stack: Stack, order: Order) -> dict[str, Any] | None:
    return stack.dotdigital.record(email_of(order), "Orders", order.increment_id)


def batch_commands(stack: Stack) -> int:
    """The worker's own count, from `/ops/status`, to compare with what the page shows."""
    counts = httpx.get(f"{stack.worker_url}/ops/status", timeout=10).json()["counts"]
    return int(counts.get("batch.commands", 0))


def cells(driver: WebDriver, section: str, first: str) -> list[str]:
    """The texts of the row of `section`'s table whose first cell reads `first`."""
    row = driver.find_element(By.XPATH, f"//section[@id='{section}']//tr[td[1]='{first}']")
    return [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]


def test_the_page_shows_every_section_and_answers_a_trace_search(
    stack: Stack, tmp_path: Path
) -> None:
    orders = [new_order() for _ in range(4)]
    for order in orders:
        accepted(stack.deliver(order_event(order)))
    accepted(stack.deliver(shipped(orders[0])))
    # And one order the pipeline refuses, to be listed among the exceptions.
    refused = new_order("not-an-address")
    accepted(stack.deliver(order_event(refused)))
    subject = f"order {refused.increment_id}"
    read_topic(
        stack.bootstrap,
        EXCEPTIONS,
        lambda records: any(r["value"]["subject"] == subject for r in records),
        timeout=90,
    )
    for order in orders:
        eventually(partial(landed, stack, order), what=f"order {order.increment_id} in Dotdigital")
    traced = orders[0]
    # A full catalogue sync (no mapping: no attributes) for the catalogue line.
    env = {**stack.env, "CARTWRIGHT_CATALOGUE__CHECKPOINT": str(tmp_path / "catalogue.json")}
    code, synced = cartwright(env, "catalogue", "sync", "--full")
    assert code == 0, synced

    with chromium(tmp_path / "profile") as driver:
        before = batch_commands(stack)
        driver.get(f"{stack.worker_url}/ops/")
        waiting_for(driver, "health")
        after = batch_commands(stack)

        for name in SECTIONS:
            assert driver.find_element(By.ID, name).is_displayed(), name
        health = driver.find_element(By.ID, "health").text
        assert "cartwright" in health and "ok" in health
        _, commands, rejected, *latencies = cells(driver, "lanes", "batch")
        assert before <= int(commands) <= after
        assert int(rejected) >= 0
        # The lane wrote the orders just now: its recent latencies are known.
        assert all(latency != "—" for latency in latencies), latencies
        assert "waiting" in driver.find_element(By.ID, "lag").text
        listed = driver.find_element(By.ID, "exceptions").text
        assert subject in listed and "invalid_email" in listed
        catalogue = driver.find_element(By.ID, "catalogue").text
        assert "full" in catalogue and "No catalogue sync yet." not in catalogue

        box = driver.find_element(By.ID, "trace-query")
        box.clear()
        box.send_keys(f"  {traced.increment_id} ")
        driver.find_element(By.ID, "trace-submit").click()
        answer = waiting_for(driver, "trace-answer")

        assert driver.current_url.endswith(f"/ops/?trace=++{traced.increment_id}+")
        assert driver.find_element(By.ID, "trace-query").get_attribute("value") == (
            traced.increment_id
        )
        assert expected_verdict(traced) in answer.find_element(By.ID, "trace-verdict").text
        assert f"Orders record {traced.increment_id}" in " ".join(answer.text.split())
        if shot := os.environ.get("CARTWRIGHT_SCREENSHOT"):
            full_page_screenshot(driver, Path(shot))


class NoPartitions:
    """The consumer of a worker that holds nothing yet: all the login test needs of it."""

    def assignment(self) -> set[Any]:
        return set()


@contextmanager
def page_behind(token: str) -> Iterator[str]:
    """The ops pages of an app with `token` set, served from a thread of this process (the
    session's worker runs without a token, and a second worker would take its partitions)."""
    app: Any = faust.App("cartwright-login", broker="kafka://127.0.0.1:1", store="memory://")
    app.consumer = NoPartitions()
    settings = Settings(
        kafka=KafkaSettings(app_id="cartwright-login"),
        web=WebSettings(ops_token=SecretStr(token)),
    )
    register_ops(app, settings, Metrics())
    with served(app.web.web_app) as (url, _):
        yield url


def test_behind_a_token_the_page_asks_for_it_and_opens_after_login(tmp_path: Path) -> None:
    with page_behind("ops-secret") as url, chromium(tmp_path / "profile") as driver:
        assert httpx.get(f"{url}/ops/", timeout=10).status_code == 401
        driver.get(f"{url}/ops/")
        waiting_for(driver, "login")
        assert not driver.find_elements(By.ID, "health")

        driver.find_element(By.ID, "token").send_keys("not-the-token")
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        waiting_for(driver, "login-failed")
        assert not driver.find_elements(By.ID, "health")

        driver.find_element(By.ID, "token").send_keys("ops-secret")
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        health = waiting_for(driver, "health")

        assert "cartwright-login" in health.text
        assert driver.current_url == f"{url}/ops/"
        # The session lasts: the next load of the page opens without the form.
        driver.get(f"{url}/ops/?trace=000000123")
        assert NOT_TRACED in waiting_for(driver, "trace-answer").text
