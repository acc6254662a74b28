"""A full sync of 20,000 products on the real stack at the default Low budget (35 calls a
minute): every product lands in `Catalog_Default`, the Low calls stay within the budget for the
time it took, orders placed while it runs reach Dotdigital's Orders before the catalogue is
through, and a second sync with nothing changed makes no import call."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.settings import CatalogueSettings, DotdigitalSettings
from tests.support.catalogue_run import (
    CATALOGUE,
    ORDERS,
    catalogue_env,
    counts,
    counts_once,
    grow,
    place_orders,
    within_budget,
)
from tests.support.cli import cartwright
from tests.support.stack import Stack, eventually, running_stack, start_cli

pytestmark = pytest.mark.integration

PRODUCTS = 20_000
LOW_PER_MINUTE = 35
# The settings' defaults: the catalogue's share of the lanes' Low calls, the leader's feed reserve.
LOW_SHARE = CatalogueSettings().low_share
FEED_RESERVE = DotdigitalSettings.model_fields["feed_reserve_per_minute"].default
BUYERS = 10


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("catalogue-scale")


@pytest.fixture(scope="module")
def stack(logs: Path) -> Iterator[Stack]:
    with running_stack(
        logs,
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="2",
        CARTWRIGHT_DOTDIGITAL__LOW_PER_MINUTE=str(LOW_PER_MINUTE),
    ) as running:
        yield running


def test_a_full_sync_of_twenty_thousand_products_lets_orders_through_first(
    stack: Stack, logs: Path
) -> None:
    total = grow(stack, PRODUCTS)
    before = counts(stack)
    started = time.monotonic()
    sync = start_cli(
        "catalogue-full", ["catalogue", "sync", "--full"], catalogue_env(stack, logs), logs
    )
    stack.processes.append(sync)

    # Orders placed once the catalogue's first records are in: the sync is under way.
    eventually(lambda: counts(stack).records(CATALOGUE) > 0, timeout=120, what="a first product")
    place_orders(stack, BUYERS)
    orders = before.records(ORDERS) + BUYERS
    landed = eventually(
        counts_once(stack, lambda now: now.records(ORDERS) >= orders),
        timeout=120,
        what="the orders placed during the sync",
    )
    # The pace spreads the catalogue over ~20 slots 7.7 s apart; the orders got in between.
    assert landed.records(CATALOGUE) < total, "the orders waited for the whole catalogue"

    done = eventually(
        counts_once(stack, lambda now: now.records(CATALOGUE) >= total),
        timeout=400,
        what="the whole catalogue",
    )
    minutes = (time.monotonic() - started) / 60
    assert sync.popen.wait(timeout=60) == 0, sync.tail()
    assert done.records(CATALOGUE) == total
    low = done.low() - before.low()
    assert within_budget(low, minutes, LOW_PER_MINUTE), f"{low} Low calls in {minutes:.1f} min"
    assert done.rate_limited == before.rate_limited
    # The catalogue spent at most its share (CATALOGUE__LOW_SHARE, 0.5) of the lanes' Low calls
    # (the account's less the leader's feed reserve), with one window's burst of that share.
    imports = done.imported(CATALOGUE) - before.imported(CATALOGUE)
    share = LOW_SHARE * (LOW_PER_MINUTE - FEED_RESERVE)
    assert within_budget(imports, minutes, share), (
        f"{imports} catalogue imports in {minutes:.1f} min"
    )

    again = counts(stack)
    code, output = cartwright(catalogue_env(stack, logs), "catalogue", "sync")

    assert code == 0, output
    assert "records sent to the batch lane 0" in output
    assert counts(stack).imported(CATALOGUE) == again.imported(CATALOGUE)
