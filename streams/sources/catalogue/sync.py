"""One catalogue sync: the products Commerce changed since the last sync (every product with
`full`), resolved and sent to the sink's batch lane as catalogue records, each page's end kept
as the checkpoint once the broker has them; a product without a mapped attribute is an
exception naming its SKU, and its record still goes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from connectors.commerce.client import CommerceClient
from connectors.commerce.delta import DeltaCheckpoint
from connectors.dotdigital.client import DotdigitalClient
from connectors.errors import SkippableError
from schemas.catalogue.mapping import CatalogueMapping, MappingRefused
from schemas.catalogue.product import NOT_VISIBLE_INDIVIDUALLY, VISIBILITY
from schemas.catalogue.resolve import Lookups, ProductUnreadable, resolve, shelves
from schemas.contract.incidents import Reason
from schemas.contract.topics import DEADLETTER, EXCEPTIONS, WRITES
from schemas.dotdigital.bodies import InsightRecord
from schemas.dotdigital.catalogue import CATALOG_TYPE, DELETED, catalogue_record
from schemas.dotdigital.commands import InsightWrite, Lane, WriteCommand
from streams.runtime.clients import commerce_client
from streams.runtime.incidents import Incidents
from streams.runtime.producer import ProducerTopic, producer
from streams.runtime.topics import encoded
from streams.settings import Settings
from streams.sources.catalogue.pacing import Pacer, configured_pace
from streams.sources.cursors import CursorStore

log = logging.getLogger(__name__)

PRODUCTS = "/V1/products"
# The sync's cursor: the last product change it sent, as the delta's checkpoint.
CURSOR = "catalogue"
# Before any product: a full sync reads from here.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class CatalogueReport:
    """What a sync read and sent: products, records, gaps (mapped attributes left empty),
    unreadable rows, pages, and the Commerce calls it made."""

    products: int = 0
    records: int = 0
    gaps: int = 0
    unreadable: int = 0
    pages: int = 0
    commerce_calls: int = 0
    deleted: int = 0


def load_mapping(path: str | None) -> CatalogueMapping:
    """The merchant's mapping, or none (no attributes mapped) when no file is set."""
    if path is None:
        return CatalogueMapping()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingRefused([f"cannot read {path}: {exc.strerror or exc}"]) from exc
    return CatalogueMapping.from_toml(text)


async def lookups_for(
    client: CommerceClient, mapping: CatalogueMapping, settings: Settings
) -> Lookups:
    """The labels of every mapped attribute and the store's shelves, read once per sync; a
    mapped code the store does not have refuses the sync (the merchant's mapping is wrong)."""
    labels: dict[str, dict[str, str]] = {}
    unknown: list[str] = []
    for code in mapping.fields:
        try:
            labels[code] = await client.attribute_options(code)
        except SkippableError as exc:
            if exc.status != 404:
                raise
            unknown.append(code)
    if unknown:
        raise MappingRefused(
            [f"the store has no attribute `{code}` (check the mapping file)" for code in unknown]
        )
    catalogue = settings.catalogue
    return Lookups(
        labels=labels,
        categories=shelves(await client.categories()),
        store_url=catalogue.store_url,
        media_url=catalogue.media_url,
    )


