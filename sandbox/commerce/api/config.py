"""What the Commerce sandbox serves and sends: webhook, traffic, time scales, REST credentials."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sandbox.commerce.api.auth import IntegrationCredentials


@dataclass(frozen=True)
class CommerceSandboxConfig:
    """Traffic settings are in simulated seconds; `time_scale` real seconds pass per simulated
    second (traffic, fault delays and reorder windows), `retry_time_scale` per retry delay."""

    client_id: str
    webhook_url: str | tuple[str, ...] | None = None  # several: round-robin, as a balancer
    seed: int = 7
    orders: int = 50
    orders_per_minute: float = 30.0
    ship_after_seconds: float = 20.0
    retry_time_scale: float = 1.0 / 60.0
    time_scale: float = 1.0
    run_traffic: bool | None = None  # None: traffic runs when a webhook is set
    history_orders: int = 0  # orders placed (instantly, unpublished) before the server starts
    storefront_url: str | None = None  # where storefront SDK events are beaconed, if anywhere
    journal_name: str = "commerce"  # `GET /_journal/<name>`; storefront events at `storefront`
    store_codes: tuple[str, ...] = ("default", "all", "eu_en")
    credentials: IntegrationCredentials = field(default_factory=IntegrationCredentials)
    journal_retention: int = 200_000  # events kept per journal (Adobe keeps seven days)
    start: datetime | None = None  # store time at start; None: the simulator's fixed start

    @property
    def traffic(self) -> bool:
        return self.webhook_url is not None if self.run_traffic is None else self.run_traffic
