"""Consent both ways over any interleaving, end to end without Kafka.

The store simulator is Commerce and a Dotdigital sandbox account is Dotdigital, each answering
the real client in-process at its transport seam. Between them run the real steps: normalize
and join (dict tables), the realtime writer and the batch sink with their consent gate, the
consent writer, the suppression poller and the Commerce write-back. Every topic is a queue and
hypothesis chooses what moves next: Adobe delivers late, out of order and twice, Kafka runs a
write-back again, and lanes, polls and write-backs run whenever they like.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.commerce.model.customers import Customer, Guest
from sandbox.commerce.simulator.events import SUBSCRIBER_SAVED
from sandbox.commerce.simulator.store import Store
from sandbox.dotdigital.account.config import SandboxConfig
from sandbox.dotdigital.account.contact import SUPPRESSED_STATUSES
from sandbox.dotdigital.account.contact import Contact as DotdigitalContact
from sandbox.dotdigital.account.state import Sandbox
from schemas.commerce.events import CloudEvent, raw_key
from schemas.commerce.writeback import CommerceUnsubscribe
from schemas.contract.carts import CartUpdated
from schemas.contract.consent import OPTED_OUT, ConsentChanged, ConsentSource, ConsentStatus
from schemas.contract.incidents import Reason
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.contract.topics import COMMERCE_WRITES, CONSENT, IDENTITY, ORDERS
from schemas.dotdigital.commands import ConsentWrite, Lane, WriteCommand
from schemas.rules.consent import ConsentState
from schemas.rules.contacts import ContactHandover
from streams.process.join_output import JoinNotice
from streams.process.joiner import Joiner
from streams.process.normalize import Normalizer, NotUsed
from streams.runtime.metrics import Metrics
from streams.sinks.commerce.write_back import WriteBack
from streams.sinks.consent_gate import ConsentGate
from streams.sinks.dotdigital.batch_writer import BatchWriter
from streams.sinks.dotdigital.consent_writer import ConsentWriter
from streams.sinks.dotdigital.realtime_writer import RealtimeWriter
from streams.sources.suppression_feed import SuppressionPoller
from tests.support.faketime import FakeTime
from tests.support.inprocess import InProcessCommerce, InProcessDotdigital

PROGRAMS = {"order_fulfilled": 101, "first_order": 102}
CUSTOMERS = ["ada@example.com", "alan@example.com", "grace@example.com"]
GUESTS = ["guest.one@example.com", "guest.two@example.com"]
EVERYONE = CUSTOMERS + GUESTS
ADA, GUEST = CUSTOMERS[0], GUESTS[0]
SKU = "24-MB01"
# Every step takes a second. Commerce dates a subscriber save to the second, so the join cannot
# order two saves of one second: a subscribe loses such a tie (see `test_same_second_saves_...`),
# and an unsubscribe and a subscribe within one second can end with Commerce subscribed and
# Dotdigital not. That limitation is left out of the interleavings.
TICK = 1.0
OVERLAP = 600.0  # the poller's default re-read window
DRAIN_ROUNDS = 12
SUBSCRIBED_IN_COMMERCE = 1
AWAITING_CONFIRMATION = (2, 4)  # Commerce's "not active" and "unconfirmed"

T = TypeVar("T")


@dataclass(frozen=True)
class Enrolled:
    """An enrolment Dotdigital received, with what both gates saw at that moment."""

    program_id: int
    email: str
    table: ConsentState | None
    status: str


@dataclass(frozen=True)
class Resubscribed:
    """A re-subscribe Dotdigital received, with the table's consent at that moment."""

    email: str
    table: ConsentState | None


class MemoryCursors:
    """The poller's checkpoint, kept in a dict."""

    def __init__(self) -> None:
        self.saved: dict[str, dict[str, Any]] = {}

    async def load(self, name: str) -> dict[str, Any] | None:
        return self.saved.get(name)

    async def save(self, name: str, document: dict[str, Any]) -> None:
        self.saved[name] = document


