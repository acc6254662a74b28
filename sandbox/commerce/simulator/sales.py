"""Order operations of the scenario API: place, invoice, ship, refund, hold, cancel, edit."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sandbox.commerce.model import lifecycle
from sandbox.commerce.model.carts import Quote
from sandbox.commerce.model.customers import Customer
from sandbox.commerce.model.documents import Shipment
from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import ZERO, Order
from sandbox.commerce.simulator.events import CREDITMEMO_SAVED, QUOTE_SAVED, SHIPMENT_SAVED
from sandbox.commerce.simulator.ledger import Event, Ledger, Shopper


class Sales(Ledger):
    """The order desk: each operation returns the events it caused (`place_order` and `edit`
    return the new order; its events are the last ones in `events`)."""

    def place_order(
        self,
        shopper: Shopper,
        lines: list[Line] | None = None,
        *,
        quote: Quote | None = None,
        coupon: str | None = None,
        discount: Decimal = ZERO,
    ) -> Order:
        """Place an order (new/pending); its cart is saved inactive with `reserved_order_id`."""
        quote = quote or Quote(self.next_id("quote"), self.new_uuid().replace("-", ""),
                               self.clock.now(), self.clock.now(), lines=list(lines or []))  # fmt: skip
        self.quotes[quote.entity_id] = quote
        chosen = list(lines if lines is not None else quote.lines)
        if not chosen:
            raise lifecycle.LifecycleError("an order needs at least one line")
        customer_id = shopper.id if isinstance(shopper, Customer) else None
        order = Order(
            self.next_id("order"), self._increment("increment"), shopper.email, shopper.firstname,
            shopper.lastname, chosen, self.clock.now(), customer_id,
            shipping=ZERO if all(line.virtual for line in chosen) else Decimal("4.99"),
            discount=discount, coupon=coupon, quote_id=quote.entity_id,
        )  # fmt: skip
        order.history.append((order.created_at, "pending", "Order placed."))
        self._add_order(order)
        quote.is_active, quote.reserved_order_id = False, order.increment_id
        quote.email = quote.email or shopper.email
        quote.customer_id = customer_id
        quote.updated_at = self.clock.now()
        self._emit(QUOTE_SAVED, quote.record)
        self._order_saved(order)
        return order

    def invoice(self, order: Order, items: Mapping[str, int] | None = None) -> list[Event]:
        lifecycle.invoice(order, items, self.clock.now())
        return [self._order_saved(order)]

    def ship(
        self, order: Order, items: Mapping[str, int] | None = None, *, track: bool = True
    ) -> list[Event]:
        """A shipment of `items` (by sku) or of everything left; a tracking number unless not."""
        entity_id = self.next_id("shipment")
        number = f"1Z{self._random.getrandbits(40):012X}" if track else None
        shipment = lifecycle.ship(
            order, items, shipment_id=entity_id, increment_id=self._increment("shipment#"),
            at=self.clock.now(), track=number,
        )  # fmt: skip
        self.shipments[entity_id] = shipment
        return [self._emit(SHIPMENT_SAVED, shipment.record), self._order_saved(order)]

    def add_track(self, shipment: Shipment) -> list[Event]:
        """A tracking number arriving after the shipment: the shipment is saved again."""
        number = f"1Z{self._random.getrandbits(40):012X}"
        shipment.tracks.append((number, "ups", self.clock.now()))
        shipment.updated_at = self.clock.now()
        return [self._emit(SHIPMENT_SAVED, shipment.record)]

    def refund(
        self,
        order: Order,
        items: Mapping[str, int] | None = None,
        *,
        amount: Decimal | None = None,
        adjustment_negative: Decimal = ZERO,
    ) -> list[Event]:
        """A credit memo of `items`, or of an `amount` alone, or of everything refundable."""
        entity_id = self.next_id("creditmemo")
        memo = lifecycle.refund(
            order, items, amount=amount, adjustment_negative=adjustment_negative,
            creditmemo_id=entity_id, increment_id=self._increment("creditmemo#"),
            at=self.clock.now(),
        )  # fmt: skip
        self.creditmemos[entity_id] = memo
        return [self._emit(CREDITMEMO_SAVED, memo.record), self._order_saved(order)]

    def hold(self, order: Order) -> list[Event]:
        lifecycle.hold(order, self.clock.now())
        return [self._order_saved(order)]

    def unhold(self, order: Order) -> list[Event]:
        lifecycle.unhold(order, self.clock.now())
        return [self._order_saved(order)]

    def cancel(self, order: Order) -> list[Event]:
        lifecycle.cancel(order, self.clock.now())
        return [self._order_saved(order)]

    def comment(self, order: Order, text: str) -> list[Event]:
        order.history.append((self.clock.now(), order.status, text))
        return [self._order_saved(order)]

    def edit(self, order: Order, lines: list[Line] | None = None) -> Order:
        """Admin order edit: a new order linked to the original, which is canceled."""
        if order.total_invoiced is not None or not lifecycle.can_cancel(order):
            raise lifecycle.LifecycleError(f"order {order.increment_id} cannot be edited")
        root = order.original_increment_id or order.increment_id
        generation = (order.edit_increment or 0) + 1
        fresh = [line.fresh() for line in (lines or order.lines)]
        edited = Order(
            self.next_id("order"), f"{root}-{generation}", order.email, order.firstname,
            order.lastname, fresh, self.clock.now(), order.customer_id, order.currency,
            order.shipping, order.discount, order.coupon, order.quote_id,
            relation_parent_id=order.entity_id, original_increment_id=root,
            edit_increment=generation,
        )  # fmt: skip
        self._add_order(edited)
        self._order_saved(edited)
        lifecycle.cancel(order, self.clock.now())
        order.relation_child_id, order.relation_child_real_id = (
            edited.entity_id,
            edited.increment_id,
        )
        self._order_saved(order)
        return edited

    def claim_guest_orders(self, customer: Customer) -> list[Event]:
        """The checkout-success "create account" flow: guest orders with the email are assigned
        to the customer and saved again."""
        events = []
        for order in self._orders_with(customer.email):
            if order.guest:
                order.customer_id = customer.id
                events.append(self._order_saved(order))
        return events
