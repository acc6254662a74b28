"""Cartwright's one Settings class: environment variables prefixed CARTWRIGHT_, nested with `__`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.dotdigital.contacts import DATA_FIELD_NAME, DATA_FIELDS

ADOBE_KEY_HOST = "https://static.adobeioevents.com"
# The sandboxes' own credentials, defaults here so `make run` works with no configuration. The
# worker refuses to send them anywhere but a sandbox (streams/runtime/preflight.py).
SANDBOX_DOTDIGITAL_PASSWORD = "change-me-please"  # noqa: S105 - the sandbox account's password
SANDBOX_COMMERCE_TOKEN = "cartwright-access-token"  # noqa: S105 - the Commerce sandbox's token


class KafkaSettings(BaseModel):
    """The broker and how topics are laid out on it."""

    bootstrap: str = "127.0.0.1:9092"
    partitions: int = Field(default=8, ge=1, description="for every email-keyed topic and table")
    replication_factor: int = Field(default=1, ge=1)
    app_id: str = "cartwright"
    fetch_max_wait_ms: int = Field(
        default=100, ge=1, le=5000, description="longest a fetch waits for data (Tansu: latency)"
    )
    trust_end_offsets: bool = Field(
        default=False,
        description="true on Apache Kafka: Faust's stock recovery; false on the embedded broker, "
        "whose end offsets are one batch short",
    )
    trust_timestamp_seeks: bool = Field(
        default=False,
        description="true on Apache Kafka: a replay window also starts no earlier than the "
        "broker's offsets-for-times of its start less WEBHOOK__MAX_EVENT_LEAD; false on the "
        "embedded broker, which seeks by batch append time and answers a future time with 0",
    )
    incident_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="how long the dead-letter and exception topics keep records (personal data)",
    )


class TablesSettings(BaseModel):
    """Where the worker keeps its Faust tables (contacts, orders, carts, timers, …)."""

    store: Literal["memory", "rocksdb"] = Field(
        default="memory",
        description="memory: in RAM, recovered from the changelogs at every start; rocksdb: on "
        "disk under DATA_DIR, so a restart reads only what the changelogs gained since (Apache "
        "Kafka only: the worker refuses it unless KAFKA__TRUST_END_OFFSETS)",
    )
    data_dir: str = Field(
        default="cartwright-data",
        min_length=1,
        description="the worker's own directory (relative: to the working directory); RocksDB "
        "keeps one database per table and partition under it, so no two workers may share it",
    )
    standby_replicas: int = Field(
        default=1,
        ge=0,
        description="copies of each table partition other workers keep up to date from its "
        "changelog, so a partition that moves is ready at once; each costs every changelog "
        "record read once more (0: the new owner reads the changelog when it takes the partition)",
    )


class DotdigitalSettings(BaseModel):
    """The Dotdigital API user and how hard we may call it."""

    base_url: str = "https://r1-api.dotdigital.com"
    username: str = "apiuser-cartwright@apiconnector.com"
    password: SecretStr = Field(
        default=SecretStr(SANDBOX_DOTDIGITAL_PASSWORD),
        description="the sandbox's password by default, refused for any other Dotdigital",
    )
    discover_region: bool = Field(
        default=True, description="ask /v2/account-info for the account's ApiEndpoint at start"
    )
    timeout: float = Field(default=121.0, gt=0)
    # The account's budgets: several workers split them (streams/sinks/dotdigital/budget.py).
    low_per_minute: int = Field(default=35, ge=1)
    medium_per_minute: int = Field(default=300, ge=1)
    high_per_minute: int = Field(default=1000, ge=1)
    flat_hourly_limit: int | None = Field(
        default=None, ge=1, description="older accounts: 2000 calls per rolling hour in all"
    )
    feed_reserve_per_minute: int = Field(
        default=4,
        ge=1,
        description="Low and High calls a minute kept for the leader's suppression feeds before "
        "the rest is split among workers",
    )
    realtime_reserve: float = Field(
        default=0.2,
        ge=0,
        lt=1,
        description="share of the Medium tier (single writes) the batch lane leaves to realtime",
    )
    data_fields: dict[str, str] = Field(
        default_factory=dict,
        description="the account's own names for data fields the merchant renamed, e.g. "
        '{"FIRSTNAME": "FIRST_NAME"}; a field not listed keeps its default name',
    )

    @field_validator("data_fields")
    @classmethod
    def _data_field_names(cls, names: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(names) - set(DATA_FIELDS))
        if unknown:
            raise ValueError(f"unknown data fields {unknown}; Cartwright keeps {list(DATA_FIELDS)}")
        invalid = sorted(name for name in names.values() if not DATA_FIELD_NAME.match(name))
        if invalid:
            raise ValueError(
                f"{invalid} are no Dotdigital data field names (A-Z, 0-9, _; at most 20)"
            )
        written: dict[str, list[str]] = {}
        for field in DATA_FIELDS:
            written.setdefault(names.get(field, field), []).append(field)
        clashes = [
            f"{' and '.join(fields)} would both be written as {name}"
            for name, fields in written.items()
            if len(fields) > 1
        ]
        if clashes:
            raise ValueError("; ".join(clashes) + " (each write would overwrite the other)")
        return names

    @model_validator(mode="after")
    def _reserve_leaves_a_share(self) -> DotdigitalSettings:
        # The lanes share what the reserve leaves: a reserve of a whole tier would stop them.
        reserve = self.feed_reserve_per_minute
        if reserve >= self.low_per_minute or reserve >= self.high_per_minute:
            raise ValueError(
                f"feed_reserve_per_minute ({reserve}) must be below low_per_minute "
                f"({self.low_per_minute}) and high_per_minute ({self.high_per_minute})"
            )
        hourly = self.flat_hourly_limit
        if hourly is not None and reserve * 60 >= hourly:
            raise ValueError(
                f"feed_reserve_per_minute ({reserve}) a minute must leave some of "
                f"flat_hourly_limit ({hourly}) an hour"
            )
        return self


class AdobeSettings(BaseModel):
    """How Adobe I/O Events deliveries are authenticated."""

    client_id: str = "cartwright-local"
    public_key_host: str = ADOBE_KEY_HOST
    verify_signatures: bool = True
    key_cache_seconds: float = Field(default=24 * 3600, gt=0)


class CommerceSettings(BaseModel):
    """The Adobe Commerce REST API, for backfills and the consent write-back."""

    base_url: str = "http://127.0.0.1:8026"
    store_code: str = "default"
    token: SecretStr | None = Field(
        default=SecretStr(SANDBOX_COMMERCE_TOKEN),
        description="integration access token, sent as Bearer (when OAuth keys are not set); "
        "the sandbox's by default, refused for any other Commerce",
    )
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    access_token: str | None = None
    access_token_secret: SecretStr | None = None
    page_size: int = Field(default=500, ge=1, le=5000)
    journal_url: str = "http://127.0.0.1:8026/_journal/commerce"


class WebSettings(BaseModel):
    """The worker's HTTP server: the webhook and the ops endpoints."""

    host: str = Field(
        default="127.0.0.1",
        description="the address the worker listens on; beyond loopback an ops token is required",
    )
    port: int = 6066
    ops_token: SecretStr | None = Field(
        default=None, description="when set, ops endpoints need `Authorization: Bearer <token>`"
    )