async def never_sleep(seconds: float) -> None:
    raise AssertionError(f"nothing here fails for a passing reason, yet a retry waited {seconds}")


def head_of_partition(items: list[T], pick: int, email_of: Callable[[T], str]) -> T | None:
    """Take the oldest item of the email `pick` lands on: a topic keeps each key's order."""
    if not items:
        return None
    email = email_of(items[pick % len(items)])
    head = next(item for item in items if email_of(item) == email)
    items.remove(head)
    return head


Step = tuple[Any, ...]


class ConsentLoop:
    """Commerce, Dotdigital and Cartwright in between, every topic a queue."""

    def __init__(self, signed_up: list[bool]) -> None:
        self.store = Store(seed=17)
        self.normalizer = Normalizer({})
        self.joiner = Joiner({}, {}, programs=PROGRAMS)
        # What Dotdigital received, with the join's consent at the moment the request passed.
        self.enrolled: list[Enrolled] = []
        self.resubscribed: list[Resubscribed] = []
        account = Sandbox(
            # Dotdigital adds a re-subscribed contact back at once here (as the no-challenge
            # variant does): these interleavings are about order, and a challenged contact
            # waits on a person's click (see test_consent_writer and the consent e2e tests).
            SandboxConfig(
                programs=dict.fromkeys(PROGRAMS.values(), True), resubscribe_challenges=False
            ),
            lambda: self.store.clock.now().timestamp(),
        )
        self.contacts = account.contacts
        time = FakeTime()  # the clients' clocks, and their waits between import polls
        self.dotdigital = InProcessDotdigital(
            account, on_enrol=self._enrolled, on_resubscribe=self._resubscribed
        ).client(time)
        self.commerce = InProcessCommerce(self.store).client(time)
        gate = ConsentGate(self.joiner.consent_of)
        consent = ConsentWriter(
            self.dotdigital,
            gate=gate,
            observe=self._observed,
            now=self.store.clock.now,
            sleep=never_sleep,
        )
        self.realtime_writer = RealtimeWriter(
            self.dotdigital, sleep=never_sleep, gate=gate, consent=consent
        )
        self.sink = BatchWriter(self.dotdigital, sleep=never_sleep, gate=gate, consent=consent)
        self.poller = SuppressionPoller(
            self.dotdigital,
            self._polled,
            MemoryCursors(),
            overlap=OVERLAP,
            first_poll_since=None,
            report=self._unreadable,
            now=self.store.clock.now,
            metrics=Metrics(),
        )
        self.writeback = WriteBack(
            self.commerce,
            sleep=never_sleep,
            now=self.store.clock.now,
            metrics=Metrics(),
            gate=gate,
        )
        self.runner = asyncio.Runner()
        # commerce.raw.v1 as Adobe delivers it: whatever is pending, in any order, and again.
        self.raw: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []
        self.collected = 0
        # cartwright.consent.observed.v1: feed rows and re-subscribe answers.
        self.observations: list[ConsentChanged] = []
        self.realtime: list[WriteCommand] = []
        self.batch: list[WriteCommand] = []
        self.write_backs: list[CommerceUnsubscribe] = []
        self.written_back: list[CommerceUnsubscribe] = []
        # What the join said and did, for the properties.
        self.published: list[ConsentChanged] = []
        self.consent_writes: list[ConsentWrite] = []
        self.commerce_writes: list[CommerceUnsubscribe] = []
        self.notices: list[JoinNotice] = []
        self.touched: set[str] = set()
        self.clicked: dict[str, float] = {}  # the last Dotdigital-side opt-out of each email
        # Event ids of the Commerce saves our write-backs caused, and of those that overwrote
        # a newer Commerce subscribe the join had not seen yet (see `write_back`).
        self.echoes: set[str] = set()
        self.raced: set[str] = set()
        self.customers = [
            self.store.register(email, "Cart", "Wright", subscribe=subscribe)
            for email, subscribe in zip(CUSTOMERS, signed_up, strict=True)
        ]
        self.touched.update(e for e, yes in zip(CUSTOMERS, signed_up, strict=True) if yes)
        self._collect()

    def close(self) -> None:
        self.runner.run(self.dotdigital.aclose())
        self.runner.run(self.commerce.aclose())
        self.runner.close()

    # --- what Dotdigital notes as requests pass ------------------------------------------------

    def _enrolled(self, program_id: int, contact: DotdigitalContact) -> None:
        table = self.joiner.consent_of(contact.email)
        self.enrolled.append(Enrolled(program_id, contact.email, table, contact.status))

    def _resubscribed(self, email: str) -> None:
        self.resubscribed.append(Resubscribed(email, self.joiner.consent_of(email)))

    # --- the Faust wiring, as plain calls ------------------------------------------------------

    async def _observed(self, change: ConsentChanged) -> None:
        self.observations.append(change)

    async def _polled(self, email: str, change: ConsentChanged) -> None:
        self.observations.append(change)

    async def _unreadable(self, row: Any, problem: str, reason: Reason) -> None:
        raise AssertionError(f"the poller could not read {row}: {problem}")

    def _collect(self) -> None:
        self.raw.extend(self.store.events[self.collected :])
        self.collected = len(self.store.events)

    def deliver(self, event: dict[str, Any]) -> None:
        envelope = CloudEvent.model_validate_json(orjson.dumps(event))
        try:
            emitted = self.normalizer.apply(raw_key(envelope).encode(), envelope)
        except NotUsed:
            return  # products: kept on the raw topic, not used yet
        for item in emitted:
            if not isinstance(item, CartUpdated):  # carts: another agent's, not these rules
                self._join(item)

    def _join(self, item: Any, topic: str | None = None) -> None:
        if topic == IDENTITY:
            out = self.joiner.on_handover(item)
        elif isinstance(item, ConsentChanged):
            out = self.joiner.on_consent(item)
        elif isinstance(item, OrderUpdated):
            out = self.joiner.on_order(item)
        elif isinstance(item, RefundRecorded):
            out = self.joiner.on_refund(item)
        else:
            assert isinstance(item, CustomerUpdated)
            out = self.joiner.on_customer(item, item.email)
        self.notices.extend(out.notices)
        for write in out.writes:
            if isinstance(write.command, ConsentWrite):
                self.consent_writes.append(write.command)
            (self.realtime if write.command.lane is Lane.REALTIME else self.batch).append(write)
        for forward in out.forwards:
            name, event = forward.topic, forward.event
            if name == CONSENT:
                assert isinstance(event, ConsentChanged)
                self.published.append(event)
            elif name == COMMERCE_WRITES:
                assert isinstance(event, CommerceUnsubscribe)
                self.commerce_writes.append(event)
                self.write_backs.append(event)
            else:
                assert name in (IDENTITY, ORDERS)
                assert isinstance(event, ContactHandover | OrderUpdated)
                self._join(event, name)

    # --- the steps -----------------------------------------------------------------------------

    def shopper(self, index: int) -> Customer | Guest:
        if index < len(CUSTOMERS):
            return self.customers[index]
        return self.store.guest(EVERYONE[index], "Guest", "Shopper")

    def step(self, action: Step) -> None:
        kind = action[0]
        self.store.clock.advance(TICK)
        if kind == "newsletter":
            _, who, status = action
            self.touched.add(EVERYONE[who])
            self.store.subscribe(EVERYONE[who], status)
        elif kind == "account":
            _, who, subscribed = action
            if self.store.set_subscription(self.customers[who], subscribed)[1:]:
                self.touched.add(CUSTOMERS[who])
        elif kind == "dotdigital":
            _, who, status = action
            self.dotdigital_event(EVERYONE[who], status)
        elif kind == "order":
            shopper = self.shopper(action[1])
            order = self.store.place_order(shopper, [self.store.catalogue.line(SKU, 1)])
            self.store.invoice(order)
            self.store.ship(order)
        elif kind == "cart":
            shopper = self.shopper(action[1])
            quote = self.store.open_cart(shopper)
            self.store.add_to_cart(quote, self.store.catalogue.line(SKU, 1), shopper)
        elif kind == "wait":
            self.store.clock.advance(action[1])
        elif kind == "deliver" and self.raw:
            event = self.raw.pop(action[1] % len(self.raw))
            self.delivered.append(event)
            self.deliver(event)
        elif kind == "redeliver" and self.delivered:
            self.deliver(self.delivered[action[1] % len(self.delivered)])
        elif kind == "realtime":
            write = head_of_partition(self.realtime, action[1], lambda w: w.command.email or "")
            if write is not None:
                self.write_realtime(write)
        elif kind == "realtime_all":
            while self.realtime:
                self.write_realtime(self.realtime.pop(0))
        elif kind == "batch":
            self.write_batch()
        elif kind == "poll":
            self.poll()
        elif kind == "write_back":
            command = head_of_partition(self.write_backs, action[1], lambda c: c.email)
            if command is not None:
                self.write_back(command)
        elif kind == "write_back_again" and self.written_back:
            # At least once: a write-back whose offset was not committed runs again.
            self.write_back(self.written_back[action[1] % len(self.written_back)])
        elif kind == "observe":
            change = head_of_partition(self.observations, action[1], lambda c: c.email)
            if change is not None:
                self._join(change)
        self._collect()

    def dotdigital_event(self, email: str, status: str) -> None:
        """Someone clicks unsubscribe in a mail, or a mail bounces or is complained about: only
        a contact Dotdigital mails can do that, and a suppression is not lifted by a click."""
        contact = self.contacts.get(email)
        if contact is None or contact.status in SUPPRESSED_STATUSES:
            return
        if status == "unsubscribed" and contact.status != "subscribed":
            return
        self.touched.add(email)
        self.contacts.force_status(email, status)
        self.clicked[email] = self.store.clock.now().timestamp()

    def write_realtime(self, write: WriteCommand) -> None:
        command = write.command
        assert isinstance(command, ConsentWrite)
        email = command.email
        table = self.joiner.consent_of(email)  # nothing folds while the lane writes
        opted_out = [
            c.occurred_at for c in self.published if c.email == email and c.status in OPTED_OUT
        ]
        contact = self.contacts.get(email)
        removed = self.contacts.suppression(contact.contact_id) if contact else None
        asked, observed = len(self.resubscribed), len(self.observations)
        self.runner.run(self.realtime_writer.write([(write, command.subject)]))
        called = len(self.resubscribed) > asked
        answered = any(c.answers == command.consent_event_id for c in self.observations[observed:])
        if not (called or answered):
            return
        # Property 1: a re-subscribe goes out (or is answered for a contact Dotdigital already
        # has subscribed) only for the request the table still waits on.
        assert command.action == "resubscribe"
        assert table is not None and table.status is ConsentStatus.PENDING, (table, command)
        assert table.requested == command.consent_event_id, (table, command)
        # An unsubscribe wins: a Commerce subscribe older than an opt-out the join has already
        # published is no request to Dotdigital...
        assert all(at <= command.occurred_at for at in opted_out), (command, opted_out)
        # ...nor does it lift an unsubscribe someone clicked in Dotdigital after it.
        if removed is not None and removed.date_removed == self.clicked.get(email):
            lifted = self.contacts.suppression(removed.contact_id) is None
            newer = removed.date_removed > command.occurred_at.timestamp()
            assert not (lifted and newer), (command, removed)

    def write_batch(self) -> None:
        writes, self.batch = self.batch, []
        if writes:
            rejections = self.runner.run(self.sink.write([(w, n) for n, w in enumerate(writes)]))
            assert all(r.reason is Reason.CONSENT_GATE for r in rejections), rejections

    def poll(self) -> int:
        return self.runner.run(self.poller.poll_once()).published

    def write_back(self, command: CommerceUnsubscribe) -> None:
        """The write-back agent: `is_subscribed: false` on the customer's account."""
        self.written_back.append(command)
        subscriber = self.store.subscribers.get(command.email)
        table = self.joiner.consent_of(command.email)
        # Commerce's API has no conditional write: a subscribe saved in Commerce after the
        # opt-out, and not yet delivered to the join, is overwritten, and its echo is then the
        # newest thing Commerce says. Only that race may echo (`assert_nothing_echoes`); a
        # write-back that undoes a subscribe the join already holds is a stale command.
        raced = (
            subscriber is not None
            and subscriber.status == SUBSCRIBED_IN_COMMERCE
            and subscriber.change_status_at > command.occurred_at
            and (
                table is None
                or table.commerce_at is None
                or table.commerce_at < subscriber.change_status_at
            )
        )
        before = len(self.store.events)
        assert self.runner.run(self.writeback.apply(command)) is None
        caused = {event["eventid"] for event in self.store.events[before:]}
        self.echoes.update(caused)
        if raced:
            self.raced.update(caused)

    def drain(self) -> None:
        """Everything delivered, written, polled and written back, until nothing moves."""
        for _ in range(DRAIN_ROUNDS):
            queued = self.raw, self.observations, self.realtime, self.batch, self.write_backs
            moved = any(queued)
            while self.raw:
                self.step(("deliver", 0))
            while self.observations:
                self.step(("observe", 0))
            self.step(("realtime_all",))
            self.step(("batch",))
            while self.write_backs:
                self.step(("write_back", 0))
            self.store.clock.advance(TICK)
            if self.poll() == 0 and not moved:
                return
        raise AssertionError("the consent loop did not settle")


