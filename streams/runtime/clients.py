"""The API clients a worker or command needs, made from Settings."""

from __future__ import annotations

import asyncio

import httpx

from connectors.commerce.auth import BearerAuth, OAuth1Auth
from connectors.commerce.client import CommerceClient
from connectors.dotdigital.client import DotdigitalClient
from connectors.dotdigital.ratelimit import Tier, TierBudgets, TierLimiter
from streams.runtime.retrying import retry_until_settled
from streams.settings import CommerceSettings, Settings


def commerce_auth(settings: CommerceSettings) -> httpx.Auth:
    """OAuth 1.0a when the integration's four credentials are set, else its token as Bearer."""
    key, secret = settings.consumer_key, settings.consumer_secret
    token, token_secret = settings.access_token, settings.access_token_secret
    if key and secret and token and token_secret:
        return OAuth1Auth(key, secret, token, token_secret)
    if settings.token is None:
        raise ValueError("set CARTWRIGHT_COMMERCE__TOKEN or the four OAuth credentials")
    return BearerAuth(settings.token)


def commerce_client(settings: CommerceSettings, store_code: str | None = None) -> CommerceClient:
    """The Commerce REST client of the configured store, or of the store view `store_code`
    (`/rest/<store_code>/V1/…`: its store-level values); the caller closes it."""
    return CommerceClient(
        settings.base_url,
        auth=commerce_auth(settings),
        store_code=store_code or settings.store_code,
    )


def account_budgets(settings: Settings) -> TierBudgets:
    """The Dotdigital account's budgets, as configured: all of them, for every worker together."""
    dd = settings.dotdigital
    return TierBudgets(
        low=dd.low_per_minute,
        medium=dd.medium_per_minute,
        high=dd.high_per_minute,
        flat_hourly=dd.flat_hourly_limit,
    )


class DotdigitalClients:
    """Makes the lanes' clients, which share the worker's one limiter for the lanes, and the
    suppression feed's, which has a limiter of its own: `lanes` and `feed` are their budgets
    (streams/sinks/dotdigital/budget.py splits the account's among workers)."""

    def __init__(self, settings: Settings, *, lanes: TierBudgets, feed: TierBudgets) -> None:
        self._settings = settings
        reserve = {Tier.MEDIUM: settings.dotdigital.realtime_reserve}
        self.limiter = TierLimiter(lanes, background_reserve=reserve)
        self.feed_limiter = TierLimiter(feed, background_reserve={})

    async def __call__(self, *, background: bool) -> DotdigitalClient:
        """A lane's client: the batch lane's is `background`, leaving realtime its reserve."""
        return await self._client(self.limiter, background=background)

    async def feed(self) -> DotdigitalClient:
        """The suppression feeds' client, spending only the feed's reserve."""
        return await self._client(self.feed_limiter, background=True)

    async def _client(self, limiter: TierLimiter, *, background: bool) -> DotdigitalClient:
        dd = self._settings.dotdigital
        client = DotdigitalClient(
            dd.base_url,
            dd.username,
            dd.password,
            timeout=dd.timeout,
            limiter=limiter,
            background=background,
        )
        if dd.discover_region:
            await retry_until_settled(client.discover_region, asyncio.sleep)
        return client
