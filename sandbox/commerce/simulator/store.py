"""The sandbox store: one seeded, clock-driven Commerce whose every save becomes a CloudEvent."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sandbox.commerce.model.carts import Quote
from sandbox.commerce.model.customers import (
    SUBSCRIBED,
    UNSUBSCRIBED,
    Customer,
    EmailTaken,
    Guest,
    Subscriber,
)
from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.products import Product
from sandbox.commerce.simulator.events import (
    CUSTOMER_SAVED,
    PRODUCT_SAVED,
    QUOTE_SAVED,
    SUBSCRIBER_SAVED,
)
from sandbox.commerce.simulator.ledger import Event, Shopper
from sandbox.commerce.simulator.sales import Sales
from sandbox.commerce.simulator.storefront import (
    Visit,
    add_to_cart,
    category_results_view,
    product_page_view,
)


class Store(Sales):
    """The scenario API: each call changes the store and returns the CloudEvents it caused (calls
    that create something return it instead); `events` holds every I/O event in order and
    `behaviour` every storefront event. Same seed and same calls ⇒ byte-identical events."""

    def register(
        self, email: str, firstname: str, lastname: str, *, subscribe: bool = False
    ) -> Customer:
        """A new account; a guest subscription for the same email attaches to it."""
        self._unique(email)
        now = self.clock.now()
        customer = Customer(self.next_id("customer"), email, firstname, lastname, now, now)
        self._add_customer(customer)
        self._emit(CUSTOMER_SAVED, customer.record)
        subscriber = self.subscribers.get(email.strip().lower())
        if subscriber is not None and not subscriber.customer_id:
            subscriber.customer_id = customer.id
            self._emit(SUBSCRIBER_SAVED, subscriber.record)
        if subscribe:
            self.subscribe(email, SUBSCRIBED)
        return customer

    def _unique(self, email: str) -> None:
        if self.find_customer(email) is not None:
            raise EmailTaken(email)

    def guest(self, email: str, firstname: str, lastname: str) -> Guest:
        """A shopper without an account (nothing is saved until they order)."""
        return Guest(email, firstname, lastname)

    def save_customer(
        self,
        customer: Customer,
        *,
        email: str | None = None,
        firstname: str | None = None,
        lastname: str | None = None,
        subscribed: bool | None = None,
    ) -> list[Event]:
        """One customer save (what the admin or `PUT /V1/customers/{id}` does). A new email
        puts the old one in `_origData`, rewrites it on the customer's orders by SQL (no order
        events; `updated_at` moves, it is ON UPDATE) and the subscriber follows; `subscribed`
        then saves the subscriber when the status really changes."""
        old = customer.email
        changed = email is not None and email.strip().lower() != old.strip().lower()
        if changed and email is not None:
            self._unique(email)
        customer.email = email if email is not None else customer.email
        customer.firstname = firstname or customer.firstname
        customer.lastname = lastname or customer.lastname
        customer.updated_at = self.clock.now()
        orig = old if customer.email != old else None
        events = [self._emit(CUSTOMER_SAVED, lambda: customer.record(orig_email=orig))]
        if customer.email != old:
            self._rewrite_email(customer, old)
        subscriber = self.subscribers.pop(old.strip().lower(), None)
        if subscriber is not None:
            subscriber.email = customer.email
            self.subscribers[customer.email.strip().lower()] = subscriber
            if customer.email != old:
                events.append(self._emit(SUBSCRIBER_SAVED, subscriber.record))
        if subscribed is not None and subscribed != self.is_subscribed(customer):
            events += self.subscribe(customer.email, SUBSCRIBED if subscribed else UNSUBSCRIBED)
        return events

    def change_email(self, customer: Customer, new_email: str) -> list[Event]:
        """An email change: see `save_customer`."""
        return self.save_customer(customer, email=new_email)

    def set_subscription(self, customer: Customer, subscribed: bool) -> list[Event]:
        """Subscribe or unsubscribe a customer through their account: see `save_customer`."""
        return self.save_customer(customer, subscribed=subscribed)

    def subscribe(self, email: str, status: int = SUBSCRIBED) -> list[Event]:
        """Set the newsletter status (1 subscribed, 2 not active, 3 unsubscribed, 4 unconfirmed)
        of an email; guests are subscribers with `customer_id` 0."""
        if status not in (1, 2, 3, 4):
            raise ValueError(f"no subscriber status {status}")
        key = email.strip().lower()
        customer = self.find_customer(email)
        subscriber = self.subscribers.get(key)
        if subscriber is None:
            subscriber = Subscriber(
                self.next_id("subscriber"), email.strip(), status, 0, self.clock.now()
            )
            self.subscribers[key] = subscriber
        subscriber.status, subscriber.change_status_at = status, self.clock.now()
        subscriber.customer_id = customer.id if customer else subscriber.customer_id
        return [self._emit(SUBSCRIBER_SAVED, subscriber.record)]

    def is_subscribed(self, customer: Customer) -> bool:
        subscriber = self.subscribers.get(customer.email.strip().lower())
        return subscriber is not None and subscriber.status == SUBSCRIBED

    # carts

    def open_cart(self, shopper: Shopper | None = None) -> Quote:
        """A new cart; a registered shopper's carries their email, a guest's none yet."""
        now = self.clock.now()
        quote = Quote(self.next_id("quote"), self.new_uuid().replace("-", ""), now, now)
        if isinstance(shopper, Customer):
            quote.customer_id, quote.email = shopper.id, shopper.email
            quote.firstname, quote.lastname = shopper.firstname, shopper.lastname
        self.quotes[quote.entity_id] = quote
        self._emit(QUOTE_SAVED, quote.record)
        return quote

    def add_to_cart(self, quote: Quote, line: Line, shopper: Shopper | None = None) -> list[Event]:
        quote.lines.append(line)
        quote.updated_at = self.clock.now()
        product = self.catalogue.products[line.sku]
        parent = self.catalogue.products.get(product.parent or "")
        self._observed(add_to_cart(self._visit(shopper, quote), product, parent, quote.updated_at))
        return [self._emit(QUOTE_SAVED, quote.record)]

    def remove_from_cart(self, quote: Quote, sku: str) -> list[Event]:
        """Remove a product's lines from the cart (removing the last one leaves it empty)."""
        quote.lines = [line for line in quote.lines if line.sku != sku]
        quote.updated_at = self.clock.now()
        return [self._emit(QUOTE_SAVED, quote.record)]

    def reach_payment(self, quote: Quote, guest: Guest) -> list[Event]:
        """A guest types their email at the payment step: only now does the cart have one."""
        quote.email, quote.firstname, quote.lastname = guest.email, guest.firstname, guest.lastname
        quote.updated_at = self.clock.now()
        return [self._emit(QUOTE_SAVED, quote.record)]

    def update_product(
        self,
        sku: str,
        *,
        price: Decimal | None = None,
        status: int | None = None,
        name: str | None = None,
        attributes: Mapping[str, int] | None = None,
        websites: tuple[int, ...] | None = None,
    ) -> list[Event]:
        """A product save; select attributes take option ids (see `catalogue.attributes`),
        `websites` the website ids it is assigned to."""
        product = self.catalogue.products[sku]
        product.websites = websites if websites is not None else product.websites
        for code, option_id in (attributes or {}).items():
            self.catalogue.attributes[code].label_of(option_id)  # unknown ids raise KeyError
            product.attributes[code] = option_id
        product.price = price if price is not None else product.price
        product.status = status if status is not None else product.status
        product.name = name or product.name
        product.updated_at = self.clock.now()
        return [self._emit(PRODUCT_SAVED, product.record)]

    def _visit(self, shopper: Shopper | None, cart: Quote | None) -> Visit:
        logged_in = isinstance(shopper, Customer)
        return Visit(logged_in, shopper.email if logged_in and shopper else None, cart)

    def view_product(
        self, sku: str, shopper: Shopper | None = None, cart: Quote | None = None
    ) -> Event:
        product = self.catalogue.products[sku]
        parent: Product | None = self.catalogue.products.get(product.parent or "")
        visit = self._visit(shopper, cart)
        return self._observed(product_page_view(visit, product, parent, self.clock.now()))

    def view_category(
        self, category: str, shopper: Shopper | None = None, cart: Quote | None = None
    ) -> Event:
        listed = [p for p in self.catalogue.saleable() if category in p.categories]
        visit = self._visit(shopper, cart)
        return self._observed(category_results_view(visit, category, listed, self.clock.now()))