# --- the properties -----------------------------------------------------------------------------


def in_dotdigital(loop: ConsentLoop, email: str) -> str | None:
    contact = loop.contacts.get(email)
    return None if contact is None else contact.status


def assert_enrolments_only_for_subscribed(loop: ConsentLoop) -> None:
    """Property 1, enrolments: both gates saw a subscribed (or unknown) contact at that moment."""
    for sent in loop.enrolled:
        assert sent.table is None or sent.table.status is ConsentStatus.SUBSCRIBED, sent
        assert sent.status == "subscribed", sent


def assert_both_sides_agree(loop: ConsentLoop) -> None:
    """Property 2, once settled, for every email either side's consent was touched: Commerce,
    the table and Dotdigital
    agree on subscribed or not (an address nobody touched is subscribed by Dotdigital's default
    when an order creates it, by design)."""
    for email in sorted(loop.touched):
        contact = loop.contacts.get(email)
        dotdigital_says = contact is not None and contact.status == "subscribed"
        subscriber = loop.store.subscribers.get(email)
        commerce_says = subscriber is not None and subscriber.status == SUBSCRIBED_IN_COMMERCE
        table = loop.joiner.consent_of(email)
        table_says = table is not None and table.status is ConsentStatus.SUBSCRIBED
        where = (email, contact, subscriber, table)
        if (
            subscriber is not None
            and subscriber.status in AWAITING_CONFIRMATION
            and table is not None
            and table.status is ConsentStatus.PENDING
            and table.requested is None
        ):
            # By design Commerce's "not active" and "unconfirmed" write nothing to Dotdigital:
            # the table holds enrolments back, and Dotdigital keeps the status it had (subscribed
            # when the contact was subscribed before, or created by an order's contact upsert).
            continue
        assert table_says == dotdigital_says, where
        if email in GUESTS and commerce_says and not dotdigital_says:
            # Commerce has no API for guest subscribers: an operator is told instead (of a
            # refused re-subscribe, the refusal says it).
            notices = {n.reason for n in loop.notices if n.email == email}
            assert notices & {Reason.GUEST_UNSUBSCRIBE, Reason.RESUBSCRIBE_REFUSED}, where
            continue
        assert commerce_says == dotdigital_says, where


