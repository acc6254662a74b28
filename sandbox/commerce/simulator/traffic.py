"""Simulated store traffic from a seed: shoppers browse, abandon carts or order, and orders live on."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sandbox.commerce.model import lifecycle
from sandbox.commerce.model.carts import Quote
from sandbox.commerce.model.customers import SUBSCRIBER_STATUSES, Customer, Guest
from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.ledger import Shopper
from sandbox.commerce.simulator.store import Store

FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Dennis", "Frances")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton")
ENGRAVINGS = ("A.L.", "For Mum", "❤ 2026", "Keep going")


@dataclass(frozen=True)
class TrafficMix:
    """How often each kind of thing happens (shares of orders, or of sessions)."""

    registered: float = 0.5
    returning: float = 0.3
    abandoned_carts: float = 0.25
    newsletter: float = 0.3
    partial_shipment: float = 0.25
    late_tracking: float = 0.1
    refund: float = 0.15
    cancel: float = 0.05
    hold: float = 0.05
    edit: float = 0.03
    email_change: float = 0.03
    guest_registers: float = 0.05
    product_update: float = 0.1


Action = Callable[[], object]


class StoreTraffic:
    """Drives a store at a rate. `run(orders)` is a generator: it yields the offset (simulated
    seconds after the start) of each next action, then performs it at that store time when
    resumed, so a driver can wait in between, or just exhaust it to play everything at once."""

    def __init__(
        self,
        store: Store,
        *,
        seed: int = 7,
        orders_per_minute: float = 30.0,
        ship_after_seconds: float = 20.0,
        mix: TrafficMix | None = None,
    ) -> None:
        self.store = store
        self._random = random.Random(f"commerce-traffic:{seed}")  # noqa: S311 - not security
        self._gap = 60.0 / orders_per_minute
        self._ship_after = ship_after_seconds
        self._mix = mix or TrafficMix()
        self._queue: list[tuple[float, int, Action]] = []
        self._sequence = 0
        self._now = 0.0
        self._guests: list[Guest] = []
        self._customers: list[Customer] = []

    def _at(self, delay: float, action: Action) -> None:
        heapq.heappush(self._queue, (self._now + delay, self._sequence, action))
        self._sequence += 1

    def _chance(self, share: float) -> bool:
        return self._random.random() < share

    def run(self, orders: int) -> Iterator[float]:
        start = self.store.clock.now()
        for number in range(orders):
            self._now = number * self._gap
            self._at(0.0, self._session)
            if self._chance(self._mix.abandoned_carts):
                self._at(self._gap / 2, self._abandoned_cart)
            if self._chance(self._mix.product_update):
                self._at(self._gap / 3, self._product_update)
        while self._queue:
            at, _, action = heapq.heappop(self._queue)
            yield at
            self._now = at
            self.store.clock.advance_to(start + timedelta(seconds=at))
            action()

    # shoppers

    def _new_person(self) -> tuple[str, str, str]:
        number = self.store.next_id("shopper")
        first, last = self._random.choice(FIRST_NAMES), self._random.choice(LAST_NAMES)
        email = f"{first}.{last}.{number}@example.com".lower()
        if self._chance(0.2):
            email = f"  {email.upper()} "  # Commerce keeps what the shopper typed
        return email, first, last

    def _shopper(self) -> Shopper:
        if self._customers and self._chance(self._mix.returning):
            return self._random.choice(self._customers)
        if self._guests and self._chance(self._mix.returning / 2):
            return self._random.choice(self._guests)
        email, first, last = self._new_person()
        if self._chance(self._mix.registered):
            subscribe = self._chance(self._mix.newsletter)
            customer = self.store.register(email.strip(), first, last, subscribe=subscribe)
            self._customers.append(customer)
            return customer
        guest = self.store.guest(email, first, last)
        self._guests.append(guest)
        return guest

    def _lines(self) -> list[Line]:
        catalogue = self.store.catalogue
        lines = []
        for product in self._random.sample(catalogue.saleable(), self._random.randint(1, 3)):
            sku = (
                self._random.choice(product.children)
                if product.type_id == "configurable"
                else product.sku
            )
            options: dict[int, str] = {}
            for option in product.options:
                if not self._chance(0.4):
                    continue
                if option.type == "multiple":
                    ids = [str(value_id) for value_id, _, _ in option.values]
                    options[option.option_id] = ",".join(
                        self._random.sample(ids, self._random.randint(1, len(ids)))
                    )
                elif option.selects:
                    options[option.option_id] = str(self._random.choice(option.values)[0])
                else:
                    options[option.option_id] = self._random.choice(ENGRAVINGS)
            lines.append(catalogue.line(sku, self._random.randint(1, 3), options))
        return lines

    def _fill_cart(self, shopper: Shopper | None) -> Quote:
        cart = self.store.open_cart(shopper if isinstance(shopper, Customer) else None)
        lines = self._lines()
        self.store.view_category(
            self.store.catalogue.products[lines[0].sku].categories[0], shopper, cart
        )
        for line in lines:
            self.store.view_product(line.sku, shopper, cart)
            self.store.add_to_cart(cart, line, shopper)
        return cart

    # sessions

    def _session(self) -> None:
        shopper = self._shopper()
        cart = self._fill_cart(shopper)
        self._at(self._gap / 4, lambda: self._checkout(shopper, cart))
        if self._chance(self._mix.email_change):
            self._at(self._gap / 5, self._email_change)

    def _abandoned_cart(self) -> None:
        shopper = self._shopper()
        cart = self._fill_cart(shopper)
        if isinstance(shopper, Guest) and self._chance(0.5):
            self._at(self._gap / 5, lambda: self.store.reach_payment(cart, shopper))

    def _checkout(self, shopper: Shopper, cart: Quote) -> None:
        if isinstance(shopper, Guest):
            self.store.reach_payment(cart, shopper)
        coupon = self._chance(0.2)
        order = self.store.place_order(
            shopper, quote=cart, coupon="WELCOME10" if coupon else None,
            discount=Decimal("5.00") if coupon else Decimal("0"),
        )  # fmt: skip
        if self._chance(self._mix.cancel):
            self._at(3.0, lambda: self._when(order, lifecycle.can_cancel, self.store.cancel))
            return
        if self._chance(self._mix.edit):
            self._at(3.0, lambda: self._edit(order))
            return
        if self._chance(self._mix.hold):
            self._at(1.0, lambda: self._when(order, lambda o: o.state == "new", self.store.hold))
            self._at(
                4.0, lambda: self._when(order, lambda o: o.state == "holded", self.store.unhold)
            )
        self._at(5.0, lambda: self._invoice(order))
        if isinstance(shopper, Guest) and self._chance(self._mix.guest_registers):
            self._at(6.0, lambda: self._register_guest(shopper))

    def _when(
        self, order: Order, allowed: Callable[[Order], bool], act: Callable[[Order], object]
    ) -> None:
        if allowed(order):
            act(order)

    def _edit(self, order: Order) -> None:
        if order.total_invoiced is None and lifecycle.can_cancel(order):
            edited = self.store.edit(order)
            self._at(5.0, lambda: self._invoice(edited))

    def _invoice(self, order: Order) -> None:
        if not lifecycle.can_invoice(order):
            if order.state == "holded":  # released a little later
                self._at(5.0, lambda: self._invoice(order))
            return
        self.store.invoice(order)
        shippable = [line for line in order.lines if line.to_ship > 0]
        if len(shippable) > 1 and self._chance(self._mix.partial_shipment):
            first = shippable[0]
            self._at(self._ship_after, lambda: self._ship(order, {first.sku: first.to_ship}))
            self._at(self._ship_after * 1.5, lambda: self._ship(order, None))
        elif shippable:
            self._at(self._ship_after, lambda: self._ship(order, None))
        elif self._chance(self._mix.refund):  # virtual orders complete at the invoice
            self._at(self._ship_after, lambda: self._refund(order))

    def _ship(self, order: Order, items: dict[str, int] | None) -> None:
        if not lifecycle.can_ship(order):
            return
        events = self.store.ship(order, items, track=not self._chance(self._mix.late_tracking))
        shipment = next(reversed(self.store.shipments.values()))
        if not shipment.tracks:
            self._at(self._ship_after / 2, lambda: self.store.add_track(shipment))
        if events and order.state == "complete" and self._chance(self._mix.refund):
            self._at(self._ship_after, lambda: self._refund(order))

    def _refund(self, order: Order) -> None:
        if not lifecycle.can_creditmemo(order):
            return
        line = order.lines[0]
        if self._chance(0.5) and line.to_refund > 0:
            self.store.refund(order, {line.sku: 1})
        else:
            self.store.refund(order)

    # the rest of the store

    def _register_guest(self, guest: Guest) -> None:
        if self.store.find_customer(guest.email) is None:
            customer = self.store.register(guest.email.strip(), guest.firstname, guest.lastname)
            self._customers.append(customer)
            self.store.claim_guest_orders(customer)

    def _email_change(self) -> None:
        if self._customers:
            customer = self._random.choice(self._customers)
            self.store.change_email(customer, self._new_person()[0].strip())
        if self._chance(self._mix.newsletter):
            people: list[Shopper] = [*self._customers, *self._guests]
            email = self._random.choice(people).email if people else self._new_person()[0]
            self.store.subscribe(email.strip(), self._random.choice(SUBSCRIBER_STATUSES))

    def _product_update(self) -> None:
        product = self._random.choice(list(self.store.catalogue.products.values()))
        colours = self.store.catalogue.attributes["color"].options
        if self._chance(0.5) and "color" in product.attributes:
            self.store.update_product(
                product.sku, attributes={"color": self._random.choice(colours)[0]}
            )
        else:
            change = Decimal(self._random.choice(("-1.00", "1.00", "2.50")))
            self.store.update_product(
                product.sku, price=max(product.price + change, Decimal("1.00"))
            )
