"""One catalogue sync: the products Commerce changed since the last sync (every product with
`full`, and the SKUs product saves marked stale), resolved and sent to the sink's batch lane as
catalogue records, and to `commerce.products.v1` for what Orders lines carry, each page's end
kept as the checkpoint once the broker has them; a product without a mapped attribute, or with a
value longer than Dotdigital takes, is an exception naming its SKU, and its record still goes
(without that value)."""

from __future__ import annotations

import logging
from asyncio import Future
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from connectors.commerce.client import CommerceClient
from connectors.commerce.delta import DeltaCheckpoint
from connectors.dotdigital.client import DotdigitalClient
from connectors.errors import SkippableError
from schemas.catalogue.mapping import CatalogueMapping, MappingRefused
from schemas.catalogue.resolve import Lookups, ProductUnreadable, resolve, shelves
from schemas.catalogue.stock import with_stock
from schemas.catalogue.sync_summary import LAST_SYNC, CatalogueSynced
from schemas.catalogue.views import StoreView
from schemas.contract.incidents import Reason
from schemas.contract.products import product_updated
from schemas.contract.topics import CURSORS, DEADLETTER, EXCEPTIONS, WRITES
from schemas.contract.topics import PRODUCTS as PRODUCTS_TOPIC
from schemas.dotdigital.bodies import InsightRecord
from schemas.dotdigital.catalogue import CATALOG_TYPE, DELETED, Gap, catalogue_record, deleted
from schemas.dotdigital.commands import InsightWrite, Lane, WriteCommand
from schemas.dotdigital.limits import Overlong, within_limits
from streams.runtime.clients import commerce_client
from streams.runtime.incidents import Incidents
from streams.runtime.producer import ProducerTopic, producer
from streams.runtime.topics import encoded
from streams.settings import Settings
from streams.sources.catalogue.extras import PageExtras, Variants, read_extras, read_variants
from streams.sources.catalogue.pacing import Pacer, configured_pace
from streams.sources.catalogue.plan import plan_collections
from streams.sources.catalogue.stale import cleared, stale_marks, with_stale
from streams.sources.cursors import CursorStore

log = logging.getLogger(__name__)

PRODUCTS = "/V1/products"
# Before any product: a full sync reads from here.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class CatalogueReport:
    """What a sync read and sent: products, records, gaps (mapped attributes left empty),
    values too long for Dotdigital (left out), unreadable rows, pages, the Commerce calls it
    made, the records marked deleted (gone from Commerce), and those marked deleted in a store
    view's collection (the product left its website)."""

    products: int = 0
    records: int = 0
    gaps: int = 0
    unreadable: int = 0
    pages: int = 0
    commerce_calls: int = 0
    deleted: int = 0
    too_long: int = 0
    left: int = 0
    stale: int = 0


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
    client: CommerceClient, mapping: CatalogueMapping, settings: Settings, variants: Variants
) -> Lookups:
    """The labels of every mapped attribute and the store's shelves, read once per sync, with
    the configurable products' `variants`; a mapped code the store does not have refuses the
    sync (the merchant's mapping is wrong)."""
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
        # The options' labels for children, the mapping's for attributes (the same when both).
        labels={**variants.options.labels, **labels},
        attribute_codes=variants.options.codes,
        parents=variants.parents,
        categories=shelves(await client.categories()),
        store_url=catalogue.store_url,
        media_url=catalogue.media_url,
    )


