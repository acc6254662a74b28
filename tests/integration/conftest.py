"""One real stack per test session: Tansu broker, Dotdigital sandbox, key host and a worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import FIRST_ORDER_PROGRAM, ORDER_FULFILLED_PROGRAM, Stack, running_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("stack-logs"),
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5",
        # Short enough that the fault tests' slow answers become client timeouts.
        CARTWRIGHT_DOTDIGITAL__TIMEOUT="3",
        CARTWRIGHT_PROGRAMS__ORDER_FULFILLED=str(ORDER_FULFILLED_PROGRAM),
        CARTWRIGHT_PROGRAMS__FIRST_ORDER=str(FIRST_ORDER_PROGRAM),
    ) as running:
        running.dotdigital.admin(
            "programs",
            {"programs": {str(ORDER_FULFILLED_PROGRAM): True, str(FIRST_ORDER_PROGRAM): True}},
        )
        yield running
