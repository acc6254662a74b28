"""What the last catalogue sync did, kept on `cartwright.cursors.v1` for the status page: when,
full or delta, products read and sent, the SKUs re-read as stale, and its exceptions."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

# The cursors topic's key of the latest summary (any worker, or the command, wrote it).
LAST_SYNC = "catalogue.last"


class CatalogueSynced(BaseModel):
    """One finished catalogue sync, counted as its report counts."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: AwareDatetime
    full: bool
    products: int = 0
    records: int = 0
    stale: int = 0
    gaps: int = 0
    unreadable: int = 0
    deleted: int = 0
    too_long: int = 0
    left: int = 0
    commerce_calls: int = 0

    @property
    def exceptions(self) -> int:
        """The exception records it wrote: mapped attributes left empty, values too long for
        Dotdigital, unreadable products."""
        return self.gaps + self.too_long + self.unreadable