async def sync_catalogue(
    settings: Settings,
    cursors: CursorStore,
    *,
    full: bool = False,
    dotdigital: Callable[[], Awaitable[DotdigitalClient]] | None = None,
    today: date | None = None,
    on_page: Callable[[CatalogueReport], None] = lambda report: None,
    pacer: Pacer | None = None,
) -> CatalogueReport:
    """Send the catalogue's changes (everything with `full`) to the batch lane; `cursors`
    keep how far it came (a file from a shell, the cursors topic in the worker). A full sync
    with `dotdigital` also marks the records of products Commerce no longer has as deleted.
    Records go at the pace `CATALOGUE__LOW_SHARE` sets (see pacing.py), or `pacer`'s."""
    mapping = load_mapping(settings.catalogue.mapping)
    state = {} if full else (await cursors.load(CURSOR) or {})
    saved = state.get("products")
    since: datetime | DeltaCheckpoint = DeltaCheckpoint.from_dict(saved) if saved else EPOCH
    day = today or datetime.now(UTC).date()
    report = CatalogueReport()
    seen: set[str] = set()
    pacer = pacer or Pacer(configured_pace(settings))
    kafka = producer(settings.kafka.bootstrap)
    await kafka.start()
    try:
        writes = ProducerTopic(kafka, WRITES)
        incidents = Incidents(ProducerTopic(kafka, DEADLETTER), ProducerTopic(kafka, EXCEPTIONS))
        async with commerce_client(settings.commerce) as client:
            lookups = await lookups_for(client, mapping, settings)
            report.commerce_calls += len(mapping.fields) + 1
            pages = client.iter_delta(PRODUCTS, since, page_size=settings.commerce.page_size)
            async for page in pages:
                report.pages += 1
                report.commerce_calls += 1
                sent = []
                for row in page.items:
                    report.products += 1
                    # Commerce has it, readable or not: a full sync must not mark it deleted.
                    seen.add(str(row.get("id")))
                    try:
                        product = resolve(row, [], lookups)
                    except ProductUnreadable as exc:
                        report.unreadable += 1
                        await incidents.report(
                            reason=Reason.INVALID_PAYLOAD,
                            message=str(exc),
                            subject=f"SKU {exc.sku}",
                        )
                        continue
                    record, gaps = catalogue_record(product, mapping, day)
                    for gap in gaps:
                        report.gaps += 1
                        await incidents.report(
                            reason=Reason.ATTRIBUTE_MISSING,
                            message=f"attribute `{gap.code}` (catalogue field `{gap.field}`) "
                            f"is empty on SKU {gap.sku}",
                            subject=f"SKU {gap.sku}",
                            attribute=gap.code,
                        )
                    command = WriteCommand(
                        command=InsightWrite(
                            lane=Lane.BATCH,
                            collection=settings.catalogue.collection,
                            collection_type=CATALOG_TYPE,
                            record=record,
                            subject=f"SKU {product.sku}",
                            source_event_id=f"catalogue:{product.id}:{row.get('updated_at')}",
                            issued_at=datetime.now(UTC),
                        )
                    )
                    await pacer.admit()
                    sent.append(await writes.send(key=product.sku.encode(), value=encoded(command)))
                    report.records += 1
                for future in sent:
                    await future
                state["products"] = page.checkpoint.as_dict()
                await cursors.save(CURSOR, state)
                on_page(report)
            if full and dotdigital is not None:
                await _mark_deleted(settings, await dotdigital(), seen, writes, report, pacer)
    finally:
        await kafka.stop()
    return report


async def _mark_deleted(
    settings: Settings,
    client: DotdigitalClient,
    seen: set[str],
    writes: ProducerTopic,
    report: CatalogueReport,
    pacer: Pacer,
) -> None:
    """Records of products a full read of Commerce no longer shows are marked, as the collection
    allows: `status` "Deleted" and not visible, so segments and recommendations drop them."""
    collection = settings.catalogue.collection
    try:
        records = await client.list_account_insight(collection)
    finally:
        await client.aclose()
    sent = []
    for item in records:
        key, document = str(item.get("key")), item.get("json") or {}
        if key in seen or not isinstance(document, dict) or document.get("status") == DELETED:
            continue
        marked = {**document, "status": DELETED, "visibility": VISIBILITY[NOT_VISIBLE_INDIVIDUALLY]}
        command = WriteCommand(
            command=InsightWrite(
                lane=Lane.BATCH,
                collection=collection,
                collection_type=CATALOG_TYPE,
                record=InsightRecord(key=key, json_=marked),
                subject=f"SKU {document.get('sku', key)}",
                source_event_id=f"catalogue:{key}:deleted",
                issued_at=datetime.now(UTC),
            )
        )
        await pacer.admit()
        sent.append(await writes.send(key=key.encode(), value=encoded(command)))
        report.deleted += 1
    for future in sent:
        await future
