"""Fulfilment ordering: which post-purchase programs an order has earned, and only once."""

from __future__ import annotations

from collections.abc import Mapping

from schemas.contract.normalized import OrderUpdated

ORDER_FULFILLED = "order_fulfilled"
FIRST_ORDER = "first_order"
# A cancelled order never starts a post-purchase journey.
NEVER_TRIGGERS = frozenset({"canceled"})


def enrolments_due(
    order: OrderUpdated,
    *,
    programs: Mapping[str, int],
    done_for_order: frozenset[str],
    contact_had_first_order: bool,
) -> list[str]:
    """Triggers to enrol for now: only once fulfilment is confirmed, each at most once per order
    (and `first_order` at most once per contact)."""
    if not order.fulfilled or order.state in NEVER_TRIGGERS:
        return []
    due = []
    if ORDER_FULFILLED in programs and ORDER_FULFILLED not in done_for_order:
        due.append(ORDER_FULFILLED)
    if (
        FIRST_ORDER in programs
        and FIRST_ORDER not in done_for_order
        and not contact_had_first_order
    ):
        due.append(FIRST_ORDER)
    return due
