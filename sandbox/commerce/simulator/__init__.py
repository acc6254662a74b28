"""The store simulator: seeded and clock-driven, every save a CloudEvent; storefront events, traffic."""
