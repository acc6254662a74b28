"""The status page's trace search: what a browser may ask, one search at a time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from connectors.commerce.client import CommerceClient
from connectors.dotdigital.client import DotdigitalClient
from streams.ops.trace import PENDING, Step, Trace, trace
from streams.ops.trace_reader import DOTDIGITAL_WAIT, TraceReader

# What an order number may look like (Commerce's increment ids, with a store prefix at most):
# anything else typed into the box is not looked up, so it never starts a read of the topics.
ORDER_NUMBER = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Tracer:
    """Traces for the page: an email traces a contact, an order number an order. Searches go
    one at a time (each may read a few partitions, or the orders topic when Commerce does not
    know the order), and the page's own timeout bounds each. The Dotdigital client is made
    once, in the background, and kept for the worker's life: a search waits up to
    DOTDIGITAL_WAIT for it, and is answered without what Dotdigital holds now after that."""

    def __init__(
        self,
        bootstrap: str,
        partitions: int,
        commerce: Callable[[], CommerceClient],
        dotdigital: Callable[[], Awaitable[DotdigitalClient]],
    ) -> None:
        self._bootstrap = bootstrap
        self._partitions = partitions
        self._commerce = commerce
        self._dotdigital = dotdigital
        self._client: asyncio.Future[DotdigitalClient] | None = None
        self._one_at_a_time = asyncio.Semaphore(1)

    async def __call__(self, query: str) -> Trace:
        if "@" not in query and not ORDER_NUMBER.match(query):
            step = Step("commerce", None, PENDING, "not an order number or an email address")
            return trace(query[:40], [step], [], False)
        if self._client is None:
            self._client = asyncio.ensure_future(self._dotdigital())
        # Waited for, never cancelled: a slow start keeps going for the next search.
        await asyncio.wait([self._client], timeout=DOTDIGITAL_WAIT)
        ready = self._client.done() and not self._client.cancelled()
        client = self._client.result() if ready and self._client.exception() is None else None
        async with self._one_at_a_time, self._commerce() as commerce:
            reader = TraceReader(self._bootstrap, self._partitions, commerce, client)
            if "@" in query:
                return await reader.contact(query)
            return await reader.order(query)