@dataclass(frozen=True)
class _Run:
    """What every store view's sync in one run shares."""

    settings: Settings
    mapping: CatalogueMapping
    lookups: Lookups
    day: date
    writes: ProducerTopic
    # What Orders lines carry, from the same resolved product (the join's copy).
    published: ProducerTopic
    incidents: Incidents
    report: CatalogueReport
    # The catalogue's share of the Low tier: orders never queue behind a whole catalogue.
    pacer: Pacer
    on_page: Callable[[CatalogueReport], None]


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
    """Send the catalogue's changes (everything with `full`) to the batch lane, into one
    collection or one per store view (`CATALOGUE__STORE_VIEWS`); `cursors` keep how far each
    came (a file from a shell, the cursors topic in the worker). A full sync with `dotdigital`
    also marks the records of products Commerce no longer has (or no longer has on the store
    view's website) as deleted. Records go at the pace `CATALOGUE__LOW_SHARE` sets (see
    pacing.py), or `pacer`'s."""
    mapping = load_mapping(settings.catalogue.mapping)
    report = CatalogueReport()
    kafka = producer(settings.kafka.bootstrap)
    await kafka.start()
    try:
        async with commerce_client(settings.commerce) as client:
            views, calls = await plan_collections(client, settings.catalogue)
            variants = await read_variants(client, settings.commerce.page_size)
            lookups = await lookups_for(client, mapping, settings, variants)
            report.commerce_calls += calls + len(mapping.fields) + 1 + variants.calls
        run = _Run(
            settings=settings,
            mapping=mapping,
            lookups=lookups,
            day=today or datetime.now(UTC).date(),
            writes=ProducerTopic(kafka, WRITES),
            published=ProducerTopic(kafka, PRODUCTS_TOPIC),
            incidents=Incidents(ProducerTopic(kafka, DEADLETTER), ProducerTopic(kafka, EXCEPTIONS)),
            report=report,
            pacer=pacer or Pacer(configured_pace(settings)),
            on_page=on_page,
        )
        for view in views:
            seen = await _sync_view(run, view, cursors, full=full)
            if full and dotdigital is not None:
                await _mark_deleted(run, view, await dotdigital(), seen)
        # For the status page, whoever ran it (the leader's schedule or the command).
        synced = CatalogueSynced(at=datetime.now(UTC), full=full, **asdict(report))
        await kafka.send_and_wait(CURSORS, key=LAST_SYNC.encode(), value=encoded(synced))
    finally:
        await kafka.stop()
    return report


async def _sync_view(run: _Run, view: StoreView, cursors: CursorStore, *, full: bool) -> set[str]:
    """One collection's changes (everything with `full`), read in its store view's scope, its
    checkpoint saved after each page; returns the ids of the products it holds. Once a view
    has a checkpoint, a changed product no longer on its website is marked deleted there."""
    report = run.report
    state = {} if full else (await cursors.load(view.cursor) or {})
    saved = state.get("products")
    since: datetime | DeltaCheckpoint = DeltaCheckpoint.from_dict(saved) if saved else EPOCH
    # Product saves since the last look: re-read after the delta (a full sync reads them all).
    kafka = run.settings.kafka
    marks = await stale_marks(kafka.bootstrap, state, fetch_max_wait_ms=kafka.fetch_max_wait_ms)
    report.stale += len(marks.skus)
    seen: set[str] = set()
    page_size = run.settings.commerce.page_size
    async with commerce_client(run.settings.commerce, view.store_code) as client:
        delta = client.iter_delta(PRODUCTS, since, page_size=page_size)
        checkpoint = since if isinstance(since, DeltaCheckpoint) else None
        async for page in with_stale(client, delta, marks.skus, checkpoint, page_size):
            report.pages += 1
            report.commerce_calls += 1
            held = [row for row in page.items if view.holds(row)]
            extras = await read_extras(client, held)
            report.commerce_calls += extras.calls
            sent = []
            for row in held:
                report.products += 1
                # Commerce has it, readable or not: a full sync must not mark it deleted.
                seen.add(str(row.get("id")))
                sent += await _send_product(run, view, row, extras)
            if saved:
                left = [row for row in page.items if not view.holds(row)]
                sent += await _send_departures(run, view, left)
            for future in sent:
                await future
            state["products"] = page.checkpoint.as_dict()
            await cursors.save(view.cursor, state)
            run.on_page(report)
    await cursors.save(view.cursor, cleared(state, marks))
    return seen


