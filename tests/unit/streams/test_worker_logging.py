"""The worker's logging: Faust's terminal spinner is off, so the root logger stays at the level
asked for and debug calls of the libraries (aiokafka's fetcher) build no records."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from faust import Worker

from streams.app import create_app
from streams.cli.main import faust_worker
from streams.settings import Settings


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield root
    root.setLevel(level)
    root.handlers[:] = handlers


def test_at_warning_the_root_logger_stays_at_warning(root_logger: logging.Logger) -> None:
    worker = faust_worker(Worker, create_app(Settings()), "warning")
    assert worker.spinner is None

    root_logger.handlers[:] = [logging.NullHandler()]
    root_logger.setLevel(logging.WARNING)
    worker.on_setup_root_logger(root_logger, logging.WARNING)

    assert root_logger.level == logging.WARNING
    assert not logging.getLogger("aiokafka.consumer.fetcher").isEnabledFor(logging.DEBUG)
