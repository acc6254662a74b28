"""Shoppers and newsletter subscribers: registered customers, guests, subscription statuses 1 to 4."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

SUBSCRIBED, NOT_ACTIVE, UNSUBSCRIBED, UNCONFIRMED = 1, 2, 3, 4
SUBSCRIBER_STATUSES = (SUBSCRIBED, NOT_ACTIVE, UNSUBSCRIBED, UNCONFIRMED)


class EmailTaken(ValueError):
    """Commerce allows one account per email and website."""

    message = "A customer with the same email address already exists in an associated website."


@dataclass(frozen=True)
class Guest:
    """Someone checking out without an account: only what they typed at checkout."""

    email: str
    firstname: str
    lastname: str


@dataclass
class Customer:
    """A registered customer; Commerce keeps the id when the email changes."""

    id: int
    email: str
    firstname: str
    lastname: str
    created_at: datetime
    updated_at: datetime
    group_id: int = 1
    store_id: int = 1
    website_id: int = 1

    def record(self, *, orig_email: str | None = None) -> dict[str, Any]:
        """The customer save event's value; an email change carries the old one in `_origData`."""
        record: dict[str, Any] = {
            "id": self.id,
            "entity_id": self.id,
            "email": self.email,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "group_id": self.group_id,
            "store_id": self.store_id,
            "website_id": self.website_id,
            "created_in": "Default Store View",
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "disable_auto_group_change": 0,
        }
        if orig_email is not None:
            record["_origData"] = {"email": orig_email, "firstname": self.firstname}
        return record

    def rest(self, subscribed: bool) -> dict[str, Any]:
        """`GET /V1/customers/{id}`, with the subscription under `extension_attributes`."""
        return {
            "id": self.id,
            "group_id": self.group_id,
            "default_billing": str(self.id + 3000),
            "default_shipping": str(self.id + 3000),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "created_in": "Default Store View",
            "email": self.email,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "store_id": self.store_id,
            "website_id": self.website_id,
            "addresses": [],
            "disable_auto_group_change": 0,
            "extension_attributes": {"is_subscribed": subscribed},
        }


@dataclass
class Subscriber:
    """A newsletter subscriber row; guests have `customer_id` 0."""

    subscriber_id: int
    email: str
    status: int
    customer_id: int
    change_status_at: datetime
    store_id: int = 1

    def record(self) -> dict[str, Any]:
        return {
            "subscriber_id": self.subscriber_id,
            "store_id": self.store_id,
            "customer_id": self.customer_id,
            "subscriber_email": self.email,
            "subscriber_status": self.status,
            "subscriber_confirm_code": f"{self.subscriber_id:016x}",
            "change_status_at": self.change_status_at,
        }
