"""Every Kafka topic Cartwright owns, by name; the registry says which are published, and how."""

from __future__ import annotations

RAW = "commerce.raw.v1"
ORDERS = "commerce.orders.v1"
CUSTOMERS = "commerce.customers.v1"
REFUNDS = "commerce.refunds.v1"
# Products as the catalogue sync resolved them (key: SKU, compacted): what Orders lines carry.
PRODUCTS = "commerce.products.v1"
# Carts (Commerce quotes) as saved: by email once known, by `quote:<id>` before.
CARTS = "commerce.carts.v1"
# Internal: a contact's history handed to its new email's partition after an email change.
IDENTITY = "cartwright.identity.v1"
WRITES = "dotdigital.writes.v1"
# Realtime writes have their own topic: in one partition they would queue behind a batch backlog.
WRITES_REALTIME = "dotdigital.writes.realtime.v1"
EXCEPTIONS = "cartwright.exceptions.v1"
DEADLETTER = "cartwright.deadletter.v1"
# How Dotdigital answered each write command (operational): what a trace shows as written, and
# what resolves an earlier exception for the same subject.
TRAIL = "cartwright.trail.v1"
# Consent changes from either side, once each (public); what each side reported (internal).
CONSENT = "consent.v1"
CONSENT_OBSERVED = "cartwright.consent.observed.v1"
# Internal: write-backs to Commerce (a Dotdigital opt-out reaching a registered customer).
COMMERCE_WRITES = "cartwright.commerce.writes.v1"
# Internal: the enrolment ledger, each enrolment claimed before its call and marked done after.
ENROLMENTS = "cartwright.enrolments.v1"
# Internal: the import journal, each Dotdigital import marked started before it is polled and
# ended after, so no import a dead worker left running lands after a newer write.
IMPORTS = "cartwright.imports.v1"
# Internal, one partition: checkpoints of pollers (the Dotdigital suppression feeds).
CURSORS = "cartwright.cursors.v1"
# Browser behaviour from the storefront collector (internal; key: `cart:<id>` or a client key),
# and resolved to a contact whose email Commerce confirmed (public).
STOREFRONT_RAW = "storefront.raw.v1"
STOREFRONT_EVENTS = "storefront.events.v1"
# Internal: a cart's email handed to where its browser events wait (key: `cart:<quote id>`), and
# a logged-in shopper's claimed email checked on that email's partition (key: the email).
STOREFRONT_CARTS = "cartwright.storefront.carts.v1"
STOREFRONT_CLAIMS = "cartwright.storefront.claims.v1"
# Internal: the clock ticks that fire due timers (abandoned carts), one per partition a worker holds.
TICKS = "cartwright.ticks.v1"
# Internal: the raw topic's sparse event-time index, written by the normalize agent as it reads
# (replay finds a window's offsets from it: no broker seeks by event time).
RAW_INDEX = "cartwright.raw.index.v1"
# Internal, one partition: dead letters a replay put back, so none is put back twice.
REPLAYED = "cartwright.replayed.v1"