def assert_nothing_echoes(loop: ConsentLoop) -> None:
    """Property 3: nothing goes back to the side it came from."""
    for write in loop.consent_writes:
        if write.consent_event_id not in loop.raced:
            assert write.consent_event_id not in loop.echoes, ("write-back echoed", write)
        if write.consent_event_id.startswith("dotdigital:"):
            # The one Dotdigital-sourced command: an opt-out that overtook a re-subscribe
            # Dotdigital accepted is enforced again (`_answer`).
            assert write.action == "unsubscribe", write
            assert write.consent_event_id.startswith("dotdigital:resubscribe:"), write
    for change in loop.published:
        if change.event_id not in loop.raced:
            assert change.event_id not in loop.echoes, ("write-back published", change)
    for command in loop.commerce_writes:
        assert command.consent_event_id not in loop.echoes, ("write-back wrote back", command)


def assert_changes_only(loop: ConsentLoop) -> None:
    """Property 4: `consent.v1` carries changes, never the same status twice in a row."""
    last: dict[str, ConsentStatus] = {}
    for change in loop.published:
        assert last.get(change.email) is not change.status, (change, last.get(change.email))
        last[change.email] = change.status


def assert_consent_rules(loop: ConsentLoop) -> None:
    assert_enrolments_only_for_subscribed(loop)
    assert_both_sides_agree(loop)
    assert_nothing_echoes(loop)
    assert_changes_only(loop)


