"""Topics are created with their configs: incident topics expire, the cursors topic compacts."""

from __future__ import annotations

from schemas.contract.topics import CURSORS, DEADLETTER, EXCEPTIONS, ORDERS, RAW
from streams.runtime.topics import topic_configs


def test_dead_letters_and_exceptions_expire_after_the_retention_days() -> None:
    thirty_days_ms = str(30 * 24 * 3600 * 1000)

    assert topic_configs(DEADLETTER, 30) == {"retention.ms": thirty_days_ms}
    assert topic_configs(EXCEPTIONS, 30) == {"retention.ms": thirty_days_ms}
    assert topic_configs(DEADLETTER, 0.5) == {"retention.ms": str(12 * 3600 * 1000)}


def test_other_topics_keep_the_broker_default_and_cursors_compact() -> None:
    assert topic_configs(RAW, 30) == {}
    assert topic_configs(ORDERS, 30) == {}
    assert topic_configs(CURSORS, 30) == {"cleanup.policy": "compact"}