class WebhookSettings(BaseModel):
    """Bounds on what `/webhooks/adobe-commerce` reads and accepts: everything the internet can
    send is limited in size, count and time before it is read."""

    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="larger bodies are refused with 413"
    )
    read_timeout: float = Field(
        default=5.0, gt=0, description="seconds for the whole body to arrive, else 408"
    )
    idle_timeout: float = Field(
        default=8.0,
        gt=0,
        description="seconds a connection may go without a complete request (headers included)",
    )
    max_concurrent: int = Field(
        default=32, ge=1, description="deliveries read or processed at once; more get 429"
    )
    max_events: int = Field(
        default=500, ge=1, description="events per delivery; a larger delivery gets 413"
    )
    max_event_age: timedelta = Field(
        default=timedelta(days=7),
        description="older event `time`s are dead-lettered (Adobe retries for 24 h)",
    )
    max_event_lead: timedelta = Field(
        default=timedelta(hours=1), description="event `time`s further ahead are dead-lettered"
    )
    seed_wait: float = Field(
        default=6.0,
        gt=0,
        le=9.0,
        description="seconds a delivery waits at start for the stored ids to be read back",
    )

    @field_validator("max_event_age", "max_event_lead", mode="before")
    @classmethod
    def _seconds_or_duration(cls, value: Any) -> Any:
        """`604800` (seconds) or an ISO 8601 duration such as `P7D` or `PT1H`."""
        if isinstance(value, str):
            try:
                return timedelta(seconds=float(value))
            except (ValueError, OverflowError):
                return value  # pydantic reads it as a duration, or says why it cannot
        return value

    @field_validator("max_event_age", "max_event_lead")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("a window bound is a length of time; it cannot be negative")
        return value


