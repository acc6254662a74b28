"""Who may send browser events: allowed origins (CORS), no bots, and a token bucket per client
remembered for a bounded number of clients."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Crawlers, link previewers, headless browsers and scripts: their page views are no shopper's.
BOT_AGENTS = re.compile(
    r"bot|crawl|spider|slurp|headless|lighthouse|pingdom|preview|facebookexternalhit"
    r"|python-requests|curl/|wget/|scrapy|phantomjs",
    re.IGNORECASE,
)
PREFLIGHT_MAX_AGE = "600"


def is_bot(user_agent: str | None) -> bool:
    """Whether the request comes from no shopper's browser (every browser names itself)."""
    return not user_agent or not user_agent.strip() or bool(BOT_AGENTS.search(user_agent))


def cors_headers(origin: str) -> dict[str, str]:
    """What an allowed origin's page is told: it may POST here, and read the answer."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        "Vary": "Origin",
    }


def allowed_origin(headers: Mapping[str, str], origins: frozenset[str]) -> str | None:
    """The request's Origin when it is one of `origins`, else None (browsers always send one
    on a cross-site POST; a request without it is no storefront page's)."""
    origin = headers.get("Origin")
    if origin is None or origin.strip().rstrip("/").lower() not in origins:
        return None
    return origin


@dataclass
class Bucket:
    tokens: float
    at: float


class ClientLimiter:
    """A token bucket per client (`rate` a second, `burst` at once). Only the `max_clients` most
    recently seen clients are remembered: one forgotten starts again with a full bucket, so a
    flood of new addresses costs memory no more than `max_clients` buckets."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_clients: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._max = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def admit(self, client: str) -> bool:
        """Take one token from `client`'s bucket; False when it has none left."""
        now = self._clock()
        bucket = self._buckets.pop(client, None)
        if bucket is None:
            bucket = Bucket(self._burst, now)
        else:
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = now
        self._buckets[client] = bucket
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def retry_after(self) -> int:
        """Whole seconds until a drained bucket holds a token again."""
        return max(1, round(1 / self._rate))
