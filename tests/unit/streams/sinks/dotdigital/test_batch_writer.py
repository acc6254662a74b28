"""The Dotdigital sink against the real sandbox over HTTP, on a fake clock so nothing waits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from schemas.dotdigital.bodies import ContactIdentity, InsightRecord
from schemas.dotdigital.commands import ContactWrite, InsightWrite, WriteCommand
from schemas.dotdigital.orders import orders_record
from streams.runtime.metrics import Metrics
from streams.sinks.dotdigital.batch_writer import BatchWriter
from streams.sinks.dotdigital.realtime_writer import RealtimeWriter
from tests.support.writes import (
    ISSUED_AT,
    PLACED_AT,
    World,
    contact_write,
    insight_write,
    order_write,
    updated,
)

Origin = str
Commands = list[tuple[WriteCommand, Origin]]


async def test_contact_is_upserted_before_its_orders_record(world: World) -> None:
    email = "first.time@example.com"
    placed = updated(101, email)
    # The record arrives first: the sink must still create the contact before importing it.
    commands: Commands = [(order_write(placed), "o-1"), (contact_write(email), "c-1")]

    rejections = await world.sink.write(commands)

    assert rejections == []
    contact = await world.client.get_contact(email)
    assert contact is not None
    assert contact.data_fields["FIRSTNAME"] == "Ada"
    stored = await world.orders_of(email)
    assert stored == {"000000101": orders_record(placed).json_}
    assert world.network.writes() == [
        ("PATCH", f"/contacts/v3/email/{email}"),
        ("PUT", "/insightData/v3/import"),
    ]


async def test_a_record_under_the_old_address_lands_before_the_rename_in_one_batch(
    world: World,
) -> None:
    old, new = "before.rename@example.com", "after.rename@example.com"
    await world.sink.write([(contact_write(old), "c-0")])
    earlier, later = updated(111, old), updated(112, new)
    # A credit memo joined before the email change, the rename, an order under the new address.
    rename = contact_write(new)
    assert isinstance(rename.command, ContactWrite)
    rename.command.previous_email = old
    commands: Commands = [
        (order_write(earlier), "o-1"),
        (rename, "c-1"),
        (order_write(later), "o-2"),
    ]

    rejections = await world.sink.write(commands)

    assert rejections == []
    assert await world.client.get_contact(old) is None
    stored = await world.orders_of(new)
    assert sorted(stored) == ["000000111", "000000112"]
    assert world.network.writes()[-3:] == [
        ("PUT", "/insightData/v3/import"),
        ("PATCH", f"/contacts/v3/email/{old}"),
        ("PUT", "/insightData/v3/import"),
    ]


async def test_record_without_a_contact_is_refused_by_dotdigital(world: World) -> None:
    email = "nobody@example.com"

    rejections = await world.sink.write([(order_write(updated(102, email)), "o-1")])

    [rejection] = rejections
    assert rejection.origin == "o-1"
    assert rejection.subject == "order 000000102"
    assert "ContactEmailDoesNotExist" in rejection.detail


async def test_two_versions_of_an_order_in_one_batch_land_as_the_later_one(
    world: World,
) -> None:
    email = "repeat@example.com"
    placed = updated(103, email)
    complete = updated(103, email, state="complete", at=PLACED_AT + timedelta(days=2))
    commands: Commands = [
        (contact_write(email), "c-1"),
        (order_write(placed), "o-1"),
        (order_write(complete), "o-2"),
    ]

    rejections = await world.sink.write(commands)

    assert rejections == []
    stored = await world.orders_of(email)
    assert list(stored) == ["000000103"]
    assert stored["000000103"]["orderState"] == "complete"
    assert stored["000000103"]["fulfilled"] is True
    assert world.network.writes().count(("PUT", "/insightData/v3/import")) == 1


async def test_record_with_an_invalid_json_key_is_rejected_and_the_others_land(
    world: World,
) -> None:
    email = "mixed@example.com"
    good = orders_record(updated(104, email))
    bad = InsightRecord(
        key="000000105",
        contact_identity=ContactIdentity(value=email),
        json_={**orders_record(updated(105, email)).json_, "bad key!": 1},
    )
    commands: Commands = [
        (contact_write(email), "c-1"),
        (insight_write(bad, email), "o-bad"),
        (insight_write(good, email), "o-good"),
    ]
    metrics = Metrics()
    sink = BatchWriter(world.client, sleep=world.retry_sleep, metrics=metrics)

    rejections = await sink.write(commands)

    [rejection] = rejections
    # The import of both records counts one refused, for the early warnings' failure rate.
    assert (
        metrics.recent.last_hour("import_records"),
        metrics.recent.last_hour("import_failures"),
    ) == (2, 1)
    assert rejection.origin == "o-bad"
    assert rejection.subject == "order 000000105"
    assert rejection.email == email
    assert "JsonKeyInvalidCharacters" in rejection.detail
    assert list(await world.orders_of(email)) == ["000000104"]


def busy_batch() -> tuple[Commands, dict[str, dict[str, dict[str, Any]]]]:
    """Three contacts with two orders each, and the records each should end with."""
    commands: Commands = []
    expected: dict[str, dict[str, dict[str, Any]]] = {}
    for n in range(3):
        email = f"shopper{n}@example.com"
        commands.append((contact_write(email, ORDER_COUNT=2), f"c-{n}"))
        expected[email] = {}
        for entity_id in (200 + 10 * n, 201 + 10 * n):
            placed = updated(entity_id, email)
            commands.append((order_write(placed), f"o-{entity_id}"))
            expected[email][placed.increment_id] = orders_record(placed).json_
    return commands, expected


@pytest.mark.parametrize(
    "faults",
    [
        {"error_rate": 0.3, "error_status": 503, "seed": 1},
        {"error_rate": 0.3, "error_status": 503, "seed": 13},
        {"error_rate": 0.3, "error_status": 503, "error_body": "html", "seed": 7},
        {"burst_429": 3},
    ],
    ids=["503s-on-contacts", "503s-everywhere", "503s-with-html", "429-burst"],
)
async def test_every_record_lands_exactly_once_despite_faults(
    world: World, faults: dict[str, Any]
) -> None:
    commands, expected = busy_batch()
    await world.faults(**faults)

    rejections = await world.sink.write(commands)

    assert rejections == []
    assert (await world.stats())["faults_injected"] > 0
    assert world.retry_sleeps, "the sink never waited to retry"
    await world.faults()  # read back without faults
    for email, records in expected.items():
        contact = await world.client.get_contact(email)
        assert contact is not None
        assert contact.data_fields["ORDER_COUNT"] == 2
        assert await world.orders_of(email) == records


async def test_rate_limit_burst_waits_as_long_as_the_server_says(world: World) -> None:
    email = "patient@example.com"
    await world.faults(burst_429=1)

    rejections = await world.sink.write([(contact_write(email), "c-1")])

    assert rejections == []
    # The sandbox's minute started at START, so its reset header says 60 seconds.
    assert world.retry_sleeps == [60.0]
    assert await world.client.get_contact(email) is not None


async def test_failed_import_submission_is_sent_again_and_stored_once(world: World) -> None:
    commands, expected = busy_batch()
    # With this seed the dice fail a contact upsert, the import submission and import polls.
    await world.faults(error_rate=0.3, error_status=503, seed=13)

    rejections = await world.sink.write(commands)

    assert rejections == []
    failed = {
        (method, path.rsplit("/", 1)[0])
        for method, path, status in world.network.calls()
        if status == 503
    }
    assert failed == {
        ("PATCH", "/contacts/v3/email"),
        ("PUT", "/insightData/v3"),
        ("GET", "/insightData/v3/import"),
    }
    await world.faults()
    for email, records in expected.items():
        assert await world.orders_of(email) == records


async def test_records_of_a_refused_contact_are_rejected_with_it(world: World) -> None:
    refused, fine = "two@@example.com", "fine@example.com"
    orphan = InsightRecord(
        key="000000302", contact_identity=ContactIdentity(value=refused), json_={"id": "000000302"}
    )
    commands: Commands = [
        (contact_write(refused), "c-refused"),
        (order_write(updated(301, fine)), "o-fine"),
        (contact_write(fine), "c-fine"),
        (insight_write(orphan, refused), "o-orphan"),
    ]

    rejections = await world.sink.write(commands)

    by_origin = {rejection.origin: rejection for rejection in rejections}
    assert set(by_origin) == {"c-refused", "o-orphan"}
    assert by_origin["c-refused"].subject == f"contact {refused}"
    assert "400" in by_origin["c-refused"].detail
    assert by_origin["o-orphan"].subject == "order 000000302"
    assert "contact was refused" in by_origin["o-orphan"].detail
    assert list(await world.orders_of(fine)) == ["000000301"]


async def test_many_contacts_go_as_one_bulk_import_before_their_records(world: World) -> None:
    emails = [f"bulk-{n}@example.com" for n in range(6)]
    commands: Commands = []
    for n, email in enumerate(emails):
        commands.append((contact_write(email, FIRSTNAME=f"Bulk {n}"), f"contact-{n}"))
        commands.append((order_write(updated(900 + n, email)), f"order-{n}"))

    rejections = await world.sink.write(commands)

    assert rejections == []
    writes = world.network.writes()
    assert writes[0] == ("PUT", "/contacts/v3/import")
    assert not [w for w in writes if w[0] == "PATCH"]
    assert writes.index(("PUT", "/contacts/v3/import")) < writes.index(
        ("PUT", "/insightData/v3/import")
    )
    for n, email in enumerate(emails):
        contact = await world.client.get_contact(email)
        assert contact is not None and contact.data_fields["FIRSTNAME"] == f"Bulk {n}"
        assert list(await world.orders_of(email)) == [f"{900 + n:09d}"]


async def test_a_contact_the_bulk_import_refuses_takes_its_records_with_it(world: World) -> None:
    good = [f"fine-{n}@example.com" for n in range(4)]
    commands: Commands = [(contact_write(email), email) for email in good]
    commands.append((contact_write("not-an-email"), "bad-contact"))

    rejections = await world.sink.write(commands)

    assert [r.origin for r in rejections] == ["bad-contact"]
    assert "rejected the contact" in rejections[0].detail
    for email in good:
        assert await world.client.get_contact(email) is not None


async def test_realtime_writes_are_single_calls_in_order_per_contact(world: World) -> None:
    writer = RealtimeWriter(world.client, sleep=world.retry_sleep)
    email = "now@example.com"
    commands: Commands = [
        (contact_write(email, FIRSTNAME="First"), "1"),
        (contact_write(email, FIRSTNAME="Second"), "2"),
        (contact_write("other@example.com", FIRSTNAME="Other"), "3"),
    ]

    rejections = await writer.write(commands)

    assert rejections == []
    assert [m for m, _ in world.network.writes()] == ["PATCH", "PATCH", "PATCH"]
    contact = await world.client.get_contact(email)
    assert contact is not None and contact.data_fields["FIRSTNAME"] == "Second"


async def test_realtime_record_for_an_unknown_contact_is_rejected_by_name(world: World) -> None:
    writer = RealtimeWriter(world.client, sleep=world.retry_sleep)
    record = orders_record(updated(950, "ghost@example.com"))

    rejections = await writer.write([(insight_write(record, "ghost@example.com"), "ghost")])

    assert [(r.origin, r.subject) for r in rejections] == [("ghost", "order 000000950")]
    assert "contactNotFound" in rejections[0].detail


async def test_realtime_writes_retry_through_server_errors(world: World) -> None:
    writer = RealtimeWriter(world.client, sleep=world.retry_sleep)
    await world.faults(error_rate=0.5, error_status=503, seed=3)
    commands: Commands = [(contact_write(f"rt-{n}@example.com", N=n), str(n)) for n in range(10)]

    rejections = await writer.write(commands)

    assert rejections == []
    assert world.retry_sleeps
    await world.faults()
    for n in range(10):
        contact = await world.client.get_contact(f"rt-{n}@example.com")
        assert contact is not None and contact.data_fields["N"] == n


async def test_a_refused_account_record_refuses_no_other_record(world: World) -> None:
    def product(key: str, document: dict[str, Any]) -> WriteCommand:
        return WriteCommand(
            command=InsightWrite(
                collection="Catalog_Default",
                collection_type="catalog",
                record=InsightRecord(key=key, json_=document),
                subject=f"SKU {key}",
                source_event_id=f"evt-{key}",
                issued_at=ISSUED_AT,
            )
        )

    email = "after@example.com"
    commands: Commands = [
        (product("1", {"sku": "ONE", "bad key!": 1}), "bad-product"),
        (product("2", {"sku": "TWO"}), "good-product"),
        (contact_write(email), "contact"),
        (order_write(updated(700, email)), "order"),
    ]

    rejections = await world.sink.write(commands)

    assert [r.origin for r in rejections] == ["bad-product"]
    assert list(await world.orders_of(email)) == ["000000700"]