# --- the random interleavings -------------------------------------------------------------------

person = st.integers(0, len(EVERYONE) - 1)
pick = st.integers(0, 1_000)
newsletter = st.tuples(st.just("newsletter"), person, st.integers(1, 4))
dotdigital = st.tuples(
    st.just("dotdigital"),
    person,
    st.sampled_from(["unsubscribed", "hardBounced", "ispComplained"]),
)
deliver = st.tuples(st.just("deliver"), pick)
redeliver = st.tuples(st.just("redeliver"), pick)
realtime = st.tuples(st.just("realtime"), pick)
poll = st.tuples(st.just("poll"))
observe = st.tuples(st.just("observe"), pick)
# Weighted by repetition: consent changes and what carries them come up most.
steps = st.one_of(
    *[newsletter] * 3,
    st.tuples(st.just("account"), st.integers(0, len(CUSTOMERS) - 1), st.booleans()),
    *[dotdigital] * 3,
    st.tuples(st.just("order"), person),
    st.tuples(st.just("cart"), person),
    st.tuples(st.just("wait"), st.sampled_from([30, 300, 900])),
    *[deliver] * 3,
    *[redeliver] * 2,
    *[realtime] * 2,
    st.tuples(st.just("realtime_all")),
    st.tuples(st.just("batch")),
    *[poll] * 2,
    st.tuples(st.just("write_back"), pick),
    st.tuples(st.just("write_back_again"), pick),
    *[observe] * 2,
)