class OrdersSettings(BaseModel):
    """How purchase data is batched to Dotdigital."""

    batch_interval: float = Field(default=60.0, gt=0, description="seconds between order batches")
    batch_size: int = Field(default=1000, ge=1, le=10_000)
    collection: str = "Orders"
    refunds_collection: str = "Refunds"
    product_attributes: str = Field(
        default="",
        description="gone: the catalogue mapping's [orders] lines names what Orders lines carry",
    )

    @field_validator("product_attributes")
    @classmethod
    def _gone(cls, value: str) -> str:
        # Refused rather than ignored: a worker that silently dropped the merchant's line
        # attributes would be worse than one that does not start.
        if value.strip():
            raise ValueError(
                "ORDERS__PRODUCT_ATTRIBUTES is no longer read: name the attributes Orders lines "
                "carry in the catalogue mapping (CATALOGUE__MAPPING), under [orders] lines"
            )
        return value


class ProgramsSettings(BaseModel):
    """Dotdigital program ids per post-purchase trigger; unset means no enrolment."""

    order_fulfilled: int | None = Field(default=None, description="every fulfilled order")
    first_order: int | None = Field(default=None, description="a contact's first fulfilled order")
    abandoned_cart: int | None = Field(
        default=None, description="a cart abandoned (see CARTWRIGHT_CARTS__ABANDON_AFTER)"
    )
    browse_abandoned: int | None = Field(
        default=None, description="a SKU viewed often without being bought (see browse)"
    )

    def by_trigger(self) -> dict[str, int]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class CartsSettings(BaseModel):
    """Abandoned carts: when a cart counts as abandoned, in Commerce's event time, and how often
    the ticker looks for carts that are due."""

    abandon_after: float = Field(
        default=3600.0,
        gt=0,
        description="seconds without a change (after the cart's `updated_at`) before it is "
        "abandoned",
    )
    reenrol_after: float = Field(
        default=86400.0,
        ge=0,
        description="seconds after its last enrolment before the same cart, changed and abandoned "
        "again, enrols again",
    )
    stale_after: float = Field(
        default=86400.0,
        gt=0,
        description="seconds past its due time after which a cart is too old to fire (events "
        "delivered days late, an old history replayed): disarmed without a write",
    )
    tick_interval: float = Field(
        default=5.0,
        gt=0,
        le=30.0,
        description="seconds between ticks that fire due carts (a cart fires this late at most, "
        "plus the time to write it)",
    )
    store_url: str = Field(
        default="http://127.0.0.1:8026/",
        description="the storefront's base URL, for cart, product and image links in CartInsight",
    )


def _duration(value: Any) -> Any:
    """`604800` (seconds) or an ISO 8601 duration such as `P7D` or `PT1H`."""
    if isinstance(value, str):
        try:
            return timedelta(seconds=float(value))
        except (ValueError, OverflowError):
            return value  # pydantic reads it as a duration, or says why it cannot
    return value


class StorefrontSettings(BaseModel):
    """`POST /storefront/events`: what shoppers' browsers may send, from where and how often."""

    allowed_origins: str = Field(
        default="",
        description="comma-separated origins (`https://shop.example.com`) whose pages may send "
        "events; none set: every request is refused",
    )
    max_body_bytes: int = Field(default=16 * 1024, ge=512, le=1024 * 1024)
    max_events: int = Field(default=20, ge=1, le=500, description="events in one batch body")
    read_timeout: float = Field(default=2.0, gt=0)
    max_concurrent: int = Field(default=64, ge=1, description="requests read at once; more: 429")
    rate_per_second: float = Field(default=5.0, gt=0, description="requests per client a second")
    burst: int = Field(default=20, ge=1, description="requests a client may send at once")
    max_clients: int = Field(
        default=10_000, ge=1, description="clients whose rate is tracked (least recent forgotten)"
    )
    timestamp_skew: timedelta = Field(
        default=timedelta(minutes=5),
        description="a browser's timestamp is clamped to the arrival time ± this",
    )
    wait_events: int = Field(
        default=50, ge=0, description="events one cart keeps while its email is unknown"
    )
    wait_age: timedelta = Field(
        default=timedelta(days=1), description="how long an event waits for its cart's email"
    )

    _durations = field_validator("timestamp_skew", "wait_age", mode="before")(_duration)

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(
            origin.strip().rstrip("/").lower()
            for origin in self.allowed_origins.split(",")
            if origin.strip()
        )


