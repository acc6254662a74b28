"""Commerce customers and newsletter subscribers as their save events carry them."""

from __future__ import annotations

from pydantic import AliasChoices, AliasPath, Field

from schemas.commerce.payload import (
    Code,
    CommercePayload,
    Flag,
    Id,
    OptionalId,
    OptionalInt,
    Text,
    Timestamp,
)


class CommerceCustomer(CommercePayload):
    """A customer as the customer-save event carries it; `orig_email` is set on email changes."""

    id: Id = Field(validation_alias=AliasChoices("id", "entity_id"))
    email: Text = None
    firstname: Text = None
    lastname: Text = None
    group_id: OptionalInt = None
    store_id: OptionalInt = None
    website_id: OptionalInt = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    orig_email: Text = Field(default=None, validation_alias=AliasPath("_origData", "email"))
    is_subscribed: Flag | None = Field(
        default=None, validation_alias=AliasPath("extension_attributes", "is_subscribed")
    )


class CommerceSubscriber(CommercePayload):
    """A newsletter subscriber as its save event carries it; guests have `customer_id` 0."""

    subscriber_id: OptionalId = None
    customer_id: OptionalId = None
    subscriber_email: Text = None
    subscriber_status: Code
    change_status_at: Timestamp = None
    store_id: OptionalInt = None