def play(signed_up: list[bool], actions: list[Step]) -> ConsentLoop:
    loop = ConsentLoop(signed_up)
    try:
        for action in actions:
            loop.step(action)
        loop.drain()
    finally:
        loop.close()
    return loop


@settings(max_examples=150, deadline=None, report_multiple_bugs=False)
@given(st.lists(st.booleans(), min_size=3, max_size=3), st.lists(steps, min_size=20, max_size=60))
def test_any_interleaving_keeps_consent_current_and_ends_with_both_sides_agreeing(
    signed_up: list[bool], actions: list[Step]
) -> None:
    loop = play(signed_up, actions)

    assert_consent_rules(loop)


# --- by hand ------------------------------------------------------------------------------------


def test_a_dotdigital_unsubscribe_reaches_the_customer_and_its_echo_goes_nowhere() -> None:
    loop = play(
        [True, False, False],
        [
            ("deliver", 0),
            ("deliver", 0),
            ("deliver", 0),
            ("deliver", 0),
            ("realtime_all",),
            ("observe", 0),
            ("batch",),
            ("dotdigital", 0, "unsubscribed"),
            ("poll",),
            ("observe", 0),
            ("write_back", 0),
        ],
    )

    assert loop.store.subscribers[ADA].status == 3
    assert [c.customer_id for c in loop.commerce_writes] == [loop.customers[0].id]
    assert loop.echoes
    assert [w.action for w in loop.consent_writes] == ["resubscribe"]  # the echo wrote nothing
    assert [(c.status, c.source) for c in loop.published] == [
        (ConsentStatus.PENDING, ConsentSource.COMMERCE),
        (ConsentStatus.SUBSCRIBED, ConsentSource.DOTDIGITAL),
        (ConsentStatus.UNSUBSCRIBED, ConsentSource.DOTDIGITAL),
    ]
    assert_consent_rules(loop)


