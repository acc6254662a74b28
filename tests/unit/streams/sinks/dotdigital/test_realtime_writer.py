"""The realtime writer against the real Dotdigital sandbox over HTTP: a record whose collection
does not exist yet (the first CartInsight of an account) is imported, which creates it."""

from __future__ import annotations

from schemas.dotdigital.bodies import ContactIdentity, InsightRecord
from schemas.dotdigital.commands import InsightWrite, Lane, WriteCommand
from streams.sinks.dotdigital.realtime_writer import RealtimeWriter
from tests.support.writes import ISSUED_AT, World, contact_write


def cart_record(email: str, key: str, phase: str) -> WriteCommand:
    return WriteCommand(
        command=InsightWrite(
            lane=Lane.REALTIME,
            email=email,
            collection="CartInsight",
            collection_type="cartInsight",
            record=InsightRecord(
                key=key,
                contact_identity=ContactIdentity(value=email),
                json_={"cartId": key, "cartPhase": phase},
            ),
            subject=f"cart {key}",
            source_event_id="ev",
            issued_at=ISSUED_AT,
        )
    )


async def test_the_first_record_of_a_missing_collection_creates_it_then_puts_replace(
    world: World,
) -> None:
    email = "ada@example.com"
    realtime = RealtimeWriter(world.client, sleep=world.retry_sleep)

    first = await realtime.write(
        [(contact_write(email), "c"), (cart_record(email, "41", "ORDER_PENDING"), "r1")]
    )
    then = await realtime.write([(cart_record(email, "41", "ORDER_COMPLETE"), "r2")])

    assert first == then == []
    (record,) = await world.client.list_contact_insight(email, "CartInsight")
    assert (record["key"], record["json"]["cartPhase"]) == ("41", "ORDER_COMPLETE")
