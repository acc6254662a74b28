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


def commerce_client(settings: CommerceSettings) -> CommerceClient:
    """The Commerce REST client of the configured store (the caller closes it)."""
    return CommerceClient(
        settings.base_url, auth=commerce_auth(settings), store_code=settings.store_code
    )


class DotdigitalClients:
    """Makes each lane's client; they share one limiter, since the budgets are the account's."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._limiter: TierLimiter | None = None

    async def __call__(self, *, background: bool) -> DotdigitalClient:
        dd = self._settings.dotdigital
        budgets = TierBudgets(
            low=dd.low_per_minute,
            medium=dd.medium_per_minute,
            high=dd.high_per_minute,
            flat_hourly=dd.flat_hourly_limit,
        )
        if self._limiter is None:
            self._limiter = TierLimiter(
                budgets, background_reserve={Tier.MEDIUM: dd.realtime_reserve}
            )
        client = DotdigitalClient(
            dd.base_url,
            dd.username,
            dd.password,
            timeout=dd.timeout,
            limiter=self._limiter,
            background=background,
        )
        if dd.discover_region:
            await retry_until_settled(client.discover_region, asyncio.sleep)
        return client
