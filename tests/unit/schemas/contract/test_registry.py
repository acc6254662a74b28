"""The registry of published topics: every topic is in it, named and keyed as the contract says."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from schemas.contract.normalized import OrderUpdated
from schemas.contract.registry import EMAIL, TOPICS, PublishedTopic, normalized, operational, topic
from schemas.contract.topics import RAW
from streams.runtime.topics import ALL_TOPICS


def test_every_topic_but_the_raw_log_is_published() -> None:
    published = {entry.name for entry in TOPICS}

    unpublished = [name for name in ALL_TOPICS if name != RAW and name not in published]

    assert not unpublished, f"add these to TOPICS in schemas/contract/registry.py: {unpublished}"
    assert RAW not in published


def test_topic_names_are_unique_and_versioned() -> None:
    names = [entry.name for entry in TOPICS]

    assert len(names) == len(set(names))
    assert all(entry.major == 1 and entry.schema_version == 1 for entry in TOPICS)
    assert all(entry.key and entry.models for entry in TOPICS)


def test_normalized_topics_are_keyed_by_email() -> None:
    assert topic("commerce.orders.v1").models == (OrderUpdated,)
    assert topic("commerce.orders.v1").kind == "normalized"
    assert topic("commerce.customers.v1").key == EMAIL
    assert topic("cartwright.deadletter.v1").kind == "operational"
    with pytest.raises(KeyError):
        topic(RAW)


def test_a_topic_name_without_a_version_is_refused() -> None:
    with pytest.raises(ValueError, match="not named like"):
        _ = normalized("commerce.orders", EMAIL, OrderUpdated).major


class _Subscribed(BaseModel):
    schema_version: int = 2
    email: str


def test_models_that_disagree_on_their_version_are_refused() -> None:
    class Older(BaseModel):
        schema_version: int = 1

    with pytest.raises(ValueError, match="disagree"):
        _ = operational("consent.v1", EMAIL, Older, _Subscribed).schema_version


def test_published_topic_is_a_value() -> None:
    entry = normalized("commerce.orders.v1", EMAIL, OrderUpdated)

    assert entry == topic("commerce.orders.v1")
    assert isinstance(entry, PublishedTopic)
