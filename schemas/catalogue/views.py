"""Which catalogue collections a sync writes: one `Catalog_Default` read in Commerce's default
scope, or, per store view, `Catalog_<website>_<store>` read through that view's REST scope
(its store-level names, prices and status) and holding only the products of its website."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.catalogue.mapping import MappingRefused
from schemas.dotdigital.catalogue import catalogue_collection

EVERY = "*"  # `CATALOGUE__STORE_VIEWS=*`: every active store view
ADMIN = 0  # the admin store view and website: no storefront, no catalogue
DEFAULT_CURSOR = "catalogue"


class StoreViewsRefused(MappingRefused):
    """The store views asked for are not the store's; `problems` names each."""


@dataclass(frozen=True)
class StoreView:
    """One collection to keep: where its records go, where its delta keeps its checkpoint, the
    REST scope products are read in (None: the default) and the website they must be on
    (None: any)."""

    collection: str
    cursor: str = DEFAULT_CURSOR
    store_code: str | None = None
    website_id: int | None = None

    def holds(self, row: Mapping[str, Any]) -> bool:
        """Whether the product (a REST row) belongs here: on this view's website."""
        if self.website_id is None:
            return True
        extension = row.get("extension_attributes") or {}
        websites = extension.get("website_ids") or [] if isinstance(extension, Mapping) else []
        return any(str(website) == str(self.website_id) for website in websites)


def plan_views(
    wanted: Sequence[str],
    views: Sequence[Mapping[str, Any]],
    websites: Sequence[Mapping[str, Any]],
) -> list[StoreView]:
    """A `StoreView` per store code `wanted` (`*`: every active store view but the admin's),
    from `GET /V1/store/storeViews` and `/V1/store/websites`; a code the store does not have
    refuses the sync, each named."""
    codes = {int(w["id"]): str(w["code"]) for w in websites if str(w.get("id", "")).isdigit()}
    known = {
        str(view["code"]): view
        for view in views
        if str(view.get("id", "")).isdigit()
        and int(view["id"]) != ADMIN
        and str(view.get("website_id", "")).isdigit()
        and int(view["website_id"]) in codes
    }
    chosen = (
        [code for code, view in known.items() if str(view.get("is_active", 1)) != "0"]
        if list(wanted) == [EVERY]
        else list(wanted)
    )
    missing = [code for code in chosen if code not in known]
    if missing:
        raise StoreViewsRefused(
            [
                f"the store has no store view `{code}` (it has {', '.join(sorted(known))})"
                for code in missing
            ]
        )
    planned = []
    for code in chosen:
        website = int(known[code]["website_id"])
        planned.append(
            StoreView(
                collection=catalogue_collection(codes[website], code),
                cursor=f"{DEFAULT_CURSOR}:{code}",
                store_code=code,
                website_id=website,
            )
        )
    return planned
