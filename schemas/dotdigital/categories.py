"""A contact's category browsing → the contact-scoped `CategoryHistory` insight records."""

from __future__ import annotations

from schemas.dotdigital.bodies import ContactIdentity, InsightRecord
from schemas.rules.browse import CategorySeen, slug

CATEGORY_HISTORY_COLLECTION = "CategoryHistory"
CATEGORY_HISTORY_TYPE = "custom"


def category_record(email: str, seen: CategorySeen) -> InsightRecord:
    """One category's record, keyed by its path's slug: how often viewed, and when last."""
    return InsightRecord(
        key=slug(seen.path),
        contact_identity=ContactIdentity(value=email),
        json_={
            "category": seen.path,
            "views": seen.views,
            "lastSeen": seen.last_seen.strftime("%Y-%m-%d %H:%M:%S"),
        },
    )