class BrowseSettings(BaseModel):
    """The browse-abandonment rule: a SKU viewed `views` times `within` a window, not bought."""

    views: int = Field(default=3, ge=1, le=40)
    within: timedelta = Field(default=timedelta(days=7))
    category_collection: str = "CategoryHistory"

    _durations = field_validator("within", mode="before")(_duration)


class ConsentSettings(BaseModel):
    """Consent both ways: how often Dotdigital's suppression feeds are read, and write-back."""

    poll_interval: float = Field(
        default=30.0, gt=0, description="seconds between reads of the unsubscribe/suppression feeds"
    )
    poll_overlap: float = Field(
        default=600.0,
        ge=0,
        description="seconds each read reaches back before the checkpoint (rows seen twice are "
        "recognised)",
    )
    first_poll_since: datetime | None = Field(
        default=None,
        description="where the very first read starts (no checkpoint yet); unset: every "
        "suppression the account has",
    )
    write_back: bool = Field(
        default=True, description="unsubscribe registered customers in Commerce"
    )


class SinkSettings(BaseModel):
    """How the sink's lanes take and write commands."""

    batches_in_flight: int = Field(default=4, ge=1, le=5, description="insight imports at once")
    import_poll_interval: float = Field(default=1.0, gt=0)
    realtime_take: int = Field(default=200, ge=1)
    realtime_within: float = Field(default=0.02, gt=0)
    realtime_in_flight: int = Field(default=8, ge=1)


class ReplaySettings(BaseModel):
    """How `cartwright replay` guards and remembers a run, and how it finds its records."""

    confirm_above: int = Field(
        default=1000,
        ge=0,
        description="a replay selecting more events than this only dry-runs unless given --yes",
    )
    checkpoint: str = Field(
        default=".cartwright/replay.json",
        description="where a window replay keeps how far it came, to resume after Ctrl-C",
    )
    index_block_size: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="consecutive raw records the normalize agent sums up in one event-time index "
        "block (cartwright.raw.index.v1)",
    )


class CatalogueSettings(BaseModel):
    """The product catalogue sent to Dotdigital on the leader's schedule and by `cartwright
    catalogue sync`, off the storefront's path."""

    interval: float = Field(
        default=900.0,
        ge=0,
        description="seconds between the leader worker's catalogue syncs (0: only on demand)",
    )
    mapping: str | None = Field(
        default=None,
        description="the merchant's mapping file (TOML): Commerce attribute codes to catalogue "
        "fields, and which also go onto Orders lines; none maps no attributes",
    )
    store_url: str = Field(
        default="", description="the storefront's base URL, for product urls (url_key + .html)"
    )
    media_url: str = Field(default="", description="the product media's base URL, for image urls")
    collection: str = Field(
        default="Catalog_Default",
        pattern=r"^[-A-Za-z_][-A-Za-z0-9_]{1,255}$",
        description="the catalogue insight collection when no store views are set",
    )
    store_views: str = Field(
        default="",
        pattern=r"^(\*|[a-z0-9_]+(,[a-z0-9_]+)*)?$",
        description="store view codes, comma-separated (`*`: every active one), each synced "
        "into its own Catalog_<website>_<store> through its REST scope (store-level names, "
        "prices, status) with only the products of its website, each with its own checkpoint; "
        "empty: one `collection` read in the default scope",
    )
    low_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="most of the Low tier (bulk imports) a catalogue sync spends, paced so orders "
        "never queue behind it: one import of ORDERS__BATCH_SIZE records per slot",
    )
    checkpoint: str = Field(
        default=".cartwright/catalogue.json",
        description="where `cartwright catalogue sync` keeps the last product change it sent",
    )
    max_value_length: int = Field(
        default=1000,
        ge=1,
        description="the longest text a catalogue record carries (Dotdigital rejects a record "
        "with a longer value and publishes no limit); a longer value is left out of the record "
        "and is a `value_too_long` exception naming the SKU and the field",
    )

    @property
    def store_view_codes(self) -> list[str]:
        """The store views asked for (`["*"]`: every one); empty: the one default collection."""
        return [code for code in self.store_views.split(",") if code]


