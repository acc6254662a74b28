"""HTTP handlers for the Dotdigital surface (`contacts`, `insight`, `v2`) and the admin surface."""