def test_a_commerce_resubscribe_of_a_hard_bounced_contact_is_refused_and_written_back() -> None:
    loop = ConsentLoop([True, False, False])
    try:
        loop.drain()
        loop.step(("dotdigital", 0, "hardBounced"))
        loop.drain()
        assert loop.store.subscribers[ADA].status == 3
        loop.step(("account", 0, True))
        loop.drain()
    finally:
        loop.close()

    assert in_dotdigital(loop, ADA) == "hardBounced"
    assert loop.store.subscribers[ADA].status == 3
    consent = loop.joiner.consent_of(ADA)
    assert consent is not None and consent.status is ConsentStatus.SUPPRESSED
    assert [n.reason for n in loop.notices] == [Reason.RESUBSCRIBE_REFUSED]
    assert [c.status for c in loop.published] == [
        ConsentStatus.PENDING,
        ConsentStatus.SUBSCRIBED,
        ConsentStatus.SUPPRESSED,
        ConsentStatus.PENDING,
        ConsentStatus.SUPPRESSED,
    ]
    assert len(loop.commerce_writes) == 2
    assert_consent_rules(loop)


def test_a_guest_unsubscribed_in_dotdigital_stays_subscribed_in_commerce_with_a_notice() -> None:
    loop = play(
        [False, False, False],
        [
            ("newsletter", 3, 1),
            ("deliver", 3),
            ("realtime_all",),
            ("observe", 0),
            ("dotdigital", 3, "unsubscribed"),
        ],
    )

    assert in_dotdigital(loop, GUEST) == "unsubscribed"
    assert loop.store.subscribers[GUEST].status == 1
    assert loop.commerce_writes == []
    assert [n.reason for n in loop.notices] == [Reason.GUEST_UNSUBSCRIBE]
    assert_consent_rules(loop)


# --- what the interleavings found ---------------------------------------------------------------
# Each was a bug in the consent rules (schemas/rules/consent.py), the consent writer
# (streams/sinks/dotdigital/consent_writer.py) or the write-back (streams/sinks/commerce/write_back.py),
# kept here at its smallest.


def test_a_newer_commerce_pending_withdraws_an_unanswered_subscribe_request() -> None:
    # Subscribed, then "not active" a second later; Dotdigital answers the first afterwards.
    loop = play([False, False, False], [("newsletter", 3, 1), ("newsletter", 3, 2)])

    assert loop.resubscribed == []
    assert_consent_rules(loop)


def test_confirming_a_pending_subscription_publishes_each_status_once() -> None:
    # "Not active" (awaiting confirmation), then confirmed.
    loop = play([False, False, False], [("newsletter", 3, 2), ("newsletter", 3, 1)])

    assert [c.status for c in loop.published] == [ConsentStatus.PENDING, ConsentStatus.SUBSCRIBED]


