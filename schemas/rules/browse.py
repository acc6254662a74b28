"""Browse intent per contact, in event time: a SKU viewed often enough within a window without
being bought earns one enrolment per window; category views add up to a history."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.contract.normalized import OrderUpdated
from schemas.contract.storefront import StorefrontEvent

PRODUCT_PAGE_VIEW = "product-page-view"
# Bounds on one contact's row, so a busy shopper's state stays small.
RECENT_IDS = 256
VIEWS_KEPT = 50
SKUS_KEPT = 200
PURCHASES_KEPT = 500
CATEGORIES_KEPT = 100
FIRES_KEPT = 10
# Orders in these states bought nothing.
NOT_BOUGHT = frozenset({"canceled"})


class SkuViews(BaseModel):
    """Views of one top-level SKU: their times, the child SKUs and product ids seen, the fires."""

    model_config = ConfigDict(frozen=True)

    views: list[AwareDatetime] = Field(default_factory=list)
    variants: list[str] = Field(default_factory=list, description="child skus and product ids")
    fired: list[AwareDatetime] = Field(default_factory=list, description="threshold views fired")


class CategorySeen(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    views: int = 0
    last_seen: AwareDatetime


class BrowseState(BaseModel):
    """The `browse` table's row for one email."""

    model_config = ConfigDict(frozen=True)

    recent_ids: list[str] = Field(default_factory=list)
    skus: dict[str, SkuViews] = Field(default_factory=dict)
    purchased: dict[str, AwareDatetime] = Field(
        default_factory=dict, description="sku or product id → when last bought"
    )
    categories: dict[str, CategorySeen] = Field(default_factory=dict)
    contact_written: bool = Field(
        default=False,
        description="a contact upsert went before this email's first category record (a "
        "contact-scope record of an email Dotdigital does not know is rejected)",
    )


@dataclass(frozen=True)
class BrowseRules:
    views: int = 3
    within: timedelta = timedelta(days=7)


@dataclass
class BrowseOutcome:
    """What one event calls for: an enrolment subject (SKU and window start), the categories
    whose history changed."""

    state: BrowseState
    enrol: str | None = None
    sku: str | None = None
    categories: list[CategorySeen] = field(default_factory=list)
    contact: bool = False  # the contact must be upserted before these categories' records


def slug(path: str) -> str:
    """A category path as an insight record key: `Gear/Bags` → `gear-bags`."""
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:100] or "category"


def subject(sku: str, window_start: datetime) -> str:
    """The enrolment's ledger subject: one per SKU and window, the same on every replay."""
    return f"browse {sku} {window_start.isoformat()}"


def _bought_within(
    state: BrowseState, views: SkuViews, sku: str, at: datetime, within: timedelta
) -> bool:
    """A purchase of the SKU (or a variant of it) later than the window's start: the intent is
    served (an order arriving after views, but placed before them, counts too)."""
    for name in (sku, *views.variants):
        bought = state.purchased.get(name)
        if bought is not None and bought > at - within:
            return True
    return False


def _categories(
    state: BrowseState, event: StorefrontEvent
) -> tuple[dict[str, CategorySeen], list[CategorySeen]]:
    table = dict(state.categories)
    touched: list[CategorySeen] = []
    for path in dict.fromkeys(event.categories):
        key = slug(path)
        seen = table.get(key)
        last = event.occurred_at if seen is None else max(seen.last_seen, event.occurred_at)
        updated = CategorySeen(path=path, views=(seen.views if seen else 0) + 1, last_seen=last)
        table[key] = updated
        touched.append(updated)
    if len(table) > CATEGORIES_KEPT:
        ordered = sorted(table.items(), key=lambda item: item[1].last_seen, reverse=True)
        table = dict(ordered[:CATEGORIES_KEPT])
    return table, touched


def window_start(views: list[datetime], at: datetime, rules: BrowseRules) -> datetime | None:
    """The earliest start of a window `within` long that holds the view at `at` and at least
    `views` views (`views` sorted), or None. Views arriving out of order find the same window."""
    for start in views:
        if start > at:
            break
        if at - start >= rules.within:
            continue
        if sum(1 for view in views if start <= view < start + rules.within) >= rules.views:
            return start
    return None


def fold_view(
    state: BrowseState | None, event: StorefrontEvent, rules: BrowseRules
) -> BrowseOutcome:
    """One resolved storefront event. A product view of a SKU viewed `views` times within
    `within` (this one included, none bought since the window opened, no enrolment for it in
    the last `within`) fires on itself; a resent event (same id) changes nothing."""
    current = state or BrowseState()
    if event.event_id in current.recent_ids:
        return BrowseOutcome(current)
    categories, touched = _categories(current, event)
    contact = bool(touched) and not current.contact_written
    update: dict[str, object] = {
        "recent_ids": [*current.recent_ids, event.event_id][-RECENT_IDS:],
        "categories": categories,
        "contact_written": current.contact_written or contact,
    }
    sku = event.top_level_sku
    if event.event != PRODUCT_PAGE_VIEW or not sku:
        return BrowseOutcome(current.model_copy(update=update), categories=touched, contact=contact)
    at = event.occurred_at
    seen = current.skus.get(sku) or SkuViews()
    variants = [
        v for v in (event.sku, event.product_id) if v and v != sku and v not in seen.variants
    ]
    views = sorted([*seen.views, at])[-VIEWS_KEPT:]
    known = seen.model_copy(update={"variants": seen.variants + variants})
    start = window_start(views, at, rules)
    due = (
        start is not None
        and not any(abs(start - fired) < rules.within for fired in seen.fired)
        and not _bought_within(current, known, sku, at, rules.within)
    )
    fired = sorted([*seen.fired, start])[-FIRES_KEPT:] if due and start else seen.fired
    skus = dict(current.skus)
    skus[sku] = SkuViews(
        views=views, variants=(seen.variants + variants)[-VIEWS_KEPT:], fired=fired
    )
    if len(skus) > SKUS_KEPT:
        ordered = sorted(skus.items(), key=lambda item: item[1].views[-1], reverse=True)
        skus = dict(ordered[:SKUS_KEPT])
    update["skus"] = skus
    folded = current.model_copy(update=update)
    if not due or start is None:
        return BrowseOutcome(folded, categories=touched, contact=contact)
    return BrowseOutcome(
        folded, enrol=subject(sku, start), sku=sku, categories=touched, contact=contact
    )


def fold_order(state: BrowseState | None, order: OrderUpdated) -> BrowseState:
    """An order's SKUs and product ids (children too) as bought at its placement time."""
    current = state or BrowseState()
    if (order.state or "") in NOT_BOUGHT:
        return current
    at = order.placed_at
    names: list[str] = []
    for line in order.lines:
        for item in (line, *line.children):
            names.append(item.sku)
            names += [str(i) for i in (item.product_id, item.parent_product_id) if i is not None]
    purchased = dict(current.purchased)
    for name in names:
        previous = purchased.get(name)
        purchased[name] = at if previous is None else max(previous, at)
    if len(purchased) > PURCHASES_KEPT:
        purchased = dict(sorted(purchased.items(), key=lambda item: item[1])[-PURCHASES_KEPT:])
    return current.model_copy(update={"purchased": purchased})
