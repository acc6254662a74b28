"""The published contract: every topic other services may read, with its key and its models."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from schemas.commerce.writeback import CommerceUnsubscribe
from schemas.contract.carts import CartUpdated
from schemas.contract.consent import ConsentChanged
from schemas.contract.incidents import DeadLetter, SyncException
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.products import ProductUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.contract.replay import IndexBlock, ReplayedDeadLetter
from schemas.contract.storefront import (
    CartIdentified,
    StorefrontClaim,
    StorefrontEvent,
    StorefrontReceived,
)
from schemas.contract.topics import (
    CARTS,
    COMMERCE_WRITES,
    CONSENT,
    CONSENT_OBSERVED,
    CUSTOMERS,
    DEADLETTER,
    ENROLMENTS,
    EXCEPTIONS,
    IDENTITY,
    IMPORTS,
    ORDERS,
    PRODUCTS,
    RAW_INDEX,
    REFUNDS,
    REPLAYED,
    STOREFRONT_CARTS,
    STOREFRONT_CLAIMS,
    STOREFRONT_EVENTS,
    STOREFRONT_RAW,
    TICKS,
    TRAIL,
    WRITES,
    WRITES_REALTIME,
)
from schemas.dotdigital.commands import WriteCommand
from schemas.dotdigital.journals.enrolments import LedgerEntry
from schemas.dotdigital.journals.imports import ImportEntry
from schemas.dotdigital.trail import Written
from schemas.rules.contacts import ContactHandover
from schemas.rules.ticks import Tick

# The AsyncAPI document's own revision: raise the minor when a topic or a field is added.
CONTRACT_VERSION = "1.7.0"

Kind = Literal["normalized", "operational"]

EMAIL = "the contact's normalized email: trimmed, lower-cased, validated (UTF-8)"
ORIGINAL_KEY = "the key of the record that could not be processed (its subject when it had none)"
EMAIL_OR_ENTITY = (
    "the contact's normalized email; without one, the entity it is about (order, SKU, raw key)"
)
SKU = "the product's SKU, as Commerce has it"
EMAIL_OR_QUOTE = (
    "the cart's normalized email; `quote:<quote id>` while it has none (a guest before the "
    "payment step): the same cart is then keyed by the email"
)

_NAME = re.compile(r"[a-z][a-z0-9]*(?:\.[a-z][a-z0-9]*)*\.v(?P<major>[1-9][0-9]*)")


@dataclass(frozen=True)
class PublishedTopic:
    """One topic of the contract: its name (ending in `.v<major>`), key and payload model(s)."""

    name: str
    key: str
    models: tuple[type[BaseModel], ...]
    kind: Kind

    @property
    def major(self) -> int:
        """The breaking-change generation, from the name: `commerce.orders.v1` → 1."""
        match = _NAME.fullmatch(self.name)
        if match is None:
            raise ValueError(f"topic {self.name!r} is not named like 'domain.entity.v1'")
        return int(match["major"])

    @property
    def schema_version(self) -> int:
        """What payloads carry in `schema_version` (the major when the model has no such field)."""
        declared = {
            field.default
            for model in self.models
            if (field := model.model_fields.get("schema_version")) is not None
        }
        if not declared:
            return self.major
        if len(declared) != 1:
            raise ValueError(f"the models of {self.name} disagree on schema_version: {declared}")
        (version,) = declared
        if not isinstance(version, int):
            raise ValueError(f"schema_version of {self.name} defaults to {version!r}, not an int")
        return version

    @property
    def channel_id(self) -> str:
        """An identifier AsyncAPI accepts for the topic: `commerce.orders.v1` → `commerce_orders_v1`."""
        return self.name.replace(".", "_")


def normalized(name: str, key: str, *models: type[BaseModel]) -> PublishedTopic:
    """A topic of the normalized public contract."""
    return PublishedTopic(name, key, models, "normalized")


def operational(name: str, key: str, *models: type[BaseModel]) -> PublishedTopic:
    """A topic Cartwright keeps for itself and for operators; readable, but not for business logic."""
    return PublishedTopic(name, key, models, "operational")


# One line per topic. A new topic is one more line; a breaking change is a new `.v2` line beside
# the old one, never an edit of it.
TOPICS: tuple[PublishedTopic, ...] = (
    normalized(CUSTOMERS, EMAIL, CustomerUpdated),
    normalized(ORDERS, EMAIL, OrderUpdated),
    normalized(REFUNDS, EMAIL, RefundRecorded),
    normalized(CONSENT, EMAIL, ConsentChanged),
    normalized(CARTS, EMAIL_OR_QUOTE, CartUpdated),
    normalized(PRODUCTS, SKU, ProductUpdated),
    operational(WRITES, EMAIL, WriteCommand),
    operational(WRITES_REALTIME, EMAIL, WriteCommand),
    operational(EXCEPTIONS, EMAIL_OR_ENTITY, SyncException),
    operational(DEADLETTER, ORIGINAL_KEY, DeadLetter),
    operational(TRAIL, EMAIL_OR_ENTITY, Written),
    operational(IDENTITY, "the contact's new email (after an email change)", ContactHandover),
    operational(CONSENT_OBSERVED, EMAIL, ConsentChanged),
    operational(COMMERCE_WRITES, EMAIL, CommerceUnsubscribe),
    operational(ENROLMENTS, EMAIL, LedgerEntry),
    operational(IMPORTS, "the import id", ImportEntry),
    operational(TICKS, "none: each tick is sent to the partition whose timers it fires", Tick),
    normalized(STOREFRONT_EVENTS, EMAIL, StorefrontEvent),
    operational(
        STOREFRONT_RAW,
        "`cart:<id>` of the event's cart, else a key of the client",
        StorefrontReceived,
    ),
    operational(STOREFRONT_CARTS, "`cart:<quote id>`", CartIdentified),
    operational(
        STOREFRONT_CLAIMS, "the email a logged-in shopper's browser claims", StorefrontClaim
    ),
    operational(RAW_INDEX, "the raw topic's partition, as text", IndexBlock),
    operational(
        REPLAYED, "`deadletter:<partition>:<offset>` of the dead letter", ReplayedDeadLetter
    ),
)


def topic(name: str) -> PublishedTopic:
    """The contract entry for a topic name; `KeyError` when the topic is not published."""
    for entry in TOPICS:
        if entry.name == name:
            return entry
    raise KeyError(name)