async def _send_product(
    run: _Run, view: StoreView, row: Mapping[str, Any], extras: PageExtras
) -> list[Future[Any]]:
    """One product's record to the batch lane, each of its gaps an exception; an unreadable
    row is an exception naming its SKU instead."""
    try:
        children = extras.children.get(str(row.get("sku")), [])
        product = with_stock(resolve(row, children, run.lookups), extras.stock)
    except ProductUnreadable as exc:
        run.report.unreadable += 1
        await run.incidents.report(
            reason=Reason.INVALID_PAYLOAD, message=str(exc), subject=f"SKU {exc.sku}"
        )
        return []
    record, gaps = catalogue_record(product, run.mapping, run.day)
    limit = run.settings.catalogue.max_value_length
    record, overlong = within_limits(record, limit)
    await _name_findings(run.incidents, product.sku, gaps, overlong, limit, run.report)
    run.report.records += 1
    version = f"{product.id}:{row.get('updated_at')}"
    line = product_updated(product, run.mapping, datetime.now(UTC))
    return [
        await _send(run, view, record, product.sku, version),
        await run.published.send(key=product.sku.encode(), value=encoded(line)),
    ]


async def _send_departures(
    run: _Run, view: StoreView, rows: Sequence[Mapping[str, Any]]
) -> list[Future[Any]]:
    """Products changed off this store view's website: their records there marked deleted."""
    sent = []
    for row in rows:
        try:
            product = resolve(row, [], run.lookups)
        except ProductUnreadable:
            continue  # never readable here, so never sent here
        record, _ = catalogue_record(product, run.mapping, run.day)
        marked = InsightRecord(key=record.key, json_=deleted(record.json_))
        version = f"{product.id}:{row.get('updated_at')}:left"
        sent.append(await _send(run, view, marked, product.sku, version))
        run.report.left += 1
    return sent


async def _send(
    run: _Run, view: StoreView, record: InsightRecord, sku: str, version: str
) -> Future[Any]:
    """A catalogue record as a write command on the batch lane, keyed by its SKU."""
    command = WriteCommand(
        command=InsightWrite(
            lane=Lane.BATCH,
            collection=view.collection,
            collection_type=CATALOG_TYPE,
            record=record,
            subject=f"SKU {sku}",
            source_event_id=f"catalogue:{view.store_code}:{version}"
            if view.store_code
            else f"catalogue:{version}",
            issued_at=datetime.now(UTC),
        )
    )
    await run.pacer.admit()
    return await run.writes.send(key=sku.encode(), value=encoded(command))


async def _name_findings(
    incidents: Incidents,
    sku: str,
    gaps: list[Gap],
    overlong: list[Overlong],
    limit: int,
    report: CatalogueReport,
) -> None:
    """What a product's record goes without, each an exception naming its SKU: mapped
    attributes it has no value for, and values longer than Dotdigital takes."""
    for gap in gaps:
        report.gaps += 1
        await incidents.report(
            reason=Reason.ATTRIBUTE_MISSING,
            message=f"attribute `{gap.code}` (catalogue field `{gap.field}`) is empty on SKU {sku}",
            subject=f"SKU {sku}",
            attribute=gap.code,
        )
    for value in overlong:
        report.too_long += 1
        await incidents.report(
            reason=Reason.VALUE_TOO_LONG,
            message=f"`{value.path}` of SKU {sku} is {value.length:,} characters, longer than "
            f"the {limit:,} Dotdigital takes: the record is sent without it",
            subject=f"SKU {sku}",
            attribute=value.path,
        )


async def _mark_deleted(
    run: _Run, view: StoreView, client: DotdigitalClient, seen: set[str]
) -> None:
    """Records of products a full read of the view no longer shows are marked, as the
    collection allows: `status` "Deleted" and not visible, so segments and recommendations
    drop them."""
    try:
        records = await client.list_account_insight(view.collection)
    finally:
        await client.aclose()
    sent = []
    for item in records:
        key, document = str(item.get("key")), item.get("json") or {}
        if key in seen or not isinstance(document, dict) or document.get("status") == DELETED:
            continue
        marked = InsightRecord(key=key, json_=deleted(document))
        sent.append(await _send(run, view, marked, str(document.get("sku", key)), f"{key}:deleted"))
        run.report.deleted += 1
    for future in sent:
        await future