class ReconcileSettings(BaseModel):
    """`cartwright reconcile` and its scheduled run on the leader worker."""

    interval: float = Field(
        default=0.0,
        ge=0,
        description="seconds between scheduled reconciliations on the leader worker; 0: off",
    )
    lookback: float = Field(
        default=86400.0,
        gt=0,
        description="seconds of orders (by placing time) a scheduled run compares, ending now",
    )
    settle: float = Field(
        default=600.0,
        ge=0,
        description="orders Commerce changed more recently than this many seconds ago (or whose "
        "credit memos it did) are left out: their writes may still be on their way",
    )
    max_calls: int = Field(
        default=3000,
        ge=1,
        description="most Dotdigital calls one run may plan; a larger plan reads nothing and "
        "asks for a shorter window",
    )
    share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="share of the account's Low and Medium budgets `cartwright reconcile` spends "
        "(a worker's scheduled run spends its own share, with the sink)",
    )


class WarningsSettings(BaseModel):
    """Early warnings: where each reading turns into a warning, and how often they are read
    (README, "Early warnings"). Counts are over the last hour."""

    interval: float = Field(
        default=30.0, gt=0, description="seconds between evaluations of the early warnings"
    )
    baseline_hours: int = Field(
        default=24,
        ge=0,
        le=168,
        description="hours before the last one whose average per hour is the usual rate of "
        "suppressions and hard bounces (hours before the worker started count as none)",
    )
    suppressions_floor: int = Field(
        default=50,
        ge=0,
        description="suppressions and unsubscribes per hour below which nothing is unusual",
    )
    suppressions_factor: float = Field(
        default=3.0,
        ge=0,
        description="suppressions per hour warn above this many times the usual rate (and the "
        "floor)",
    )
    hard_bounces_floor: int = Field(
        default=20, ge=0, description="hard bounces per hour below which nothing is unusual"
    )
    hard_bounces_factor: float = Field(
        default=3.0,
        ge=0,
        description="hard bounces per hour warn above this many times the usual rate (and the "
        "floor)",
    )
    gate_refusals_per_hour: int = Field(
        default=100,
        ge=0,
        description="enrolments into one program held back by the consent gate, per hour",
    )
    import_failure_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="share of the records imported in the last hour that Dotdigital refused",
    )
    import_min_records: int = Field(
        default=20,
        ge=1,
        description="records imported in the last hour before the failure rate means anything",
    )
    dead_letters_per_hour: int = Field(
        default=20, ge=0, description="records dead-lettered for one reason, per hour"
    )
    consumer_lag: int = Field(
        default=10_000, ge=0, description="records waiting on one partition this worker reads"
    )
    partition_stalled_after: float = Field(
        default=600.0,
        gt=0,
        description="seconds a partition with records waiting may go without a commit",
    )
    sink_waiting_after: float = Field(
        default=600.0,
        gt=0,
        description="seconds the sink may keep retrying one Dotdigital call",
    )
    checkpoint_age: float = Field(
        default=1800.0,
        gt=0,
        description="seconds since the leader last read Dotdigital's suppression feeds through",
    )


class Settings(BaseSettings):
    """Everything Cartwright reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="CARTWRIGHT_", env_nested_delimiter="__", extra="ignore"
    )

    kafka: KafkaSettings = KafkaSettings()
    tables: TablesSettings = TablesSettings()
    dotdigital: DotdigitalSettings = DotdigitalSettings()
    adobe: AdobeSettings = AdobeSettings()
    commerce: CommerceSettings = CommerceSettings()
    web: WebSettings = WebSettings()
    webhook: WebhookSettings = WebhookSettings()
    orders: OrdersSettings = OrdersSettings()
    sink: SinkSettings = SinkSettings()
    programs: ProgramsSettings = ProgramsSettings()
    carts: CartsSettings = CartsSettings()
    consent: ConsentSettings = ConsentSettings()
    storefront: StorefrontSettings = StorefrontSettings()
    browse: BrowseSettings = BrowseSettings()
    replay: ReplaySettings = ReplaySettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    catalogue: CatalogueSettings = CatalogueSettings()
    warnings: WarningsSettings = WarningsSettings()
    log_level: str = "info"
    sandbox_hosts: str = Field(
        default="",
        description="comma-separated host names that are sandboxes: they may be called over "
        "plain http and with the sandboxes' credentials, as loopback hosts always may",
    )

    @property
    def sandbox_host_names(self) -> frozenset[str]:
        return frozenset(
            name.strip().lower() for name in self.sandbox_hosts.split(",") if name.strip()
        )