def test_a_redelivered_subscribe_does_not_undo_a_later_dotdigital_unsubscribe() -> None:
    loop = ConsentLoop([False, False, False])
    try:
        loop.step(("newsletter", 3, 1))
        loop.drain()
        loop.step(("dotdigital", 3, "unsubscribed"))
        loop.drain()
        assert [n.reason for n in loop.notices] == [Reason.GUEST_UNSUBSCRIBE]
        # Adobe delivers the guest's subscriber save a second time.
        loop.deliver(next(e for e in loop.delivered if e["type"].endswith(SUBSCRIBER_SAVED)))
        loop.drain()
    finally:
        loop.close()

    assert in_dotdigital(loop, GUEST) == "unsubscribed"
    assert_consent_rules(loop)


def test_a_late_subscribe_does_not_undo_a_later_dotdigital_unsubscribe() -> None:
    loop = ConsentLoop([False, False, False])
    try:
        loop.step(("order", 3))
        loop.drain()
        loop.step(("newsletter", 3, 1))
        held = loop.raw.pop()  # Adobe holds this save back...
        loop.step(("dotdigital", 3, "unsubscribed"))  # ...past an unsubscribe a second later
        loop.drain()
        loop.raw.append(held)
        loop.drain()
    finally:
        loop.close()

    assert in_dotdigital(loop, GUEST) == "unsubscribed"
    assert_consent_rules(loop)


def test_a_subscribe_does_not_lift_an_unsubscribe_clicked_in_dotdigital_after_it() -> None:
    loop = ConsentLoop([False, False, False])
    try:
        loop.drain()  # Ada's contact exists (an account, no newsletter yet)
        loop.step(("newsletter", 0, 1))
        loop.step(("dotdigital", 0, "unsubscribed"))  # a second later, before the feeds are read
        loop.drain()
    finally:
        loop.close()

    assert in_dotdigital(loop, ADA) == "unsubscribed"
    assert_consent_rules(loop)


def test_a_write_back_run_again_does_not_undo_a_later_commerce_subscribe() -> None:
    loop = ConsentLoop([True, False, False])
    try:
        loop.drain()
        loop.step(("dotdigital", 0, "unsubscribed"))
        loop.drain()
        loop.step(("account", 0, True))  # Ada subscribes again in her account
        loop.drain()
        assert in_dotdigital(loop, ADA) == "subscribed"
        loop.step(("write_back_again", 0))  # the earlier write-back, its offset not committed
        loop.drain()
    finally:
        loop.close()

    assert loop.store.subscribers[ADA].status == SUBSCRIBED_IN_COMMERCE
    assert in_dotdigital(loop, ADA) == "subscribed"
    assert_consent_rules(loop)


def test_same_second_saves_delivered_in_reverse_end_on_the_newer_one() -> None:
    loop = ConsentLoop([True, False, False])
    try:
        loop.store.subscribe(ADA, 2)  # "not active", within the second of the sign-up
        loop._collect()
        saves = [e for e in loop.raw if e["type"].endswith(SUBSCRIBER_SAVED)]
        for save in saves:
            loop.raw.remove(save)
        loop.raw.extend(reversed(saves))
        loop.drain()
    finally:
        loop.close()

    assert loop.store.subscribers[ADA].status == 2
    assert loop.resubscribed == []


def test_an_unsubscribe_and_a_subscribe_in_one_second_end_unsubscribed_on_both_sides() -> None:
    # Which came last cannot be told from Commerce's dates: the unsubscribe wins the tie, and
    # Commerce, which shows the subscribe, is put back in step.
    loop = ConsentLoop([True, False, False])
    try:
        loop.drain()
        loop.store.subscribe(ADA, 3)
        loop.store.subscribe(ADA, 1)  # within the same second
        loop._collect()
        loop.drain()
    finally:
        loop.close()

    assert in_dotdigital(loop, ADA) == "unsubscribed"
    assert loop.store.subscribers[ADA].status != SUBSCRIBED_IN_COMMERCE
    assert_consent_rules(loop)
