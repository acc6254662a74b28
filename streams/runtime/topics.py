"""The topics at run time: Faust topic objects, and creating them up front with final partitions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import BaseModel

from schemas.contract.topics import (
    CARTS,
    COMMERCE_WRITES,
    CONSENT,
    CONSENT_OBSERVED,
    CURSORS,
    CUSTOMERS,
    DEADLETTER,
    ENROLMENTS,
    EXCEPTIONS,
    IDENTITY,
    IMPORTS,
    ORDERS,
    PRODUCTS,
    RAW,
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

log = logging.getLogger(__name__)

# Each TopicSet field and the topic it stands for. Email-keyed topics share one partition count
# so one agent sees all of a person's events.
TOPIC_NAMES = {
    "raw": RAW,
    "orders": ORDERS,
    "customers": CUSTOMERS,
    "refunds": REFUNDS,
    "carts": CARTS,
    "identity": IDENTITY,
    "writes": WRITES,
    "writes_realtime": WRITES_REALTIME,
    "exceptions": EXCEPTIONS,
    "deadletter": DEADLETTER,
    "consent": CONSENT,
    "consent_observed": CONSENT_OBSERVED,
    "commerce_writes": COMMERCE_WRITES,
    "enrolments": ENROLMENTS,
    "imports": IMPORTS,
    "ticks": TICKS,
    "storefront_raw": STOREFRONT_RAW,
    "storefront_events": STOREFRONT_EVENTS,
    "storefront_carts": STOREFRONT_CARTS,
    "storefront_claims": STOREFRONT_CLAIMS,
    "raw_index": RAW_INDEX,
    "trail": TRAIL,
    "products": PRODUCTS,
}
ALL_TOPICS = tuple(TOPIC_NAMES.values())
# Topics of one partition: the pollers' checkpoints, the marks of dead letters put back.
SINGLE_PARTITION = (CURSORS, REPLAYED)
# Topics that hold personal data only so an operator can look and replay: kept for a while, then
# deleted by the broker (see "Personal data" in the README).
INCIDENT_TOPICS = (DEADLETTER, EXCEPTIONS, TRAIL)
DEFAULT_INCIDENT_RETENTION_DAYS = 30.0
_DAY_MS = 24 * 3600 * 1000
# Ticks are worth nothing once read: an hour covers any restart.
_TICKS_RETENTION_MS = 3600 * 1000


@dataclass(frozen=True)
class TopicSet:
    """The Faust topic objects of one app: raw bytes in, raw bytes out; we own the encoding."""

    raw: Any
    orders: Any
    customers: Any
    refunds: Any
    carts: Any
    identity: Any
    writes: Any
    writes_realtime: Any
    exceptions: Any
    deadletter: Any
    consent: Any
    consent_observed: Any
    commerce_writes: Any
    enrolments: Any
    imports: Any
    ticks: Any
    storefront_raw: Any
    storefront_events: Any
    storefront_carts: Any
    storefront_claims: Any
    raw_index: Any
    trail: Any
    products: Any


def faust_topics(app: Any, partitions: int) -> TopicSet:
    """Declare the topics on a Faust app with bytes keys and values."""
    return TopicSet(
        **{
            field: bytes_source(app, name, partitions=partitions)
            for field, name in TOPIC_NAMES.items()
        }
    )


def bytes_source(app: Any, *names: str, **options: Any) -> Any:
    """Topics read (or written) together with bytes keys and values: an agent's source, whose
    records it decodes itself, once."""
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        **options,
    )


# How the normalize and join agents read their sources: up to BATCH_RECORDS records at a time,
# or what came within BATCH_SECONDS. A batch waits once for Kafka to acknowledge what its
# records sent, not once per record (each wait is the producer's linger and a round trip), and
# its offsets are acknowledged to Faust after that, together (streams.runtime.application,
# `finished_batches`).
BATCH_RECORDS = 500
BATCH_SECONDS = 0.05


def encoded(model: BaseModel) -> bytes:
    """A model as every topic carries it: its JSON, fields by alias."""
    return orjson.dumps(model.model_dump(mode="json", by_alias=True))


async def create_topics(
    bootstrap: str,
    partitions: int,
    replication_factor: int = 1,
    *,
    incident_retention_days: float = DEFAULT_INCIDENT_RETENTION_DAYS,
) -> list[str]:
    """Create every topic with its final partition count (the embedded broker cannot grow them).

    Topics that exist are left as they are: a changed retention is applied with the broker's
    own tools (`kafka-configs.sh --alter`).
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="cartwright-admin")
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in (*ALL_TOPICS, *SINGLE_PARTITION) if name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            1 if name in SINGLE_PARTITION else partitions,
                            replication_factor,
                            topic_configs=topic_configs(name, incident_retention_days),
                        )
                        for name in missing
                    ]
                )
            except TopicAlreadyExistsError:
                log.info("topics were created concurrently", extra={"topics": missing})
            created = missing
    finally:
        await admin.close()
    return created


def topic_configs(name: str, incident_retention_days: float) -> dict[str, str]:
    """The topic-level configs a topic is created with. Apache Kafka honours them; the embedded
    broker (Tansu) accepts and ignores them: it keeps everything, in memory, until it stops."""
    if name in (CURSORS, PRODUCTS, IMPORTS):
        # Latest value per key: Apache Kafka compacts it.
        return {"cleanup.policy": "compact"}
    if name == TICKS:
        return {"retention.ms": str(_TICKS_RETENTION_MS)}
    if name in INCIDENT_TOPICS:
        return {"retention.ms": str(round(incident_retention_days * _DAY_MS))}
    return {}
