"""The product catalogue to Dotdigital on a schedule: read through Commerce REST, resolved with
the merchant's mapping, written through the sink's batch lane (never on the storefront's path)."""
