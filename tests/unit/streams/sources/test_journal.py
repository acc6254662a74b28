from __future__ import annotations

from typing import Any

from connectors.adobe_io.journal import JournalPage
from schemas.commerce.events import ORDER_SAVED
from schemas.contract.incidents import Reason
from streams.sources.journal import journal_delivery

CLIENT_ID = "cartwright-local"


def _event(eventid: str, **recipient: str) -> dict[str, Any]:
    return {
        "id": eventid,
        "type": ORDER_SAVED,
        "data": {"value": {"entity_id": "7"}},
        **recipient,
    }


def test_journal_events_addressed_to_us_are_published() -> None:
    page = JournalPage([_event("a", recipientclientid=CLIENT_ID)], last="1")

    delivery = journal_delivery(page, CLIENT_ID)

    assert [event.event_id for event in delivery.events] == ["a"]
    assert delivery.unreadable == []


def test_journal_events_for_no_one_or_someone_else_are_dead_lettered_not_dropped() -> None:
    page = JournalPage(
        [
            _event("mine", recipient_client_id=CLIENT_ID),
            _event("nobody's"),
            _event("theirs", recipientclientid="another-integration"),
        ],
        last="3",
    )

    delivery = journal_delivery(page, CLIENT_ID)

    assert [event.event_id for event in delivery.events] == ["mine"]
    assert [part.reason for part in delivery.unreadable] == [Reason.INVALID_ENVELOPE] * 2
    assert [part.detail for part in delivery.unreadable] == [
        "journal event addressed to no recipient",
        "journal event addressed to another integration",
    ]
