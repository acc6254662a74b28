"""Write-back to Adobe Commerce (`cartwright.commerce.writes.v1`): a Dotdigital opt-out reaching
the registered customer's newsletter subscription."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CommerceUnsubscribe(BaseModel):
    """Set `extension_attributes.is_subscribed: false` on a registered customer."""

    schema_version: int = 1
    email: str
    customer_id: int
    reason: str = Field(description="Dotdigital's reason: Unsubscribed, HardBounced, …")
    consent_event_id: str
    occurred_at: datetime = Field(description="when the opt-out happened in Dotdigital")
    issued_at: datetime
