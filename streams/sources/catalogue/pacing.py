"""How fast a catalogue sync puts its records on the writes topic: one import's worth per slot,
slots spaced so the catalogue spends at most its share of the account's Low tier.

Orders, refunds and contacts share the Low tier (bulk imports) and the batch lane with the
catalogue. A full sync of 20,000 products produced at once would sit on the writes topic ahead
of every order placed meanwhile, and the lane would spend the tier on the catalogue first.
Paced, the topic never holds more than a slot or two of catalogue records, so an order waits at
most one slot behind it.

A slot is counted as two Low calls (`CALLS_PER_SLOT`): the lane's takes do not line up with
the chunks, since orders share them, so a chunk is imported in two parts when the lane's
interval runs out between slots (the 20,000-product benchmark measured 40 catalogue imports for
20 slots), and a chunk that fills a take early also brings forward the import of the orders in
it, which would otherwise have waited for the interval.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from connectors.clock import Clock, Sleep
from streams.settings import Settings

# A chunk split between two takes, or its import and the orders import of the take it fills.
CALLS_PER_SLOT = 2
MINUTE = 60.0


@dataclass(frozen=True)
class Pace:
    """Records that may go in one slot, and seconds from one slot's start to the next."""

    records: int
    seconds: float


def catalogue_pace(low_per_minute: float, share: float, records_per_import: int) -> Pace:
    """The pace at which the catalogue spends `share` of `low_per_minute` (the Low calls the
    account's lanes have, after the leader's feed reserve), one import of `records_per_import`
    records per slot."""
    if low_per_minute <= 0 or not 0 < share <= 1 or records_per_import < 1:
        raise ValueError(
            f"no pace for {low_per_minute} Low calls a minute, share {share}, "
            f"{records_per_import} records per import"
        )
    slots_per_minute = low_per_minute * share / CALLS_PER_SLOT
    return Pace(records_per_import, MINUTE / slots_per_minute)


def configured_pace(settings: Settings) -> Pace:
    """The pace `CATALOGUE__LOW_SHARE` sets: a share of the Low calls the lanes of all workers
    have together (the account's, less the leader's feed reserve), one take of the batch lane
    (`ORDERS__BATCH_SIZE` records) per slot."""
    dd = settings.dotdigital
    lanes = dd.low_per_minute - dd.feed_reserve_per_minute
    return catalogue_pace(lanes, settings.catalogue.low_share, settings.orders.batch_size)


def slot_start(previous: float | None, now: float, pace: Pace) -> float:
    """When the slot after one that started at `previous` (None: the first) may start, asked
    at `now`: a slot's period after the last, never earlier than now, so a sync that read
    Commerce slowly does not catch up in a burst."""
    if previous is None:
        return now
    return max(previous + pace.seconds, now)


class Pacer:
    """Admits a sync's records one by one, waiting (on the injected `sleep`) whenever a record
    opens a slot that is not due yet."""

    def __init__(self, pace: Pace, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep):
        self.pace = pace
        self._clock = clock
        self._sleep = sleep
        self._slot: float | None = None
        self._in_slot = 0
        self.slots = 0
        self.waited = 0.0

    async def admit(self) -> None:
        """Return once the next record may go onto the topic."""
        if self._slot is not None and self._in_slot < self.pace.records:
            self._in_slot += 1
            return
        now = self._clock()
        start = slot_start(self._slot, now, self.pace)
        if start > now:
            self.waited += start - now
            await self._sleep(start - now)
        self._slot, self._in_slot = start, 1
        self.slots += 1
