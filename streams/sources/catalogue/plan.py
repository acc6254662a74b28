"""The collections one catalogue sync keeps: `CATALOGUE__COLLECTION` alone, or one per store
view of `CATALOGUE__STORE_VIEWS`, planned from the store's own store views and websites."""

from __future__ import annotations

from connectors.commerce.client import CommerceClient
from schemas.catalogue.views import StoreView, plan_views
from streams.settings import CatalogueSettings


async def plan_collections(
    client: CommerceClient, settings: CatalogueSettings
) -> tuple[list[StoreView], int]:
    """The store views to sync, and the Commerce calls planning them took (none by default)."""
    wanted = settings.store_view_codes
    if not wanted:
        return [StoreView(collection=settings.collection)], 0
    views, websites = await client.store_views(), await client.websites()
    return plan_views(wanted, views, websites), 2
